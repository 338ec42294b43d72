/**
 * One of the processes of two-processes.test.ts: opens the KV file named by argv[0] (both processes
 * create it at once, as two servers started together would), creates the voucher argv[1] (one of the
 * two creates wins), prints "ready", waits for a line on stdin, then races the other process:
 * - `spends` spends of the voucher argv[1], `uses` uses of one jti, `counts` increments of the voucher,
 *   all at once;
 * - `fillers` writes of distinct jtis, to keep the file's write lock busy.
 * Prints one JSON line: the outcomes, every error message, and how many attempts started over and why.
 */
import { denoRecordCollection } from "../../src/kv/deno/host";
import { openDenoKv } from "../../src/kv/deno/open";
import { denoReplayStore } from "../../src/kv/deno/replay-store";
import type { Retry } from "../../src/kv/deno/commit-loop";
import { voucher, voucherKind } from "./voucher-kind";

const [path, voucherId, label = "child"] = Deno.args;
const RACERS = 10;
const COUNTS = 25;
const FILLERS = 150;
const NOW = 1_800_000_000;

const retries = { conflict: 0, locked: 0, longest: 0 };
const onRetry = (retry: Retry) => {
  retries[retry.reason]++;
  retries.longest = Math.max(retries.longest, retry.attempt + 1);
};
const kv = await openDenoKv({ kind: "file", path: path! }, Deno);
const vouchers = denoRecordCollection(kv, voucherKind, { onRetry });
const replay = denoReplayStore(kv, { onRetry });

const errors: string[] = [];
const settle = <T>(promise: Promise<T>) =>
  promise.catch((error: unknown) => {
    errors.push(String(error));
    return "error" as const;
  });
const ref = vouchers.byId(voucherId!)!;
const created = await settle(ref.run("create", voucher("raced", NOW + 600), NOW));

console.log("ready");
const reader = Deno.stdin.readable.getReader();
await reader.read();
reader.releaseLock();

const [spends, uses, counts] = await Promise.all([
  Promise.all(Array.from({ length: RACERS }, () => settle(ref.run("spend", null, NOW)))),
  Promise.all(Array.from({ length: RACERS }, () => settle(replay.use("dpop:race", "the-jti", NOW + 300, NOW)))),
  Promise.all(Array.from({ length: COUNTS }, () => settle(ref.run("count", null, NOW)))),
  Promise.all(
    Array.from({ length: FILLERS }, (_, i) => settle(replay.use("dpop:filler", `${label}-${i}`, NOW + 300, NOW))),
  ),
]);
console.log(JSON.stringify({ created, spends, uses, counts, errors, retries }));
kv.close();
