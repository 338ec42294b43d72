/**
 * Test-side dynamic client registration: drive the registration endpoint and the token endpoint the way
 * a HAAPI SDK does in its attestation fallback.
 */
import { exports } from "cloudflare:workers";
import { importJWK, SignJWT, type JWK } from "jose";
import keys from "../fixtures/keys.json";
import { HAAPI_SCOPE } from "./attestation";
import { proof, type DeviceKey } from "./dpop";
import { basic, BASE, jsonOf, tokenRequest } from "./server";

export const REGISTRATION_URL = `${BASE}/token-service/oauth-registration`;
export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** A fresh source address, so per-source rate limits never couple tests. */
export function freshSource(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(2));
  return `10.${bytes[0]}.${bytes[1]}.${1 + (bytes[0]! % 250)}`;
}

export interface RegisterOptions {
  authorization?: string;
  headers?: Record<string, string>;
  /** CF-Connecting-IP; a fresh one by default. */
  source?: string;
  method?: string;
  url?: string;
  /** A raw body instead of JSON.stringify(body). */
  raw?: string;
}

export function registrationRequest(body: unknown, options: RegisterOptions = {}): Promise<Response> {
  const method = options.method ?? "POST";
  const hasBody = method === "POST" || method === "PUT";
  return exports.default.fetch(options.url ?? REGISTRATION_URL, {
    method,
    headers: {
      ...(hasBody ? { "Content-Type": "application/json" } : {}),
      "CF-Connecting-IP": options.source ?? freshSource(),
      ...(options.authorization ? { Authorization: options.authorization } : {}),
      ...options.headers,
    },
    ...(hasBody ? { body: options.raw ?? JSON.stringify(body) } : {}),
  });
}

/** A private_key_jwt client assertion (RFC 7523) signed with `key` (default: the test jwtClient key). */
export async function clientAssertion(
  clientId: string,
  overrides: Record<string, unknown> = {},
  key: JWK = keys.jwtClient.private as JWK,
): Promise<string> {
  const privateKey = await importJWK(key, "ES256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: clientId,
    sub: clientId,
    aud: BASE,
    iat: now,
    exp: now + 60,
    jti: crypto.randomUUID(),
    ...overrides,
  })
    .setProtectedHeader({ alg: "ES256", ...(key.kid ? { kid: key.kid } : {}) })
    .sign(privateKey);
}

/** The main client's initial access token: client_credentials with scope dcr, by secret. */
export async function initialAccessToken(
  clientId: string,
  secret: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await tokenRequest({
    body: { grant_type: "client_credentials", scope: "dcr" },
    headers: { Authorization: basic(clientId, secret), ...headers },
  });
  const body = await jsonOf(response);
  if (response.status !== 200) throw new Error(`initial access token: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token as string;
}

/** The main client's initial access token, authenticating with private_key_jwt. */
export async function initialAccessTokenByAssertion(
  clientId: string,
  key: JWK = keys.jwtClient.private as JWK,
): Promise<string> {
  const response = await tokenRequest({
    body: {
      grant_type: "client_credentials",
      scope: "dcr",
      client_assertion_type: JWT_BEARER,
      client_assertion: await clientAssertion(clientId, {}, key),
    },
  });
  const body = await jsonOf(response);
  if (response.status !== 200) throw new Error(`initial access token: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token as string;
}

/** Register from `software_id` with an initial access token; throws unless 201. */
export async function registerClient(token: string, metadata: Record<string, unknown>): Promise<Record<string, any>> {
  const response = await registrationRequest(metadata, { authorization: `Bearer ${token}` });
  const body = await jsonOf(response);
  if (response.status !== 201) throw new Error(`registration: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * A HAAPI token request (client_credentials, HAAPI scope, DPoP with the nonce learned on the first try).
 * `body` may be a function, so a retry carries a fresh client assertion (its jti is single use).
 */
export async function haapiTokenWith(
  credentials: { authorization?: string; body?: Record<string, string> | (() => Promise<Record<string, string>>) },
  device: DeviceKey,
): Promise<Response> {
  const body = async () => ({
    grant_type: "client_credentials",
    scope: HAAPI_SCOPE,
    ...(typeof credentials.body === "function" ? await credentials.body() : credentials.body),
  });
  const headers: Record<string, string> = credentials.authorization ? { Authorization: credentials.authorization } : {};
  const first = await tokenRequest({ body: await body(), headers: { ...headers, DPoP: await proof(device) } });
  if (first.status !== 400) return first;
  const error = (await first.clone().json()) as { error?: string };
  if (error.error !== "use_dpop_nonce") return first;
  return tokenRequest({
    body: await body(),
    headers: { ...headers, DPoP: await proof(device, { nonce: first.headers.get("DPoP-Nonce")! }) },
  });
}
