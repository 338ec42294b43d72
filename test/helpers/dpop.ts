/**
 * Test-side DPoP: build proofs the way a client would (and broken ones the way an attacker would).
 */
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

export interface DeviceKey {
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly jkt: string;
}

export async function deviceKey(alg = "ES256"): Promise<DeviceKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { alg, privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, "sha256") };
}

export interface ProofOptions {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  nonce?: string;
  accessToken?: string;
  /** Replace or add protected header members (undefined deletes one). */
  header?: Record<string, unknown>;
  /** Replace or add payload members (undefined deletes one). */
  claims?: Record<string, unknown>;
}

export const TOKEN_URL = "http://127.0.0.1:8787/oauth/v2/oauth-token";

export async function ath(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))));
}

/** `base` with `overrides` applied; an override of undefined deletes the member. */
export function withOverrides(
  base: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const out = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  return out;
}

export async function proof(key: DeviceKey, options: ProofOptions = {}): Promise<string> {
  const claims = withOverrides(
    {
      jti: options.jti ?? crypto.randomUUID(),
      htm: options.htm ?? "POST",
      htu: options.htu ?? TOKEN_URL,
      iat: options.iat ?? Math.floor(Date.now() / 1000),
      ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
      ...(options.accessToken !== undefined ? { ath: await ath(options.accessToken) } : {}),
    },
    options.claims,
  );
  const header = withOverrides({ typ: "dpop+jwt", alg: key.alg, jwk: key.publicJwk }, options.header);
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/** Re-encode one segment of a compact JWS without re-signing. */
export function replaceSegment(jws: string, index: 0 | 1 | 2, value: string): string {
  const parts = jws.split(".");
  parts[index] = value;
  return parts.join(".");
}

export function encodeJson(value: unknown): string {
  return base64url.encode(new TextEncoder().encode(JSON.stringify(value)));
}
