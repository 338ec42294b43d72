/**
 * Who logged in and how: the authentication attributes (`acr`, `amr`, `auth_time`) a finished step
 * hands to the grant, and from there to the tokens.
 */
import type { AuthenticatorConfig } from "../../config/schema";
import type { AuthenticatedUser } from "../../kv/login-session";
import type { User } from "../users";

export function acrOf(authenticator: AuthenticatorConfig): string {
  return authenticator.acr ?? `urn:se:curity:authentication:${authenticator.type}:${authenticator.id}`;
}

export function authenticated(
  user: Pick<User, "sub" | "username">,
  authenticator: AuthenticatorConfig,
  amr: readonly string[],
  now: number,
): AuthenticatedUser {
  return { sub: user.sub, username: user.username, acr: acrOf(authenticator), amr, auth_time: now };
}

/**
 * RFC 8176 `amr` values of a FIDO UAF authentication with the Nevis SDK's authenticator `aaid`: a key in
 * the phone's keystore (`hwk`), unlocked by the authenticator's user verification, two factors (`mfa`).
 */
export function uafAmr(aaid: string): string[] {
  const factor: Record<string, string> = { "1": "pin", "2": "fpt", "3": "fpt", "4": "pin", "5": "pwd" };
  const kind = aaid.toUpperCase().startsWith("F1D0#") ? aaid.slice(-1) : "";
  // iOS F1D0#1003 is Face ID; Android F1D0#0003 is BiometricPrompt (fingerprint on most devices).
  const verification = aaid.toUpperCase() === "F1D0#1003" ? "face" : factor[kind];
  return ["hwk", ...(verification ? [verification] : ["user"]), "mfa"];
}
