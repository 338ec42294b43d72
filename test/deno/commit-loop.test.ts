/**
 * The retry rules of src/kv/deno/commit-loop.ts, with "database is locked" injected into a real
 * in-memory Deno KV (two-processes.test.ts meets the real thing).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commitLoop, isLocked, KvContentionError, type Retry } from "../../src/kv/deno/commit-loop";
import { denoRecordCollection } from "../../src/kv/deno/host";
import type { DenoKv } from "../../src/kv/deno/kv";
import { denoReplayStore } from "../../src/kv/deno/replay-store";
import { voucher, voucherKind } from "./voucher-kind";

const NOW = 1_800_000_000;
const locked = () => new TypeError("database is locked");

let kv: Deno.Kv;
beforeEach(async () => {
  kv = await Deno.openKv(":memory:");
});
afterEach(() => kv.close());

/** `inner`, whose first `reads` gets and first `commits` commits throw "database is locked". */
function lockedAtFirst(inner: Deno.Kv, failures: { reads: number; commits: number }): DenoKv {
  return {
    get: (key) => (failures.reads-- > 0 ? Promise.reject(locked()) : inner.get(key)),
    getMany: (keys) => inner.getMany(keys),
    atomic: () => {
      const atomic = inner.atomic();
      const commit = atomic.commit.bind(atomic);
      atomic.commit = () => (failures.commits-- > 0 ? Promise.reject(locked()) : commit());
      return atomic;
    },
  };
}

describe("commit loop", () => {
  it('recognises SQLite\'s "database is locked" and "database table is locked" only', () => {
    expect(isLocked(new TypeError("database is locked"))).toBe(true);
    expect(isLocked(new Error("database table is locked"))).toBe(true);
    expect(isLocked(new Error("Value too large (max 65536 bytes)"))).toBe(false);
    expect(isLocked("database is locked")).toBe(false);
  });

  it('retries "database is locked" from reads and commits: a record operation still succeeds once', async () => {
    const retries: Retry[] = [];
    const vouchers = denoRecordCollection(lockedAtFirst(kv, { reads: 2, commits: 3 }), voucherKind, {
      onRetry: (retry) => retries.push(retry),
    });
    const ref = vouchers.fresh();
    expect(await ref.run("create", voucher("v", NOW + 60), NOW)).toBe(true);
    expect(retries.map((retry) => retry.reason)).toEqual(["locked", "locked", "locked", "locked", "locked"]);
    expect(retries[0]!.what).toBe("test-voucher.create");
    expect(await ref.run("read", null, NOW)).toMatchObject({ id: "v" });
  });

  it('retries "database is locked" for replay uses', async () => {
    const replay = denoReplayStore(lockedAtFirst(kv, { reads: 1, commits: 4 }));
    expect(await replay.use("s", "jti", NOW + 60, NOW)).toBe(true);
    expect(await replay.use("s", "jti", NOW + 60, NOW)).toBe(false);
  });

  it("gives up after maxAttempts with a KvContentionError that says why", async () => {
    const vouchers = denoRecordCollection(lockedAtFirst(kv, { reads: 0, commits: 1_000 }), voucherKind, {
      maxAttempts: 5,
    });
    const failure = await vouchers
      .fresh()
      .run("create", voucher("v", NOW + 60), NOW)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KvContentionError);
    expect((failure as KvContentionError).message).toBe(
      "Deno KV: test-voucher.create gave up after 5 attempts (the database stayed locked)",
    );
    expect((failure as KvContentionError).evidence).toEqual({
      what: "test-voucher.create",
      attempts: 5,
      last: "locked",
    });
    expect((failure as KvContentionError).code).toBe("ERR_KV_CONTENTION");
  });

  it("does not retry other errors", async () => {
    let attempts = 0;
    const failure = commitLoop("x", async () => {
      attempts++;
      throw new Error("database is locked, but not from a KV call");
    });
    await expect(failure).rejects.toThrow("not from a KV call");
    expect(attempts).toBe(1);
  });
});
