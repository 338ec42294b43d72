/**
 * The server's keys as one isolate sees them: the signing key, the published JWK set and the MAC keys
 * (one per purpose, each derived from the server secret with HKDF). Loaded from the SIGNING_KEYS / SERVER_SECRET secrets when set, otherwise from the
 * key manager record (src/kv/key-manager.ts), and cached per isolate for at most ISOLATE_CACHE_SECONDS.
 */
import { importJWK, type JWK } from "jose";
import { parseSigningKeys } from "../config/signing-keys";
import type { KeySnapshot, RotationPolicy } from "../kv/key-manager";

/** How long an isolate keeps a key set; retired keys stay published at least this much longer. */
export const ISOLATE_CACHE_SECONDS = 300;

export interface ServerKeys {
  readonly kid: string;
  readonly signingKey: CryptoKey;
  readonly jwks: { readonly keys: readonly JWK[] };
  /** HMAC-SHA-256 key for DPoP nonces. */
  readonly nonceKey: CryptoKey;
  /** HMAC-SHA-256 key for CAT challenges (a separate key: a nonce is never a valid challenge). */
  readonly challengeKey: CryptoKey;
  /** HMAC-SHA-256 key for UAF `serverData` (src/uaf/server-data.ts). */
  readonly uafServerDataKey: CryptoKey;
  /** HMAC-SHA-256 key deriving the login flow's approval secrets (approval links, mobile-approval tokens). */
  readonly approvalKey: CryptoKey;
  /** Epoch seconds after which this set must be reloaded. */
  readonly validUntil: number;
}

export interface KeySources {
  readonly signingKeysSecret: string | undefined;
  readonly serverSecret: string | undefined;
  readonly rotation: RotationPolicy;
  /** The KeyManager's current snapshot. */
  managed(policy: RotationPolicy): Promise<KeySnapshot>;
}

const encoder = new TextEncoder();

async function deriveMacKey(secret: string, purpose: string): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(`haapi-edge/${purpose}/v1`) },
    ikm,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

async function load(sources: KeySources, now: number): Promise<ServerKeys> {
  const fixed = sources.signingKeysSecret ? parseSigningKeys(sources.signingKeysSecret) : undefined;
  const snapshot = !fixed || !sources.serverSecret ? await sources.managed(sources.rotation) : undefined;
  const signer = fixed ? fixed[0]! : snapshot!.current;
  const published = fixed ? fixed.map((key) => key.publicJwk) : snapshot!.published;
  const signingKey = await importJWK(signer.privateJwk, "ES256");
  if (signingKey instanceof Uint8Array)
    throw new TypeError("the signing key must be an EC private key, not a symmetric one");
  const secret = sources.serverSecret ?? snapshot!.serverSecret;
  const [nonceKey, challengeKey, uafServerDataKey, approvalKey] = await Promise.all([
    deriveMacKey(secret, "dpop-nonce"),
    deriveMacKey(secret, "cat-challenge"),
    deriveMacKey(secret, "uaf-server-data"),
    deriveMacKey(secret, "approval-secret"),
  ]);
  const validUntil = Math.min(now + ISOLATE_CACHE_SECONDS, fixed ? Infinity : snapshot!.validUntil);
  return {
    kid: signer.kid,
    signingKey,
    jwks: { keys: published },
    nonceKey,
    challengeKey,
    uafServerDataKey,
    approvalKey,
    validUntil,
  };
}

let cached: { sources: string; until: number; keys: Promise<ServerKeys> } | undefined;

/** The key set for `now`, shared by every request of this isolate until it goes stale. */
export function serverKeys(sources: KeySources, now: number): Promise<ServerKeys> {
  const identity = `${sources.signingKeysSecret ?? ""}\u0000${sources.serverSecret ?? ""}`;
  if (!cached || cached.sources !== identity || now >= cached.until) {
    const keys = load(sources, now);
    cached = { sources: identity, until: now + ISOLATE_CACHE_SECONDS, keys };
    keys.then(
      (value) => {
        if (cached?.keys === keys) cached.until = value.validUntil;
      },
      () => {
        if (cached?.keys === keys) cached = undefined;
      },
    );
  }
  return cached.keys;
}
