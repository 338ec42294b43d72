/**
 * Users as the login flow sees them: seeded from the configuration, or registered through the flow (a
 * UserStore Durable Object each), with their lockout state in that object either way.
 */
import type { Config } from "../config/load";
import type { Env } from "../env";
import { userObject, type UserClaims, type UserRecord } from "../kv/user-store";

export interface User {
  readonly sub: string;
  readonly username: string;
  readonly claims: UserClaims;
  /** What verifyPassword compares against. */
  readonly secret: { readonly password?: string; readonly password_hash?: string };
}

export async function findUser(env: Env, config: Config, username: string): Promise<User | null> {
  const seeded = config.usersByName.get(username.toLowerCase());
  if (seeded) {
    const sub = typeof seeded.claims.sub === "string" ? seeded.claims.sub : seeded.username;
    return { sub, username: seeded.username, claims: seeded.claims, secret: { password: seeded.password, password_hash: seeded.password_hash } };
  }
  const account = await userObject(env.USERS, username).account();
  return account ? fromRecord(account) : null;
}

function fromRecord(record: UserRecord): User {
  return { sub: record.sub, username: record.username, claims: record.claims, secret: { password_hash: record.password_hash } };
}

/** Register a new account; false when the username is taken (seeded or registered). */
export async function registerUser(env: Env, config: Config, record: UserRecord): Promise<boolean> {
  if (config.usersByName.has(record.username.toLowerCase())) return false;
  return userObject(env.USERS, record.username).register(record);
}

/** The claims of the scopes granted (OpenID Connect Core §5.4). */
export function claimsForScopes(user: User, scopes: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const pick = (names: readonly string[]) => {
    for (const name of names) if (user.claims[name] !== undefined) out[name] = user.claims[name];
  };
  if (scopes.includes("profile")) {
    pick(["name", "given_name", "family_name", "middle_name", "nickname", "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"]);
    out.preferred_username = user.username;
  }
  if (scopes.includes("email")) pick(["email", "email_verified"]);
  if (scopes.includes("phone")) pick(["phone_number", "phone_number_verified"]);
  if (scopes.includes("address") && user.claims.address !== undefined) out.address = user.claims.address;
  return out;
}
