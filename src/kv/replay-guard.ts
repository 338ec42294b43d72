/**
 * ReplayGuard: atomic single use of identifiers (DPoP `jti`, client assertion `jti`).
 *
 * One object per scope (see storage names below and docs/storage.md). A Durable Object runs one
 * request at a time and SQLite calls are synchronous, so the look-up and the insert below cannot
 * interleave with another request: two racing requests with the same jti get exactly one `true`.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** Seconds between clean-ups; rows expire in batches rather than one alarm per row. */
const SWEEP_GRANULARITY = 60;

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

  private table(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.tableReady) {
      sql.exec("CREATE TABLE IF NOT EXISTS used (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID");
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
    const next = sql.exec<{ next: number | null }>("SELECT MAX(expires_at) AS next FROM used").one().next;
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
} as const;

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
