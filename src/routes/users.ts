/**
 * Users as the login flow sees them: seeded from the configuration, or registered through the flow (a
 * user record each), with their lockout state in that record either way.
 */
import type { Context } from "hono";
import type { RecordRef } from "../kv/record";
import { userName, type UserClaims, type UserOperations, type UserRecord } from "../kv/user-store";
import type { AppEnv } from "./context";

export interface User {
  readonly sub: string;
  readonly username: string;
  readonly claims: UserClaims;
  /** What verifyPassword compares against. */
  readonly secret: { readonly password?: string; readonly password_hash?: string };
}

/** The record of a user (seeded or registered): the account of a registered one, and the lockout. */
export function userRecord<E extends AppEnv>(c: Context<E>, username: string): Promise<RecordRef<UserOperations>> {
  return c.get("stores").users.named(userName(username));
}

export async function findUser<E extends AppEnv>(c: Context<E>, username: string): Promise<User | null> {
  const seeded = c.get("config").usersByName.get(username.toLowerCase());
  if (seeded) {
    const sub = typeof seeded.claims.sub === "string" ? seeded.claims.sub : seeded.username;
    return {
      sub,
      username: seeded.username,
      claims: seeded.claims,
      secret: { password: seeded.password, password_hash: seeded.password_hash },
    };
  }
  const account = await (await userRecord(c, username)).run("account", null, c.get("now"));
  return account ? fromRecord(account) : null;
}

function fromRecord(record: UserRecord): User {
  return {
    sub: record.sub,
    username: record.username,
    claims: record.claims,
    secret: { password_hash: record.password_hash },
  };
}

/** Register a new account; false when the username is taken (seeded or registered). */
export async function registerUser<E extends AppEnv>(c: Context<E>, record: UserRecord): Promise<boolean> {
  if (c.get("config").usersByName.has(record.username.toLowerCase())) return false;
  return (await userRecord(c, record.username)).run("register", record, c.get("now"));
}

/** The claims of the scopes granted (OpenID Connect Core §5.4). */
export function claimsForScopes(user: User, scopes: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const pick = (names: readonly string[]) => {
    for (const name of names) if (user.claims[name] !== undefined) out[name] = user.claims[name];
  };
  if (scopes.includes("profile")) {
    pick([
      "name",
      "given_name",
      "family_name",
      "middle_name",
      "nickname",
      "profile",
      "picture",
      "website",
      "gender",
      "birthdate",
      "zoneinfo",
      "locale",
      "updated_at",
    ]);
    out.preferred_username = user.username;
  }
  if (scopes.includes("email")) pick(["email", "email_verified"]);
  if (scopes.includes("phone")) pick(["phone_number", "phone_number_verified"]);
  if (scopes.includes("address") && user.claims.address !== undefined) out.address = user.claims.address;
  return out;
}
