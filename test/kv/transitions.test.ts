/**
 * The record kinds' operations as pure functions (src/kv/<kind>.ts): each called directly with a record,
 * an input and a fixed `now`, as both backends call them. What a step writes (`next`) and answers
 * (`outcome`) is checked; the backends' atomicity is the store contract's (test/contract/stores.ts).
 */
import { describe, expect, it } from "vitest";
import { grantKind, type GrantRecord } from "../../src/kv/grant";
import { loginSessionKind, type FlowStep, type SessionRecord } from "../../src/kv/login-session";
import { rateLimitKind } from "../../src/kv/rate-limiter";
import { applyOperation, type Step } from "../../src/kv/record";
import { appAttestKeyKind, type AppAttestKeyRecord } from "../../src/kv/replay";
import { uafTransactionKind, type UafTransactionRecord } from "../../src/kv/uaf-transaction";
import { uafUserKind, type NewUafAuthenticator, type UafUserState } from "../../src/kv/uaf-user";
import { userKind } from "../../src/kv/user-store";
import { webSessionKind, type WebSessionRecord } from "../../src/kv/web-session";
import { grantRecord } from "../fixtures/grant-record";

const NOW = 1_795_000_000;

/** A step's parts, typed loosely for assertions. */
const outcomeOf = <O>(step: Step<unknown, O> | Promise<Step<unknown, O>>) => (step as Step<unknown, O>).outcome;

const grant = (overrides: Partial<GrantRecord> = {}): GrantRecord =>
  grantRecord("g".repeat(64), NOW, {
    code: { hash: "code", expires_at: NOW + 60, code_challenge: "c".repeat(43), used_at: null },
    ...overrides,
  });

describe("applyOperation", () => {
  it("an expired record is no record; an unknown operation is a TypeError naming the kind", () => {
    const expired = grant({ expires_at: NOW });
    expect(outcomeOf(applyOperation(grantKind, "read", expired, null, NOW))).toBeNull();
    expect(outcomeOf(applyOperation(grantKind, "read", expired, null, NOW - 1))).toEqual(expired);
    expect(() => applyOperation(grantKind, "toString", null, null, NOW)).toThrow(/grant: no operation "toString"/);
  });
});

describe("grant", () => {
  const ops = grantKind.operations;
  const refresh = { hash: "r1", expires_at: NOW + 3600 };

  it("redeemCode: invalid, revoked, expired, ok once, then used (which revokes)", () => {
    expect(ops.redeemCode(null, { codeHash: "code", refresh, expiresAt: NOW + 3600 }, NOW)).toEqual({
      outcome: "invalid",
    });
    expect(ops.redeemCode(grant(), { codeHash: "other", refresh, expiresAt: NOW + 3600 }, NOW)).toEqual({
      outcome: "invalid",
    });
    expect(
      ops.redeemCode(grant({ revoked_at: NOW - 1 }), { codeHash: "code", refresh, expiresAt: NOW + 3600 }, NOW),
    ).toEqual({ outcome: "revoked" });
    expect(
      ops.redeemCode(
        grant({ code: { ...grant().code, expires_at: NOW } }),
        { codeHash: "code", refresh, expiresAt: NOW + 3600 },
        NOW,
      ),
    ).toEqual({ outcome: "expired" });
    const ok = ops.redeemCode(grant(), { codeHash: "code", refresh, expiresAt: NOW + 3600 }, NOW);
    expect(ok.outcome).toBe("ok");
    expect(ok.next).toMatchObject({ code: { used_at: NOW }, refresh, expires_at: NOW + 3600, revoked_at: null });
    expect(ops.redeemCode(ok.next!, { codeHash: "code", refresh, expiresAt: NOW + 3600 }, NOW + 1)).toMatchObject({
      outcome: "used",
      next: { revoked_at: NOW + 1 },
    });
  });

  it("rotateRefresh: the current token rotates (the old hash remembered, at most 20); a rotated-away one is reuse and revokes", () => {
    const live = grant({
      refresh: { hash: "r0", expires_at: NOW + 3600 },
      spent_refresh: Array.from({ length: 20 }, (_, i) => `old-${i}`),
      expires_at: NOW + 3600,
    });
    const rotated = ops.rotateRefresh(live, { presented: "r0", next: refresh, accessExpiresAt: NOW + 7200 }, NOW);
    expect(rotated.outcome).toBe("ok");
    expect(rotated.next!.refresh).toEqual(refresh);
    expect(rotated.next!.spent_refresh).toHaveLength(20);
    expect(rotated.next!.spent_refresh[0]).toBe("r0");
    expect(rotated.next!.expires_at).toBe(NOW + 7200);
    expect(
      ops.rotateRefresh(rotated.next!, { presented: "r0", next: refresh, accessExpiresAt: NOW }, NOW),
    ).toMatchObject({ outcome: "reused", next: { revoked_at: NOW } });
    expect(ops.rotateRefresh(live, { presented: "unknown", next: refresh, accessExpiresAt: NOW }, NOW)).toEqual({
      outcome: "invalid",
    });
    expect(
      ops.rotateRefresh(
        grant({ refresh: { hash: "r0", expires_at: NOW } }),
        { presented: "r0", next: refresh, accessExpiresAt: NOW },
        NOW,
      ),
    ).toEqual({ outcome: "expired" });
    expect(
      ops.rotateRefresh(grant({ revoked_at: NOW }), { presented: "r0", next: refresh, accessExpiresAt: NOW }, NOW),
    ).toEqual({ outcome: "revoked" });
  });

  it("create refuses a taken id; revoke once", () => {
    expect(ops.create(grant(), grant({ client_id: "other" }))).toEqual({ outcome: false });
    expect(ops.revoke(grant(), null, NOW)).toMatchObject({ outcome: true, next: { revoked_at: NOW } });
    expect(ops.revoke(grant({ revoked_at: NOW - 5 }), null, NOW)).toEqual({ outcome: false });
  });
});

