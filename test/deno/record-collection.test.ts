/**
 * denoRecordCollection (src/kv/deno/host.ts) under real Deno, on an in-memory Deno KV: ids, operations,
 * refusals, deletion, expiry (with an injected `now`), what may be stored, and racing writers in one
 * process. Two processes on one file: two-processes.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { denoRecordCollection } from "../../src/kv/deno/host";
import { EXPIRY_MARGIN_MS } from "../../src/kv/deno/kv";
import { RECORD_ID } from "../../src/kv/record";
import { recordingSets } from "./recording-kv";
import { voucher, voucherKind, type Voucher } from "./voucher-kind";

const NOW = 1_800_000_000;

let kv: Deno.Kv;
beforeEach(async () => {
  kv = await Deno.openKv(":memory:");
});
afterEach(() => kv.close());

describe("ids", () => {
  it("fresh() gives new 64-hex ids", () => {
    const vouchers = denoRecordCollection(kv, voucherKind);
    const ids = new Set(Array.from({ length: 100 }, () => vouchers.fresh().id));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(RECORD_ID);
  });

  it("named(name) is the hex SHA-256 of `<kind>:<name>`: stable, and distinct per name", async () => {
    const vouchers = denoRecordCollection(kv, voucherKind);
    const alice = await vouchers.named("alice");
    const expected = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("test-voucher:alice"))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    expect(alice.id).toBe(expected);
    expect((await vouchers.named("alice")).id).toBe(alice.id);
    expect((await vouchers.named("bob")).id).not.toBe(alice.id);
    expect((await vouchers.named("alice")).id).toMatch(RECORD_ID);
  });

  it("named records are the same record, reached by name or by id", async () => {
    const vouchers = denoRecordCollection(kv, voucherKind);
    await (await vouchers.named("alice")).run("create", voucher("a", NOW + 60), NOW);
    const byId = vouchers.byId((await vouchers.named("alice")).id)!;
    expect(await byId.run("read", null, NOW)).toMatchObject({ id: "a" });
  });

  it("byId refuses anything but 64 lower-case hex digits", () => {
    const vouchers = denoRecordCollection(kv, voucherKind);
    const good = "0123456789abcdef".repeat(4);
    expect(vouchers.byId(good)?.id).toBe(good);
    for (const bad of [
      "",
      good.toUpperCase(),
      good.slice(1),
      `${good}0`,
      `${good.slice(1)}g`,
      "../grant",
      `${good}\n`,
    ]) {
      expect(vouchers.byId(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it("refuses a kind without its own key prefix", () => {
    for (const name of ["", "replay", "cache"]) {
      expect(() => denoRecordCollection(kv, { ...voucherKind, name })).toThrow(TypeError);
    }
  });
});

describe("operations", () => {
  it("create, read, refuse a second create, spend once, delete", async () => {
    const ref = denoRecordCollection(kv, voucherKind).fresh();
    expect(await ref.run("read", null, NOW)).toBeNull();
    expect(await ref.run("create", voucher("v1", NOW + 600), NOW)).toBe(true);
    expect(await ref.run("create", voucher("v2", NOW + 600), NOW)).toBe(false);
    expect(await ref.run("read", null, NOW)).toEqual(voucher("v1", NOW + 600));
    expect(await ref.run("spend", null, NOW + 1)).toBe("ok");
    expect(await ref.run("spend", null, NOW + 2)).toBe("spent");
    expect(await ref.run("read", null, NOW + 3)).toMatchObject({ id: "v1", spent_at: NOW + 1 });
    expect(await ref.run("hashId", null, NOW + 3)).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(await ref.run("remove", null, NOW + 4)).toBe(true);
    expect(await ref.run("read", null, NOW + 4)).toBeNull();
    expect((await kv.get(["test-voucher", ref.id])).versionstamp).toBeNull();
    expect(await ref.run("remove", null, NOW + 5)).toBe(false);
    expect(await ref.run("spend", null, NOW + 5)).toBe("missing");
  });

  it("keeps each record at [kind.name, id], as a plain value", async () => {
    const ref = denoRecordCollection(kv, voucherKind).fresh();
    await ref.run("create", voucher("v1", NOW + 600), NOW);
    const entry = await kv.get<Voucher>(["test-voucher", ref.id]);
    expect(entry.value).toEqual(voucher("v1", NOW + 600));
  });

  it("an operation that decides nothing writes nothing", async () => {
    const ref = denoRecordCollection(kv, voucherKind).fresh();
    await ref.run("create", voucher("v1", NOW + 600), NOW);
    const before = (await kv.get(["test-voucher", ref.id])).versionstamp;
    expect(await ref.run("create", voucher("v2", NOW + 600), NOW)).toBe(false);
    await ref.run("read", null, NOW);
    expect((await kv.get(["test-voucher", ref.id])).versionstamp).toBe(before);
  });

  it("an unknown operation is a TypeError naming the kind", async () => {
    const ref = denoRecordCollection(kv, voucherKind).fresh();
    await expect(ref.run("nope" as "read", null, NOW)).rejects.toThrow(/test-voucher: no operation "nope"/);
  });
});

describe("expiry", () => {
  it("a record whose expiresAt <= now reads as absent, and can be created anew", async () => {
    const ref = denoRecordCollection(kv, voucherKind).fresh();
    await ref.run("create", voucher("old", NOW + 10), NOW);
    expect(await ref.run("read", null, NOW + 9)).toMatchObject({ id: "old" });
    expect(await ref.run("read", null, NOW + 10)).toBeNull();
    expect(await ref.run("spend", null, NOW + 10)).toBe("missing");
    // Still stored (expireIn is lazy), yet absent to every operation.
    expect((await kv.get(["test-voucher", ref.id])).value).not.toBeNull();
    expect(await ref.run("create", voucher("new", NOW + 100), NOW + 11)).toBe(true);
    expect(await ref.run("read", null, NOW + 11)).toMatchObject({ id: "new" });
  });

  it("sets expireIn to the record's expiry plus 60 s, from the injected now; none for Infinity", async () => {
    const { kv: recording, sets } = recordingSets(kv);
    const vouchers = denoRecordCollection(recording, voucherKind);
    await vouchers.fresh().run("create", voucher("a", NOW + 600), NOW);
    await vouchers.fresh().run("create", voucher("b", NOW + 0.25), NOW);
    await vouchers.fresh().run("create", voucher("c", NOW - 5), NOW);
    await vouchers.fresh().run("create", voucher("d", Infinity), NOW);
    expect(sets.map((set) => set.options?.expireIn)).toEqual([
      600_000 + EXPIRY_MARGIN_MS,
      250 + EXPIRY_MARGIN_MS,
      EXPIRY_MARGIN_MS,
      undefined,
    ]);
  });
});

describe("what may be stored", () => {
  it("a record over Deno KV's 64 KiB is a TypeError naming the kind, and nothing is written", async () => {
    const ref = denoRecordCollection(kv, voucherKind).fresh();
    await ref.run("create", voucher("small", NOW + 60), NOW);
    const big = { ...voucher("big", NOW + 60), note: "x".repeat(70_000) };
    const failure = await ref.run("put", big, NOW).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as Error).message).toMatch(/^test-voucher\.put: record [0-9a-f]{64} is too large for Deno KV/);
    expect(await ref.run("read", null, NOW)).toMatchObject({ id: "small" });
  });

  it("a CryptoKey in a record is refused, naming where it is", async () => {
    const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ]);
    const ref = denoRecordCollection(kv, voucherKind).fresh();
    const withKey = { ...voucher("k", NOW + 60), note: { keys: [{ kid: "1", key: privateKey }] } };
    await expect(ref.run("put", withKey, NOW)).rejects.toThrow(
      /test-voucher\.put: the record holds a CryptoKey at \$\.note\.keys\[0\]\.key/,
    );
    expect(await ref.run("read", null, NOW)).toBeNull();
  });
});

describe("racing writers in one process", () => {
  it("10 concurrent spends of one voucher: exactly one wins", async () => {
    const vouchers = denoRecordCollection(kv, voucherKind);
    const ref = vouchers.fresh();
    await ref.run("create", voucher("v", NOW + 600), NOW);
    // Each racer has its own reference, as separate requests would.
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => vouchers.byId(ref.id)!.run("spend", null, NOW)),
    );
    expect(outcomes.filter((outcome) => outcome === "ok")).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === "spent")).toHaveLength(9);
  });

  it("20 concurrent increments lose none (conflicts are retried, and counted)", async () => {
    const retries: string[] = [];
    const vouchers = denoRecordCollection(kv, voucherKind, { onRetry: (retry) => retries.push(retry.reason) });
    const ref = vouchers.fresh();
    await ref.run("create", voucher("v", NOW + 600), NOW);
    const counts = await Promise.all(Array.from({ length: 20 }, () => ref.run("count", null, NOW)));
    expect([...counts].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await ref.run("read", null, NOW))!.count).toBe(20);
    expect(retries.every((reason) => reason === "conflict")).toBe(true);
  });
});
