/**
 * ReplayGuard: atomic single use of identifiers (DPoP `jti`, client assertion `jti`, CAT `jti`, CAT
 * challenges), and the App Attest keys a device attested with its DPoP key, with their counters.
 *
 * One object per scope (see storage names below and docs/storage.md). A Durable Object runs one
 * request at a time and SQLite calls are synchronous, so the look-up and the insert below cannot
 * interleave with another request: two racing requests with the same jti get exactly one `true`.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** Seconds between clean-ups; rows expire in batches rather than one alarm per row. */
const SWEEP_GRANULARITY = 60;

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

export class ReplayGuard extends DurableObject<Env> {
  private alarmAt: number | null = null;
  private tableReady = false;

  /**
   * Record `id` as used until `expiresAt` (epoch seconds).
   * @returns true on first use, false when `id` is already recorded and not yet expired.
   */
  async use(id: string, expiresAt: number): Promise<boolean> {
    const now = Math.floor(Date.now() / 1000);
    // One statement: insert, or take over an expired row; a live row leaves nothing written.
    const cursor = this.table().exec(
      "INSERT INTO used (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE used.expires_at <= ?",
      id,
      expiresAt,
      now,
    );
    if (cursor.rowsWritten === 0) return false;
    await this.scheduleSweep(expiresAt);
    return true;
  }

  /** Register an attested App Attest key (a new attestation of the same keyId replaces the old record). */
  async registerAppAttestKey(record: AppAttestKeyRecord): Promise<void> {
    this.table().exec(
      "INSERT OR REPLACE INTO app_attest_keys (key_id, client_id, app_id, public_key, counter, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      record.keyId,
      record.clientId,
      record.appId,
      JSON.stringify(record.publicKey),
      record.counter,
      record.expiresAt,
    );
    await this.scheduleSweep(record.expiresAt);
  }

  async appAttestKey(keyId: string): Promise<AppAttestKeyRecord | null> {
    const now = Math.floor(Date.now() / 1000);
    const rows = this.table()
      .exec<{ key_id: string; client_id: string; app_id: string; public_key: string; counter: number; expires_at: number }>(
        "SELECT key_id, client_id, app_id, public_key, counter, expires_at FROM app_attest_keys WHERE key_id = ? AND expires_at > ?",
        keyId,
        now,
      )
      .toArray();
    const row = rows[0];
    if (!row) return null;
    return { keyId: row.key_id, clientId: row.client_id, appId: row.app_id, publicKey: JSON.parse(row.public_key) as JsonWebKey, counter: row.counter, expiresAt: row.expires_at };
  }

  /**
   * Move the key's counter to `counter` if that is higher than the stored one (compare-and-set), and
   * extend the record to `expiresAt`. False when the counter does not increase (a replayed or cloned assertion).
   */
  async advanceAppAttestCounter(keyId: string, counter: number, expiresAt: number): Promise<boolean> {
    const cursor = this.table().exec(
      "UPDATE app_attest_keys SET counter = ?, expires_at = MAX(expires_at, ?) WHERE key_id = ? AND counter < ?",
      counter,
      expiresAt,
      keyId,
      counter,
    );
    if (cursor.rowsWritten === 0) return false;
    await this.scheduleSweep(expiresAt);
    return true;
  }

  private table(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.tableReady) {
      sql.exec("CREATE TABLE IF NOT EXISTS used (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID");
      sql.exec(
        "CREATE TABLE IF NOT EXISTS app_attest_keys (key_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, app_id TEXT NOT NULL, public_key TEXT NOT NULL, counter INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
      );
      this.tableReady = true;
    }
    return sql;
  }

  private async scheduleSweep(expiresAt: number): Promise<void> {
    const at = (expiresAt + SWEEP_GRANULARITY) * 1000;
    if (this.alarmAt === null) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt === null || this.alarmAt > at) {
      this.alarmAt = at;
      await this.ctx.storage.setAlarm(at);
    }
  }

  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const sql = this.table();
    sql.exec("DELETE FROM used WHERE expires_at <= ?", now);
    sql.exec("DELETE FROM app_attest_keys WHERE expires_at <= ?", now);
    // The next sweep: when the earliest remaining row expires (batched by SWEEP_GRANULARITY).
    const next = sql
      .exec<{ next: number | null }>("SELECT MIN(expires_at) AS next FROM (SELECT expires_at FROM used UNION ALL SELECT expires_at FROM app_attest_keys)")
      .one().next;
    this.alarmAt = null;
    if (next === null) {
      // Nothing left to guard: drop the object's storage entirely.
      this.tableReady = false;
      await this.ctx.storage.deleteAll();
    }
    else await this.scheduleSweep(next);
  }
}

/** Storage names: only this module builds them. */
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

/** Identifiers recorded in a key's `dpop:<jkt>` object besides DPoP proof jtis (distinct prefixes, one table). */
export const replayId = {
  dpopProof: (jti: string) => `proof:${jti}`,
  cat: (jti: string) => `cat:${jti}`,
  attestationPop: (jti: string) => `attestation-pop:${jti}`,
} as const;

/** The Durable Object that holds one DPoP key's state (replays, CAT single use, App Attest keys). */
export function deviceObject(namespace: DurableObjectNamespace<ReplayGuard>, jkt: string): DurableObjectStub<ReplayGuard> {
  return namespace.get(namespace.idFromName(replayScope.dpop(jkt)));
}

/** Returns a single-use recorder bound to one scope. (Stubs are I/O objects of one request: not cached.) */
export function replayRecorder(namespace: DurableObjectNamespace<ReplayGuard>, scope: string): (id: string, expiresAt: number) => Promise<boolean> {
  const stub = namespace.get(namespace.idFromName(scope));
  return (id, expiresAt) => stub.use(id, expiresAt);
}

/** FNV-1a, 32 bit: a cheap, stable spread of identifiers over shards (not a security function). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