describe("login session", () => {
  const ops = loginSessionKind.operations;
  const user = { sub: "sub", username: "alice", acr: "urn:test", amr: ["mca"], auth_time: NOW };
  const session = (step: FlowStep): SessionRecord => ({
    id: "s".repeat(64),
    request: { client_id: "client", redirect_uri: "app://haapi", scope: "openid", code_challenge: "c".repeat(43) },
    binding: { kind: "haapi", token_jti: "jti", jkt: "jkt" },
    cal: "none",
    authenticators: ["html-form"],
    step,
    created_at: NOW,
    expires_at: NOW + 900,
  });

  it("a finished flow takes no step and completes no more", () => {
    expect(ops.setStep(session({ kind: "done" }), { kind: "select" })).toEqual({ outcome: null });
    expect(ops.complete(session({ kind: "done" }))).toEqual({ outcome: false });
    expect(ops.complete(session({ kind: "select" }))).toMatchObject({
      outcome: true,
      next: { step: { kind: "done" } },
    });
  });

  it("approve: only the pending link poll with this hash, before it expires", () => {
    const poll = {
      kind: "poll",
      authenticator: "approval",
      approval: { via: "link", hash: "h" },
      expires_at: NOW + 10,
      status: "pending",
      user,
    } as const;
    expect(ops.approve(session(poll), "h", NOW + 10)).toEqual({ outcome: false });
    expect(ops.approve(session({ ...poll, status: "failed" }), "h", NOW)).toEqual({ outcome: false });
    expect(ops.approve(session(poll), "h", NOW)).toMatchObject({ outcome: true, next: { step: { status: "done" } } });
  });

  it("settleTransaction: a failed UAF approval fails the poll; another transaction changes nothing", () => {
    const poll = {
      kind: "poll",
      authenticator: "mobile",
      approval: { via: "uaf", transaction: "tx" },
      expires_at: NOW + 10,
      status: "pending",
      user,
    } as const;
    expect(ops.settleTransaction(session(poll), { transaction: "tx", outcome: { approved: false } })).toMatchObject({
      next: { step: { status: "failed" } },
    });
    expect(
      ops.settleTransaction(session(poll), { transaction: "other", outcome: { approved: false } }).next,
    ).toBeUndefined();
  });
});

