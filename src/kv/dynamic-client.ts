/**
 * Dynamic clients: one record per dynamically registered client, the client's source of truth.
 *
 * The record is created under a fresh id by the registration request (on Workers, a Durable Object
 * created near the device that registered), and its id is the client_id: the token request right after
 * a registration reaches the same record, with no index and no eventually consistent copy in between. A
 * forged or mistyped client_id is refused before any record is reached.
 *
 * The record holds hashes only (client secret, registration access token). Every write replaces the
 * whole record in one operation, and an update only replaces a record that still exists, so a PUT racing
 * a DELETE cannot bring a deleted client back. The record goes when it was never used past its
 * deadline, or when its secret expired.
 */
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { recordKind, type Step } from "./record";

/** A public JWK as registered (JSON values only, so it crosses the RPC boundary). */
export type RegisteredJwk = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/** Client metadata as registered (RFC 7591 §2), the part a client may read and replace (RFC 7592). */
export interface RegisteredMetadata {
  readonly client_name?: string;
  readonly redirect_uris: readonly string[];
  readonly grant_types: readonly string[];
  readonly response_types: readonly string[];
  readonly scope: string;
  readonly token_endpoint_auth_method: "client_secret_basic" | "client_secret_post" | "private_key_jwt";
  readonly token_endpoint_auth_signing_alg?: string;
  readonly jwks?: { readonly keys: readonly RegisteredJwk[] };
  readonly software_id: string;
  readonly software_version?: string;
  readonly dpop_bound_access_tokens?: boolean;
  /** The approved software statement the client registered with, returned unmodified (RFC 7591 §3.2.1). */
  readonly software_statement?: string;
}

export interface DynamicClientRecord {
  readonly client_id: string;
  readonly template_id: string;
  readonly main_client_id: string;
  readonly cal: ClientAssuranceLevel;
  /** `client_id_issued_at`, epoch seconds. */
  readonly issued_at: number;
  /** `client_secret_expires_at`: 0 when the secret does not expire (or there is no secret). */
  readonly secret_expires_at: number;
  /** `sha256$<salt>$<digest>` (src/verifiers/client-secret.ts), absent for private_key_jwt clients. */
  readonly client_secret_hash?: string;
  readonly registration_access_token_hash: string;
  readonly metadata: RegisteredMetadata;
  /** Epoch seconds of the first successful authentication, or null while unused. */
  readonly used_at: number | null;
  /** Deleted at this time if still unused (epoch seconds). */
  readonly unused_deadline: number;
}

/** When the record must go: unused past its deadline, or its secret expired. Infinity: never. */
export function deletionTime(record: DynamicClientRecord): number {
  const unused = record.used_at === null ? record.unused_deadline : Infinity;
  const expired = record.secret_expires_at > 0 ? record.secret_expires_at : Infinity;
  return Math.min(unused, expired);
}

export const dynamicClientKind = recordKind({
  name: "dynamic-client",
  expiresAt: deletionTime,
  operations: {
    /** Write a new client. False when the id is taken (ids are random: a bug, never a retry). */
    create: (current: DynamicClientRecord | null, record: DynamicClientRecord): Step<DynamicClientRecord, boolean> =>
      current ? { outcome: false } : { next: record, outcome: true },

    /** The client, or null when it does not exist or is due for deletion. */
    read: (current: DynamicClientRecord | null): Step<DynamicClientRecord, DynamicClientRecord | null> => ({
      outcome: current,
    }),

    /** Record the first successful authentication: the client is no longer a candidate for unused clean-up. */
    markUsed: (current: DynamicClientRecord | null, _input: null, now: number): Step<DynamicClientRecord, null> =>
      current === null || current.used_at !== null
        ? { outcome: null }
        : { next: { ...current, used_at: now }, outcome: null },

    /** Replace the metadata (RFC 7592 §2.2). Null when the client was deleted meanwhile. */
    update: (
      current: DynamicClientRecord | null,
      metadata: RegisteredMetadata,
    ): Step<DynamicClientRecord, DynamicClientRecord | null> => {
      if (current === null) return { outcome: null };
      const updated = { ...current, metadata };
      return { next: updated, outcome: updated };
    },

    /** Delete the client (RFC 7592 §2.3). False when there was none. */
    remove: (current: DynamicClientRecord | null): Step<DynamicClientRecord, boolean> =>
      current === null ? { outcome: false } : { next: null, outcome: true },
  },
});

export type DynamicClientOperations = typeof dynamicClientKind.operations;
