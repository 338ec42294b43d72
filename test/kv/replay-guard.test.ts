/**
 * Single use on Workers (the ReplayStore of src/kv/ports.ts, hosted by the ReplayGuard Durable Object):
 * atomic single use, expiry, clean-up.
 */
import { env, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { replayScope } from "../../src/kv/replay";
import type { ReplayGuard } from "../../src/kv/workers/replay-guard";
import { testStores } from "../helpers/runtime";

const now = () => Math.floor(Date.now() / 1000);

/** Uses of ids in one scope, as the routes record them. */
function replayRecorder(scope: string): (id: string, expiresAt: number) => Promise<boolean> {
  return (id, expiresAt) => testStores().replay.use(scope, id, expiresAt, now());
}

describe("ReplayGuard", () => {
  it("first use true, second false", async () => {
    const use = replayRecorder(replayScope.dpop(`jkt-${crypto.randomUUID()}`));
    expect(await use("a", now() + 60)).toBe(true);
    expect(await use("a", now() + 60)).toBe(false);
    expect(await use("b", now() + 60)).toBe(true);
  });

  it("fifty racing uses of one id: exactly one true", async () => {
    const use = replayRecorder(replayScope.dpop(`jkt-${crypto.randomUUID()}`));
    const results = await Promise.all(Array.from({ length: 50 }, () => use("same", now() + 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("scopes are separate objects: the same jti under two keys is two first uses", async () => {
    const a = replayRecorder(replayScope.dpop(`jkt-a-${crypto.randomUUID()}`));
    const b = replayRecorder(replayScope.dpop(`jkt-b-${crypto.randomUUID()}`));
    expect(await a("jti", now() + 60)).toBe(true);
    expect(await b("jti", now() + 60)).toBe(true);
  });

  it("an expired record no longer blocks; the alarm sweeps expired rows and finally the object's storage", async () => {
    const name = replayScope.dpop(`jkt-${crypto.randomUUID()}`);
    const stub = env.REPLAY_GUARD.get(env.REPLAY_GUARD.idFromName(name));
    expect(await stub.use("old", now() - 1, now())).toBe(true);
    expect(await stub.use("old", now() + 60, now())).toBe(true);
    expect(await stub.use("old", now() + 60, now())).toBe(false);
    // Expire everything, then run the alarm.
    await runInDurableObject(stub, async (_instance: ReplayGuard, state) => {
      state.storage.sql.exec("UPDATE used SET expires_at = 0");
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, async (_instance: ReplayGuard, state) => {
      expect(await state.storage.getAlarm()).toBeNull();
      expect([...state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'used'")]).toHaveLength(0);
    });
    // And the object works again after the sweep.
    expect(await stub.use("old", now() + 60, now())).toBe(true);
    expect((await listDurableObjectIds(env.REPLAY_GUARD)).length).toBeGreaterThan(0);
  });

  it("client assertion scopes spread one client's jtis over shards", () => {
    const shards = new Set(Array.from({ length: 200 }, (_, i) => replayScope.clientAssertion("client", `jti-${i}`)));
    expect(shards.size).toBeGreaterThan(32);
    expect(replayScope.clientAssertion("client", "x")).toBe(replayScope.clientAssertion("client", "x"));
  });
});
