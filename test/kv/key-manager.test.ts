/**
 * KeyManager: key creation, rotation, publication of next and retired keys.
 */
import { describe, expect, it } from "vitest";
import { advance, KEY_MANAGER_NAME, snapshot } from "../../src/kv/key-manager";
import { testStores } from "../helpers/runtime";

const policy = { rotationPeriod: 3600, retainAfterRetirement: 1200 };
const T0 = 1_795_000_000;

describe("advance (rotation, with injected time)", () => {
  it("first use creates a signing key and a pre-published next key", async () => {
    const { state, changed } = await advance(undefined, policy, T0);
    expect(changed).toBe(true);
    const view = snapshot(state);
    expect(view.current.activatesAt).toBe(T0);
    expect(view.published).toHaveLength(2);
    expect(view.validUntil).toBe(T0 + 3600);
    expect(view.serverSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(view.published.every((jwk) => jwk.d === undefined && jwk.kid && jwk.alg === "ES256")).toBe(true);
  });

  it("nothing changes before the rotation time", async () => {
    const { state } = await advance(undefined, policy, T0);
    const again = await advance(state, policy, T0 + 3599);
    expect(again.changed).toBe(false);
    expect(snapshot(again.state).current.kid).toBe(snapshot(state).current.kid);
  });

  it("at the rotation time the next key signs, the old one stays published, a new next appears", async () => {
    const { state } = await advance(undefined, policy, T0);
    const first = snapshot(state);
    const rotated = snapshot((await advance(state, policy, T0 + 3600)).state);
    expect(rotated.current.publicJwk).toEqual(first.published[1]);
    const kids = rotated.published.map((jwk) => jwk.kid);
    expect(kids).toContain(first.current.kid);
    expect(kids).toHaveLength(3);
  });

  it("a retired key is dropped once its tokens and cached copies have expired", async () => {
    const { state } = await advance(undefined, policy, T0);
    const first = snapshot(state).current.kid;
    const later = await advance(state, policy, T0 + 3600 + 1200);
    expect(snapshot(later.state).published.map((jwk) => jwk.kid)).not.toContain(first);
    const stillNeeded = await advance(state, policy, T0 + 3600 + 1199);
    expect(snapshot(stillNeeded.state).published.map((jwk) => jwk.kid)).toContain(first);
  });

  it("after a long idle period it catches up without a gap", async () => {
    const { state } = await advance(undefined, policy, T0);
    const view = snapshot((await advance(state, policy, T0 + 10 * 3600 + 5)).state);
    expect(view.current.activatesAt).toBeLessThanOrEqual(T0 + 10 * 3600 + 5);
    expect(view.validUntil).toBeGreaterThan(T0 + 10 * 3600 + 5);
  });
});

describe("the key manager on Workers (the KeyManager Durable Object)", () => {
  it("hands every caller the same keys, concurrently too", async () => {
    const record = await testStores().keys.named(`${KEY_MANAGER_NAME}-${crypto.randomUUID()}`);
    const views = await Promise.all(
      Array.from({ length: 5 }, () => record.run("keys", policy, Math.floor(Date.now() / 1000))),
    );
    expect(new Set(views.map((view) => view.current.kid)).size).toBe(1);
    expect(new Set(views.map((view) => view.serverSecret)).size).toBe(1);
  });
});
