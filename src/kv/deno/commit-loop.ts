/**
 * The read, decide, commit loop every Deno KV write here goes through.
 *
 * An attempt reads what it needs, decides, and returns its result with the atomic operation that must
 * commit for the result to hold (checked on the versionstamps it read). Two things make an attempt
 * start over, from the read:
 * - a failed check (`commit()` resolves to `{ok: false}`): another writer got there first, and the
 *   decision must be taken again on what it wrote;
 * - "database is locked", which a SQLite-backed KV throws when another process (or another thread of
 *   `deno serve --parallel`) holds the file's write lock (docs/deno.md, "One process per KV file"; denoland/deno issues
 *   20116, 21249, 21520). Nothing was written, so starting over is safe, and a client never sees it.
 * Attempts are bounded; between them a short random wait, growing, spreads the writers out.
 */
import { StoreBusyError } from "../ports";
import type { KvAtomic } from "./kv";

/** Why an attempt started over. */
export type RetryReason = "conflict" | "locked";

export interface Retry {
  /** What was being written (a record kind and operation, "replay", "cache"). */
  readonly what: string;
  /** The attempt that just failed, from 1. */
  readonly attempt: number;
  readonly reason: RetryReason;
}

export interface RetryOptions {
  /** Attempts before giving up. Default 50. */
  readonly maxAttempts?: number;
  /** Told of every attempt that starts over (logs, tests). */
  readonly onRetry?: (retry: Retry) => void;
}

/** What an attempt decided: its result, and the atomic operation that must commit for it (none: nothing to write). */
export interface Decision<T> {
  readonly result: T;
  readonly commit?: KvAtomic;
}

/** Thrown when every attempt failed: the store is too contended, or locked for too long (a 503, ports.ts). */
export class KvContentionError extends StoreBusyError {
  readonly code = "ERR_KV_CONTENTION";
  constructor(
    message: string,
    readonly evidence: { readonly what: string; readonly attempts: number; readonly last: RetryReason },
    options?: ErrorOptions,
  ) {
    super(message, 1, options);
    this.name = "KvContentionError";
  }
}

export const DEFAULT_MAX_ATTEMPTS = 50;
const FIRST_WAIT_MS = 1;
const LONGEST_WAIT_MS = 100;

/** SQLITE_BUSY ("database is locked") and SQLITE_LOCKED ("database table is locked"), as Deno reports them. */
export function isLocked(error: unknown): boolean {
  return error instanceof Error && /database (table )?is locked/i.test(error.message);
}

/** A KV call's "database is locked", told apart from any other error an attempt may throw. */
class Locked extends Error {}

/** Run a KV call (get, getMany, commit) inside an attempt: "database is locked" makes the attempt start over. */
export async function kvCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isLocked(error)) throw new Locked("database is locked", { cause: error });
    throw error;
  }
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Run `attempt` until its decision commits (or it has nothing to commit), at most `maxAttempts` times.
 * The attempt must make its KV calls through kvCall(); any other error it throws ends the loop.
 */
export async function commitLoop<T>(
  what: string,
  attempt: () => Promise<Decision<T>>,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  let last: { reason: RetryReason; error?: unknown } = { reason: "conflict" };
  for (let n = 1; n <= maxAttempts; n++) {
    try {
      const decision = await attempt();
      if (decision.commit === undefined) return decision.result;
      const committed = await kvCall(() => decision.commit!.commit());
      if (committed.ok) return decision.result;
      last = { reason: "conflict" };
    } catch (error) {
      if (!(error instanceof Locked)) throw error;
      last = { reason: "locked", error: error.cause };
    }
    if (n === maxAttempts) break;
    options.onRetry?.({ what, attempt: n, reason: last.reason });
    await pause(Math.random() * Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** (n - 1)));
  }
  const lastWhy = last.reason === "locked" ? "the database stayed locked" : "another writer kept changing it";
  throw new KvContentionError(
    `Deno KV: ${what} gave up after ${maxAttempts} attempts (${lastWhy})`,
    { what, attempts: maxAttempts, last: last.reason },
    last.error === undefined ? undefined : { cause: last.error },
  );
}
