/**
 * Who may register or deregister authenticators for a user (the Nevis SDK's authorization providers):
 *
 * - JwtAuthorizationProvider: `Authorization: DPoP <access token>` + proof (the login flow's token,
 *   DPoP-bound as all our user tokens are; accepted by authenticateAccessToken, as at every endpoint,
 *   so only while its grant is live), or `Authorization: Bearer <ID token>` issued by this server at most
 *   `uaf.id_token_max_age` seconds ago, from a grant that is still live;
 * - CookieAuthorizationProvider: the `haapi-session` cookie of a browser login (src/routes/web-session.ts),
 *   e.g. from a web view the app logged its user in with, while that session lasts;
 * - JwsAuthorizationProvider: `Device-Signature: <JWS>` by the device's registered signature key;
 * - EmptyAuthorizationProvider: nothing, when `uaf.authorization` is "none" (development only).
 * The UAF context's username must be the authorized user's (403 otherwise).
 *
 * A registration is requested and answered in two calls, up to `uaf.request_ttl` apart. What authorized
 * the request (the grant, the browser session, the device) travels sealed in the request's serverData
 * (`authority`), and the response is refused unless it still holds (requireAuthorityLive): a token
 * revoked between the two calls plants nothing.
 */
import type { Context } from "hono";
import { OAuthError } from "../../errors";
import { replayScope } from "../../kv/replay";
import type { UafUserRecord } from "../../kv/uaf-user";
import { deviceSignatureSubject, verifyDeviceSignature } from "../../verifiers/device-signature";
import { sha256Base64url } from "../../hash";
import type { GrantLivenessFailure } from "../../verifiers/grant-liveness";
import { verifyIdToken } from "../../verifiers/id-token";
import { authenticateAccessToken, serverKeySet } from "../access-token-auth";
import type { AppEnv } from "../context";
import { findClient } from "../dynamic-clients";
import { findUser } from "../users";
import { liveGrant } from "../live-grant";
import { readUafUser } from "../uaf-users";
import { hasSessionCookie, isWebSessionLive, webSessionOf } from "../web-session";
import { UAF_STATUS, UafError, type UafServiceReason } from "./uaf-error";

export type Authorization =
  /** A login's DPoP access token or ID token, and the grant it came from. */
  | { readonly via: "jwt"; readonly sub: string; readonly grantId: string }
  | { readonly via: "cookie"; readonly sub: string; readonly sessionId: string }
  | { readonly via: "device-signature"; readonly username: string; readonly deviceId: string }
  | { readonly via: "none" };

/**
 * What an authorization rests on, as sealed in serverData: `grant:<id>`, `web-session:<id>`, or
 * `device:<base64url SHA-256 of the device id>` (device ids are up to 200 characters of anything).
 */
export type Authority = `grant:${string}` | `web-session:${string}` | `device:${string}`;

function deviceIdHash(deviceId: string): Promise<string> {
  return sha256Base64url(deviceId);
}

const DEVICE_SIGNATURE_MAX_AGE = 300;

const CHALLENGE = { "WWW-Authenticate": 'DPoP algs="ES256 EdDSA PS256 RS256", Bearer' };

function unauthorized(reason: UafServiceReason, description = "Authorization is required"): UafError {
  return new UafError(UAF_STATUS.UNAUTHORIZED, description, { reason, headers: CHALLENGE });
}

/** The Device-Signature of a device of `username`, verified and spent. */
export async function deviceSignatureOf(
  c: Context<AppEnv>,
  jws: string,
): Promise<{ username: string; deviceId: string; user: UafUserRecord }> {
  const config = c.get("config");
  const now = c.get("now");
  if (jws.length > config.limits.max_header_bytes) throw unauthorized("device_signature_too_large");
  const subject = deviceSignatureSubject(jws);
  if (!subject) throw unauthorized("device_signature_malformed", "The Device-Signature is not valid");
  const user = await readUafUser(c, subject.username);
  const key = user?.devices.find((device) => device.deviceId === subject.deviceId)?.signatureKey;
  if (!key) throw unauthorized("device_signature_unknown_device", "The Device-Signature is not valid");
  const verified = await verifyDeviceSignature(
    jws,
    key,
    { ...subject, maxAge: DEVICE_SIGNATURE_MAX_AGE, clockSkew: config.dpop.clock_skew },
    now,
  );
  if (!verified.ok) throw unauthorized(verified.reason, "The Device-Signature is not valid");
  const fresh = await c
    .get("stores")
    .replay.use(replayScope.deviceSignature(subject.deviceId), verified.value.jti, verified.value.expiresAt, now);
  if (!fresh) throw unauthorized("device_signature_replayed", "The Device-Signature is not valid");
  return { username: user!.username, deviceId: subject.deviceId, user: user! };
}

/**
 * The user and grant of a fresh ID token of this server whose grant is live, or why not; null when the
 * value is not an ID token at all (it may be an access token).
 */
