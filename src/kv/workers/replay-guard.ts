/**
 * ReplayGuard, the Durable Object of the REPLAY_GUARD binding. An object is one of two things, by name:
 * - a replay scope (replay.ts `replayScope`): identifiers used once, rows of one SQLite table. The object
 *   runs one call at a time and SQLite calls are synchronous, so the look-up and the insert cannot
 *   interleave with another call: of racing uses of one id, exactly one gets `true`. An alarm sweeps
 *   expired rows in batches and drops the storage when nothing is left;
 * - an App Attest key's record (the record host of `appAttestKeyKind`).
 */
import { appAttestKeyKind } from "../replay";
import type { ReplayStore } from "../ports";
import { recordHost } from "./host";

/** Seconds between clean-ups; rows expire in batches rather than one alarm per row. */
const SWEEP_GRANULARITY = 60;

export class ReplayGuard extends recordHost(appAttestKeyKind) {
  private alarmAt: number | null = null;
  private tableReady = false;

  /**
   * Record `id` as used until `expiresAt` (epoch seconds).
   * @returns true on first use, false when `id` is already recorded and not yet expired.
   */
  async use(id: string, expiresAt: number, now: number): Promise<boolean> {
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
    const sql = this.ctx.storage.sql;
    const hasTable = [...sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'used'")].length > 0;
    // An App Attest key's record: the record host's clean-up.
    if (!hasTable) return super.alarm();
    const now = Math.floor(Date.now() / 1000);
    sql.exec("DELETE FROM used WHERE expires_at <= ?", now);
    // The next sweep: when the earliest remaining row expires (batched by SWEEP_GRANULARITY).
    const next = sql.exec<{ next: number | null }>("SELECT MIN(expires_at) AS next FROM used").one().next;
    this.alarmAt = null;
    if (next === null) {
      // Nothing left to guard: drop the object's storage entirely.
      this.tableReady = false;
      await this.ctx.storage.deleteAll();
    } else await this.scheduleSweep(next);
  }
}

/** Single use on Workers: one ReplayGuard object per scope. (Stubs belong to one request: not cached.) */
export function durableObjectReplayStore(namespace: DurableObjectNamespace<ReplayGuard>): ReplayStore {
  return {
    use: (scope, id, expiresAt, now) => namespace.get(namespace.idFromName(scope)).use(id, expiresAt, now),
  };
}
