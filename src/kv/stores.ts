/**
 * Every store the server has, as routes see them (the ports): what a runtime's entry point builds from
 * its adapters and puts in the request context as `stores`. docs/storage.md lists each record, its key on
 * both backends, its lifetime and its clean-up.
 */
import type { DynamicClientOperations } from "./dynamic-client";
import type { GrantOperations } from "./grant";
import type { KeyManagerOperations } from "./key-manager";
import type { LoginSessionOperations } from "./login-session";
import type { CacheStore, ReplayStore } from "./ports";
import type { RateLimitOperations } from "./rate-limiter";
import type { RecordCollection } from "./record";
import type { AppAttestKeyOperations } from "./replay";
import type { UafTransactionOperations } from "./uaf-transaction";
import type { UafUserOperations } from "./uaf-user";
import type { UserOperations } from "./user-store";
import type { WebSessionOperations } from "./web-session";

export interface Stores {
  /** Single use of identifiers (replay.ts names the scopes). */
  readonly replay: ReplayStore;
  /** App Attest keys, named by the DPoP key that attested them and their keyId. */
  readonly appAttestKeys: RecordCollection<AppAttestKeyOperations>;
  /** The server's signing keys and MAC secret when no SIGNING_KEYS / SERVER_SECRET is set: one record. */
  readonly keys: RecordCollection<KeyManagerOperations>;
  /** Dynamically registered clients, by client_id (a fresh id). */
  readonly dynamicClients: RecordCollection<DynamicClientOperations>;
  /** Token buckets, named by rateLimitKey. */
  readonly rateLimits: RecordCollection<RateLimitOperations>;
  /** Login flows, by Session-Id (a fresh id). */
  readonly loginSessions: RecordCollection<LoginSessionOperations>;
  /** Authorization grants, by grant id (a fresh id, the prefix of codes and refresh tokens). */
  readonly grants: RecordCollection<GrantOperations>;
  /** Users (registered accounts and lockouts), named by the lower-cased username. */
  readonly users: RecordCollection<UserOperations>;
  /** FIDO UAF users, named by the lower-cased username; the id is the userId. */
  readonly uafUsers: RecordCollection<UafUserOperations>;
  /** Out-of-band UAF operations, by sessionId / transactionId (a fresh id). */
  readonly uafTransactions: RecordCollection<UafTransactionOperations>;
  /** Browser sessions, by the id in the `haapi-session` cookie (a fresh id). */
  readonly webSessions: RecordCollection<WebSessionOperations>;
  /** The read-mostly cache (Android revocation list, remote JWK sets). */
  readonly cache: CacheStore;
}