async function idTokenAuthorization(c: Context<AppEnv>, token: string): Promise<Authorization | null> {
  const config = c.get("config");
  const verified = await verifyIdToken(
    token,
    await serverKeySet(c),
    { issuer: config.issuer, maxAge: config.uaf.id_token_max_age },
    c.get("now"),
  );
  if (!verified.ok) {
    if (verified.reason === "id_token_stale")
      throw unauthorized("id_token_stale", "The ID token is too old; log in again");
    return null;
  }
  const { sub, aud, gid } = verified.value;
  // Every ID token this server issues names its grant; one that does not cannot be checked for revocation.
  if (gid === undefined) throw unauthorized("id_token_without_grant", "The authorization is not valid");
  const grant = await liveGrant(c, gid, { clientId: aud, subject: sub });
  if (!grant.ok) throw unauthorized(`id_token_${grant.reason}`, "The authorization is not valid");
  return { via: "jwt", sub, grantId: gid };
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
      return { via: "cookie", sub: session.sub, sessionId: session.id };
    }
    if (config.uaf.authorization === "none") return { via: "none" };
    throw unauthorized(cookie ? "cookie_without_session" : "authorization_missing");
  }
  const bearer = /^Bearer +([\x21-\x7e]+)$/i.exec(authorization);
  if (bearer) {
    const byIdToken = await idTokenAuthorization(c, bearer[1]!);
    if (byIdToken !== null) return byIdToken;
  }
  try {
    // A user's token comes from a login (requireUser: it names its grant, which must be live).
    const { token } = await authenticateAccessToken(c, {
      url: `${config.issuer}${c.req.path}`,
      requireDpop: false,
      requireUser: true,
      clientOf: (clientId) => findClient(c, clientId, true),
    });
    return { via: "jwt", sub: token.subject, grantId: token.grantId! };
  } catch (error) {
    // Keep the refusal's own challenge and DPoP-Nonce: a client told use_dpop_nonce must learn the nonce (RFC 9449 §9).
    if (error instanceof OAuthError) {
      const description =
        error.reason === "access_token_without_user"
          ? "The token does not belong to a user"
          : "The authorization is not valid";
      throw new UafError(UAF_STATUS.UNAUTHORIZED, description, {
        reason: error.reason,
        ...(error.detail ? { detail: error.detail } : {}),
        headers: { ...CHALLENGE, ...error.headers },
      });
    }
    throw error;
  }
}

/** What `authorization` rests on, to seal into a registration request; none for "none". */
export async function authorityOf(authorization: Authorization): Promise<Authority | undefined> {
  switch (authorization.via) {
    case "jwt":
      return `grant:${authorization.grantId}`;
    case "cookie":
      return `web-session:${authorization.sessionId}`;
    case "device-signature":
      return `device:${await deviceIdHash(authorization.deviceId)}`;
    case "none":
      return undefined;
  }
}

/**
 * At the response step: the authority the request was issued under still holds (the grant is live, the
 * browser session has not ended, the device is still the user's), or 401/1401. Checked before anything
 * is spent.
 */
export async function requireAuthorityLive(c: Context<AppEnv>, authority: string, username: string): Promise<void> {
  const colon = authority.indexOf(":");
  const kind = authority.slice(0, colon);
  const id = authority.slice(colon + 1);
  let reason: GrantLivenessFailure | "web_session_ended" | "device_gone" | "unknown_kind" | null;
  switch (kind) {
    case "grant": {
      const grant = await liveGrant(c, id, {});
      reason = grant.ok ? null : grant.reason;
      break;
    }
    case "web-session":
      reason = (await isWebSessionLive(c, id)) ? null : "web_session_ended";
      break;
    case "device": {
      const user = await readUafUser(c, username);
      const hashes = await Promise.all((user?.devices ?? []).map((device) => deviceIdHash(device.deviceId)));
      reason = hashes.includes(id) ? null : "device_gone";
      break;
    }
    default:
      reason = "unknown_kind";
  }
  if (reason !== null)
    throw unauthorized(
      `authority_${reason}`,
      "The authorization this request was issued under has ended; log in again",
    );
}

/** The UAF context's user must be the authorized one. */
export async function requireSameUser(
  c: Context<AppEnv>,
  authorization: Authorization,
  username: string,
): Promise<void> {
  switch (authorization.via) {
    case "none":
      return;
    case "device-signature":
      if (authorization.username.toLowerCase() !== username.toLowerCase())
        throw new UafError(UAF_STATUS.FORBIDDEN, "Not authorized for this user", {
          reason: "device_signature_other_user",
        });
      return;
    case "jwt":
    case "cookie": {
      const user = await findUser(c, username);
      if (!user || user.sub !== authorization.sub)
        throw new UafError(UAF_STATUS.FORBIDDEN, "Not authorized for this user", { reason: "jwt_other_user" });
      return;
    }
  }
}