describe("UAF transaction", () => {
  const ops = uafTransactionKind.operations;
  const tx = (overrides: Partial<UafTransactionRecord> = {}): UafTransactionRecord => ({
    id: "t".repeat(64),
    operation: "authentication",
    username: "alice",
    userId: "u".repeat(64),
    token_hash: "token",
    status_token_hash: "status",
    status: "tokenCreated",
    authenticators: [],
    dispatcher: "link",
    created_at: NOW,
    updated_at: NOW,
    expires_at: NOW + 300,
    ...overrides,
  });

  it("read reports a redeemed operation whose answer never came as failed with 1408, without writing", () => {
    const step = ops.read(tx({ status: "clientAuthenticating", answer_by: NOW }), null, NOW);
    expect(step).toEqual({ outcome: expect.objectContaining({ status: "failed", uaf_status_code: 1408 }) });
  });

  it("redeem at another operation's service changes nothing; claim after the answer deadline is refused", () => {
    expect(ops.redeem(tx(), { tokenHash: "token", operation: "registration", answerBy: NOW + 240 }, NOW)).toEqual({
      outcome: { ok: false, reason: "token_for_another_operation" },
    });
    expect(ops.redeem(tx(), { tokenHash: "other", operation: "authentication", answerBy: NOW + 240 }, NOW)).toEqual({
      outcome: { ok: false, reason: "unknown_token" },
    });
    const redeemed = ops.redeem(tx(), { tokenHash: "token", operation: "authentication", answerBy: NOW + 240 }, NOW)
      .next!;
    expect(redeemed).toMatchObject({
      status: "clientAuthenticating",
      token_result: "tokenRedeemed",
      answer_by: NOW + 240,
    });
    expect(ops.claim(redeemed, null, NOW + 240)).toEqual({ outcome: false });
    expect(ops.claim(redeemed, null, NOW)).toMatchObject({ outcome: true, next: { answered_at: NOW } });
  });

  it("end settles an operation without a claimed answer, never an unredeemed one; expiry keeps it an hour after it ends", () => {
    expect(ops.end(tx(), { succeeded: true, uafStatusCode: 1200 }, NOW)).toEqual({ outcome: null });
    expect(ops.end(tx({ status: "clientDeregistering" }), { succeeded: true, uafStatusCode: 1200 }, NOW)).toMatchObject(
      { outcome: { status: "succeeded" } },
    );
    expect(uafTransactionKind.expiresAt(tx({ answer_by: NOW + 500 }))).toBe(NOW + 500 + 3600);
  });
});

describe("UAF user", () => {
  const ops = uafUserKind.operations;
  const authenticator = (aaid: string, keyId: string): NewUafAuthenticator => ({
    aaid,
    keyId,
    publicKey: { encoding: 0x100, bytes: "AAAA" } as unknown as NewUafAuthenticator["publicKey"],
    signAlg: 1,
    signCounter: 0,
    authenticatorVersion: 1,
    attestation: "basic_surrogate",
  });
  const registration = {
    userId: "u".repeat(64),
    username: "alice",
    challenge: "c1",
    challengeExpiresAt: NOW + 240,
    deviceId: "d1",
    device: { name: "Phone" },
    authenticators: [authenticator("F1D0#0001", "k1")],
  };
  const registered = ops.register(null, registration, NOW).next as UafUserState;

  it("register refuses a new device without its information, a taken device name, a known key, a second authenticator of a type", () => {
    expect(ops.register(null, { ...registration, device: null }, NOW).outcome).toEqual({
      ok: false,
      reason: "device_information_required",
    });
    expect(
      ops.register(
        registered,
        { ...registration, challenge: "c2", deviceId: "d2", authenticators: [authenticator("F1D0#0002", "k2")] },
        NOW,
      ).outcome,
    ).toEqual({ ok: false, reason: "device_name_taken" });
    expect(
      ops.register(registered, { ...registration, challenge: "c2", deviceId: "d2", device: { name: "Tablet" } }, NOW)
        .outcome,
    ).toEqual({ ok: false, reason: "key_already_registered" });
    expect(
      ops.register(
        registered,
        { ...registration, challenge: "c2", authenticators: [authenticator("F1D0#0001", "k9")] },
        NOW,
      ).outcome,
    ).toEqual({ ok: false, reason: "authenticator_type_already_registered" });
    expect(
      ops.register(
        registered,
        { ...registration, challenge: "c2", authenticators: [authenticator("F1D0#0002", "k2")] },
        NOW,
      ).outcome,
    ).toMatchObject({ ok: true });
  });

  it("authenticate: a counter that does not increase is refused, or stored as is when regression is allowed; spent challenges are pruned once expired", () => {
    const answer = {
      challenge: "a1",
      challengeExpiresAt: NOW + 240,
      aaid: "F1D0#0001",
      keyId: "k1",
      signCounter: 5,
      allowCounterRegression: false,
    };
    const first = ops.authenticate(registered, answer, NOW);
    expect(first.outcome).toMatchObject({ ok: true, value: { signCounter: 5, last_used_at: NOW } });
    const after = first.next!;
    expect(after.spent.map((spent) => spent.challenge)).toEqual(["c1", "a1"]);
    expect(ops.authenticate(after, { ...answer, challenge: "a2", signCounter: 5 }, NOW).outcome).toEqual({
      ok: false,
      reason: "counter_regressed",
    });
    expect(
      ops.authenticate(after, { ...answer, challenge: "a2", signCounter: 4, allowCounterRegression: true }, NOW)
        .outcome,
    ).toMatchObject({ ok: true, value: { signCounter: 5 } });
    expect(ops.authenticate(after, { ...answer, keyId: "unknown" }, NOW).outcome).toEqual({
      ok: false,
      reason: "unknown_key",
    });
    // Past the challenges' expiry they are forgotten at the next write.
    const later = ops.authenticate(after, { ...answer, challenge: "a3", signCounter: 6 }, NOW + 240).next!;
    expect(later.spent.map((spent) => spent.challenge)).toEqual(["a3"]);
  });
});

