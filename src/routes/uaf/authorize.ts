/**
 * Who may register or deregister authenticators for a user (the Nevis SDK's authorization providers):
 *
 * - JwtAuthorizationProvider: `Authorization: DPoP <access token>` + proof (the login flow's token,
 *   DPoP-bound as all our user tokens are), or `Authorization: Bearer <ID token>` issued by this server
 *   at most `uaf.id_token_max_age` seconds ago;
 * - JwsAuthorizationProvider: `Device-Signature: <JWS>` by the device's registered signature key;
 * - EmptyAuthorizationProvider: nothing, when `uaf.authorization` is "none" (development only).
 *
 * - CookieAuthorizationProvider: the `haapi-session` cookie of a browser login (src/routes/web-session.ts),
 *   e.g. from a web view the app logged its user in with;
 * The UAF context's username must be the authorized user's (403 otherwise).
 */
import type { Context } from "hono";
import { OAuthError } from "../../errors";
import { replayRecorder, replayScope } from "../../kv/replay-guard";
import { uafUserObject, type UafUserRecord } from "../../kv/uaf-user";
import { deviceSignatureSubject, verifyDeviceSignature } from "../../verifiers/device-signature";
import { verifyIdToken } from "../../verifiers/id-token";
import { authenticateAccessToken, serverKeySet } from "../access-token-auth";
import type { AppEnv } from "../context";
import { findClient } from "../dynamic-clients";
import { findUser } from "../users";
import { hasSessionCookie, webSessionOf } from "../web-session";
import { UAF_STATUS, UafError } from "./uaf-error";

export type Authorization = { readonly via: "jwt" | "cookie"; readonly sub: string } | { readonly via: "device-signature"; readonly username: string; readonly deviceId: string } | { readonly via: "none" };

const DEVICE_SIGNATURE_MAX_AGE = 300;

function unauthorized(reason: string, description = "Authorization is required"): UafError {
  return new UafError(UAF_STATUS.UNAUTHORIZED, description, reason, { "WWW-Authenticate": 'DPoP algs="ES256 EdDSA PS256 RS256", Bearer' });
}

/** The Device-Signature of a device of `username`, verified and spent. */
export async function deviceSignatureOf(c: Context<AppEnv>, jws: string): Promise<{ username: string; deviceId: string; user: UafUserRecord }> {
  const config = c.get("config");
  const now = c.get("now");
  if (jws.length > config.limits.max_header_bytes) throw unauthorized("device_signature_too_large");
  const subject = deviceSignatureSubject(jws);
  if (!subject) throw unauthorized("device_signature_malformed", "The Device-Signature is not valid");
  const user = await uafUserObject(c.env.UAF_USERS, subject.username).read();
  const key = user?.devices.find((device) => device.deviceId === subject.deviceId)?.signatureKey;
  if (!key) throw unauthorized("device_signature_unknown_device", "The Device-Signature is not valid");
  const verified = await verifyDeviceSignature(jws, key, { ...subject, maxAge: DEVICE_SIGNATURE_MAX_AGE, clockSkew: config.dpop.clock_skew }, now);
  if (!verified.ok) throw unauthorized(verified.reason, "The Device-Signature is not valid");
  const fresh = await replayRecorder(c.env.REPLAY_GUARD, replayScope.deviceSignature(subject.deviceId))(verified.value.jti, verified.value.expiresAt);
  if (!fresh) throw unauthorized("device_signature_replayed", "The Device-Signature is not valid");
  return { username: user!.username, deviceId: subject.deviceId, user: user! };
}

/** The subject of a fresh ID token of this server, or why not; null when the value is not an ID token at all. */
async function idTokenSubject(c: Context<AppEnv>, token: string): Promise<string | null> {
  const config = c.get("config");
  const verified = await verifyIdToken(token, await serverKeySet(c), { issuer: config.issuer, maxAge: config.uaf.id_token_max_age }, c.get("now"));
  if (verified.ok) return verified.value.sub;
  if (verified.reason === "id_token_stale") throw unauthorized("id_token_stale", "The ID token is too old; log in again");
  return null;
}

/** How this request is authorized for a user's registrations, or a 401. */
export async function authorizeUafRequest(c: Context<AppEnv>): Promise<Authorization> {
  const config = c.get("config");
  const signature = c.req.header("Device-Signature");
  if (signature !== undefined) {
    const { username, deviceId } = await deviceSignatureOf(c, signature);
    return { via: "device-signature", username, deviceId };
  }
  const authorization = c.req.header("Authorization");
  if (authorization === undefined) {
    const cookie = c.req.header("Cookie");
    if (hasSessionCookie(cookie, config.issuer)) {
      const session = await webSessionOf(c, cookie);
      if (!session) throw unauthorized("session_cookie_invalid_or_expired", "The session has expired; log in again");
      return { via: "cookie", sub: session.sub };
    }
    if (config.uaf.authorization === "none") return { via: "none" };
    throw unauthorized(cookie ? "cookie_without_session" : "authorization_missing");
  }
  const bearer = /^Bearer +([\x21-\x7e]+)$/i.exec(authorization);
  if (bearer) {
    const sub = await idTokenSubject(c, bearer[1]!);
    if (sub !== null) return { via: "jwt", sub };
  }
  try {
    const { token } = await authenticateAccessToken(c, { url: `${config.issuer}${c.req.path}`, requireDpop: false, clientOf: (clientId) => findClient(c.env, config, clientId, true) });
    // A user's token comes from a login (it names its grant); a client_credentials token has no user.
    if (!token.grantId) throw unauthorized("access_token_without_user", "The token does not belong to a user");
    return { via: "jwt", sub: token.subject };
  } catch (error) {
    // Keep the refusal's own challenge and DPoP-Nonce: a client told use_dpop_nonce must learn the nonce (RFC 9449 §9).
    if (error instanceof OAuthError) throw new UafError(UAF_STATUS.UNAUTHORIZED, "The authorization is not valid", error.reason, { ...unauthorized(error.reason).headers, ...error.headers });
    throw error;
  }
}

/** The UAF context's user must be the authorized one. */
export async function requireSameUser(c: Context<AppEnv>, authorization: Authorization, username: string): Promise<void> {
  switch (authorization.via) {
    case "none":
      return;
    case "device-signature":
      if (authorization.username.toLowerCase() !== username.toLowerCase()) throw new UafError(UAF_STATUS.FORBIDDEN, "Not authorized for this user", "device_signature_other_user");
      return;
    case "jwt":
    case "cookie": {
      const user = await findUser(c.env, c.get("config"), username);
      if (!user || user.sub !== authorization.sub) throw new UafError(UAF_STATUS.FORBIDDEN, "Not authorized for this user", "jwt_other_user");
      return;
    }
  }
}
