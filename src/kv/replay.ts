/**
 * Replay protection: the scopes in which identifiers are used once (DPoP `jti`, client assertion `jti`,
 * CAT `jti`, CAT challenges; the ReplayStore port, ports.ts), and the App Attest keys a device attested
 * with its DPoP key, with their counters (a record kind: assertions advance the counter by
 * compare-and-set). docs/storage.md has the names.
 */
import { recordKind, type Step } from "./record";

/** An App Attest key, registered when its attestation was verified; assertions advance its counter. */
export interface AppAttestKeyRecord {
  /** base64 SHA-256 of the key's public point (Apple's keyId). */
  readonly keyId: string;
  readonly clientId: string;
  readonly appId: string;
  readonly publicKey: JsonWebKey;
  readonly counter: number;
  /** Epoch seconds; extended whenever an assertion is accepted. */
  readonly expiresAt: number;
}

export const appAttestKeyKind = recordKind({
  name: "app-attest-key",
  expiresAt: (record: AppAttestKeyRecord) => record.expiresAt,
  operations: {
    /** Register an attested App Attest key (a new attestation of the same keyId replaces the old record). */
    register: (_current: AppAttestKeyRecord | null, record: AppAttestKeyRecord): Step<AppAttestKeyRecord, null> => ({
      next: record,
      outcome: null,
    }),

    read: (current: AppAttestKeyRecord | null): Step<AppAttestKeyRecord, AppAttestKeyRecord | null> => ({
      outcome: current,
    }),

    /**
     * Move the key's counter to `counter` if that is higher than the stored one (compare-and-set), and
     * extend the record to `expiresAt`. False when the counter does not increase (a replayed or cloned assertion).
     */
    advance: (
      current: AppAttestKeyRecord | null,
      input: { readonly counter: number; readonly expiresAt: number },
    ): Step<AppAttestKeyRecord, boolean> => {
      if (current === null || current.counter >= input.counter) return { outcome: false };
      return {
        next: { ...current, counter: input.counter, expiresAt: Math.max(current.expiresAt, input.expiresAt) },
        outcome: true,
      };
    },
  },
});

export type AppAttestKeyOperations = typeof appAttestKeyKind.operations;

/** The name of an App Attest key's record: the DPoP key that attested it, and its keyId. */
export function appAttestKeyName(jkt: string, keyId: string): string {
  return `${jkt}:${keyId}`;
}

/** Scope names: only this module builds them. */
export const replayScope = {
  /** DPoP proofs: one object per key thumbprint, so one device's traffic is one object's traffic. */
  dpop: (jkt: string) => `dpop:${jkt}`,
  /** Client assertions: per client, spread over 64 objects by a hash of the jti. */
  clientAssertion: (clientId: string, jti: string) => `client-assertion:${clientId}:${fnv1a(jti) % 64}`,
  /** CAT challenges: per client, spread over 64 objects by a hash of the challenge id (no key is known yet). */
  catChallenge: (clientId: string, id: string) => `cat-challenge:${clientId}:${fnv1a(id) % 64}`,
  /** Initial access tokens (scope dcr), single use at the registration endpoint: per main client, over 16 objects. */
  initialAccessToken: (clientId: string, jti: string) => `initial-access-token:${clientId}:${fnv1a(jti) % 16}`,
  /** Device-Signature JWS (UAF device service): per device. */
  deviceSignature: (deviceId: string) => `device-signature:${deviceId}`,
} as const;

/** Identifiers recorded in a key's `dpop:<jkt>` scope besides DPoP proof jtis (distinct prefixes). */
export const replayId = {
  dpopProof: (jti: string) => `proof:${jti}`,
  cat: (jti: string) => `cat:${jti}`,
  attestationPop: (jti: string) => `attestation-pop:${jti}`,
} as const;

/** FNV-1a, 32 bit: a cheap, stable spread of identifiers over shards (not a security function). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