describe("users, rate limits, web sessions, App Attest keys", () => {
  it("a lock that ran out starts a fresh count", () => {
    const locked = userKind.operations.recordFailure(
      { lockout: { failures: 2, locked_until: 0 } },
      { max: 3, lockSeconds: 60 },
      NOW,
    );
    expect(locked).toMatchObject({
      outcome: { locked: true, retryAfter: 60 },
      next: { lockout: { failures: 0, locked_until: NOW + 60 } },
    });
    expect(userKind.operations.recordFailure(locked.next!, { max: 3, lockSeconds: 60 }, NOW + 60)).toMatchObject({
      outcome: { locked: false },
      next: { lockout: { failures: 1 } },
    });
    // A user with neither account nor lockout keeps no record.
    expect(userKind.operations.recordSuccess({ lockout: { failures: 1, locked_until: 0 } })).toEqual({
      next: null,
      outcome: null,
    });
  });

  it("a bucket refills evenly, and goes when full again", () => {
    const limit = { requests: 2, window: 100 };
    const drained = rateLimitKind.operations.take(rateLimitKind.operations.take(null, limit, NOW).next!, limit, NOW)
      .next!;
    expect(drained).toEqual({ tokens: 0, at: NOW, fullAt: NOW + 100 });
    expect(rateLimitKind.operations.peek(drained, limit, NOW + 49).outcome).toEqual({ allowed: false, retryAfter: 1 });
    expect(rateLimitKind.operations.peek(drained, limit, NOW + 50).outcome).toEqual({ allowed: true, retryAfter: 0 });
    expect(rateLimitKind.expiresAt(drained)).toBe(NOW + 100);
  });

  it("a web session is read only with its secret's hash", () => {
    const record = {
      id: "w".repeat(64),
      secret_hash: "hash",
      sub: "sub",
      username: "alice",
      acr: "a",
      amr: [],
      auth_time: NOW,
      created_at: NOW,
      expires_at: NOW + 60,
    } satisfies WebSessionRecord;
    expect(webSessionKind.operations.read(record, "hash")).toEqual({ outcome: record });
    expect(webSessionKind.operations.read(record, "hasH")).toEqual({ outcome: null });
  });

  it("an App Attest counter only advances", () => {
    const key: AppAttestKeyRecord = {
      keyId: "k",
      clientId: "c",
      appId: "a",
      publicKey: { kty: "EC" },
      counter: 3,
      expiresAt: NOW + 10,
    };
    expect(appAttestKeyKind.operations.advance(key, { counter: 3, expiresAt: NOW + 99 })).toEqual({ outcome: false });
    expect(appAttestKeyKind.operations.advance(key, { counter: 4, expiresAt: NOW + 5 })).toEqual({
      outcome: true,
      next: { ...key, counter: 4, expiresAt: NOW + 10 },
    });
  });
});
