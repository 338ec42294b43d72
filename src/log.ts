/**
 * Structured logs: one JSON line per request (plus startup lines). Callers add fields to the request's
 * record as the pipeline runs; nothing secret goes in (no secrets, tokens, proofs or assertions).
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function writeLog(
  threshold: LogLevel,
  level: Exclude<LogLevel, "silent">,
  fields: Record<string, unknown>,
): void {
  if (RANK[level] < RANK[threshold]) return;
  // At startup (module scope) Workers report the clock as 0: leave the time out rather than print 1970.
  const now = Date.now();
  const line = JSON.stringify({ level, ...(now > 0 ? { time: new Date(now).toISOString() } : {}), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
