/**
 * The server's request log, read from its output, for the end-to-end tests: one JSON line per request
 * (`msg: "request"`, src/app.ts), the same on both runtimes. Under wrangler dev some lines carry a
 * "▲ [WARNING]" prefix; on Deno, warnings and errors come on stderr, which DevServer.output() interleaves.
 */
import type { DevServer } from "./wrangler-dev";

/** One request log line; only the fields the tests read. */
export interface RequestLog {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly client_id?: string;
  /** The precise reason of a refusal (e.g. `dpop_replayed`); the answer itself stays vague. */
  readonly reason?: string;
}

/** The request log lines in the server's output so far. */
export function requestLog(server: DevServer): RequestLog[] {
  const lines: RequestLog[] = [];
  for (const line of server.output().split("\n")) {
    const start = line.indexOf('{"level"');
    if (start < 0) continue;
    try {
      const entry = JSON.parse(line.slice(start)) as RequestLog & { msg?: string };
      if (entry.msg === "request") lines.push(entry);
    } catch {
      // not one of ours, or cut in the middle
    }
  }
  return lines;
}

/** Wait until the server has logged what `done` looks for (its output may lag the response); at most 10 s. */
export async function logged(server: DevServer, done: (log: RequestLog[]) => boolean): Promise<RequestLog[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const log = requestLog(server);
    if (done(log) || Date.now() > deadline) return log;
    await new Promise((r) => setTimeout(r, 100));
  }
}
