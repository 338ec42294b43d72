/**
 * Two Deno processes on one KV file (SQLite), as two servers sharing a disk would be: they create the
 * file at the same moment, then race on one record and one jti while keeping the write lock busy.
 * SQLite then answers some reads and commits with "database is locked" (docs/deno.md); the
 * adapters retry, so no operation may fail, and every invariant must hold across the processes.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomHexId } from "../../src/kv/deno/hex-id";
import { denoRecordCollection } from "../../src/kv/deno/host";
import { denoReplayStore } from "../../src/kv/deno/replay-store";
import { voucherKind } from "./voucher-kind";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHILD = join(ROOT, "test/deno/race-child.ts");
const NOW = 1_800_000_000;

interface ChildReport {
  readonly created: boolean | "error";
  readonly spends: readonly string[];
  readonly uses: readonly (boolean | "error")[];
  readonly counts: readonly (number | null | "error")[];
  readonly errors: readonly string[];
  readonly retries: { readonly conflict: number; readonly locked: number; readonly longest: number };
}

/** A child running race-child.ts: resolves `ready` on its "ready" line, and `report` on its last line. */
function spawnChild(path: string, voucherId: string, label: string) {
  const dir = dirname(path);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      join(ROOT, "deno.json"),
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      CHILD,
      path,
      voucherId,
      label,
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  const ready = Promise.withResolvers<void>();
  const stdout = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        if (line === "ready") ready.resolve();
      }
    }
  })();
  const stderr = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  const report = (async (): Promise<ChildReport> => {
    const status = await child.status;
    await stdout;
    const errorOutput = await stderr;
    if (!status.success) throw new Error(`${label} exited ${status.code}:\n${lines.join("\n")}\n${errorOutput}`);
    return JSON.parse(lines.at(-1)!) as ChildReport;
  })();
  // A child that dies before "ready" must not leave the test waiting.
  const readyOrDead = Promise.race([
    ready.promise,
    report.then(() => Promise.reject(new Error(`${label} ended before "ready": ${lines.join("\n")}`))),
  ]);
  return {
    ready: readyOrDead,
    report,
    /** End it if it is still running (a failed start of the other one leaves it waiting for "go"). */
    kill: () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
    },
    go: async () => {
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
    },
  };
}

describe("two Deno processes sharing one KV file", () => {
  let dir: string;
  let path: string;
  const voucherId = randomHexId();
  let reports: ChildReport[];
  let children: ReturnType<typeof spawnChild>[] = [];

  beforeAll(async () => {
    dir = await Deno.makeTempDir({ prefix: "haapi-edge-kv-race-" });
    // A directory the processes create, and a file that does not exist yet.
    path = join(dir, "kv/haapi-edge.sqlite3");
    children = [spawnChild(path, voucherId, "first"), spawnChild(path, voucherId, "second")];
    await Promise.all(children.map((child) => child.ready));
    await Promise.all(children.map((child) => child.go()));
    reports = await Promise.all(children.map((child) => child.report));
  }, 60_000);

  afterAll(async () => {
    for (const child of children) child.kill();
    await Promise.allSettled(children.map((child) => child.report));
    if (dir) await Deno.remove(dir, { recursive: true });
  });

  it('no operation failed: every "database is locked" was retried', () => {
    expect(reports.flatMap((report) => report.errors)).toEqual([]);
  });

  it('the race reached SQLite\'s write lock (else this test no longer exercises the "database is locked" retry)', () => {
    const retries = JSON.stringify(reports.map((report) => report.retries));
    expect(
      reports.reduce((sum, report) => sum + report.retries.locked, 0),
      `retries ${retries}`,
    ).toBeGreaterThan(0);
  });

  it("the voucher was created once", () => {
    expect(reports.map((report) => report.created).sort()).toEqual([false, true]);
  });

  it("20 spends of one voucher across both processes: exactly one wins", () => {
    const spends = reports.flatMap((report) => report.spends);
    expect(spends).toHaveLength(20);
    expect(spends.filter((outcome) => outcome === "ok")).toHaveLength(1);
    expect(spends.filter((outcome) => outcome === "spent")).toHaveLength(19);
  });

  it("20 uses of one jti across both processes: exactly one true", () => {
    const uses = reports.flatMap((report) => report.uses);
    expect(uses).toHaveLength(20);
    expect(uses.filter((used) => used === true)).toHaveLength(1);
  });

  it("50 increments across both processes: none lost, none doubled", async () => {
    const counts = reports.flatMap((report) => report.counts);
    expect([...counts].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const kv = await Deno.openKv(path);
    try {
      const record = await denoRecordCollection(kv, voucherKind).byId(voucherId)!.run("read", null, NOW);
      expect(record).toMatchObject({ id: "raced", count: 50, spent_at: NOW });
      // Every filler use landed once: a second use of each is refused.
      const replay = denoReplayStore(kv);
      expect(await replay.use("dpop:filler", "first-0", NOW + 300, NOW)).toBe(false);
      expect(await replay.use("dpop:filler", "second-149", NOW + 300, NOW)).toBe(false);
    } finally {
      kv.close();
    }
  });
});
