/**
 * The store contract: one set of tests every `Stores` adapter must pass, run against the Durable Object
 * adapter inside workerd (test/kv/stores-contract.test.ts) and against the Deno KV adapter under real
 * Deno (test/deno/stores-contract.test.ts). It covers each store's operations through the port, expiry
 * (records read at a `now` past their expiry are gone), and races: ten concurrent spends of one jti,
 * CAT, challenge, code, refresh token, UAF challenge or UAF transaction give exactly one winner.
 *
 * Times are relative to the real clock (`T`): a Durable Object schedules its clean-up alarm at a record's
 * expiry, which must not lie in the past of the machine it runs on.
 */
import { describe, expect, it } from "vitest";
import type { DynamicClientRecord, RegisteredMetadata } from "../../src/kv/dynamic-client";
import type { RefreshState } from "../../src/kv/grant";
import { KEY_MANAGER_NAME } from "../../src/kv/key-manager";
import type { SessionRecord } from "../../src/kv/login-session";
import { RECORD_ID } from "../../src/kv/record";
import { appAttestKeyName, replayId, replayScope, type AppAttestKeyRecord } from "../../src/kv/replay";
import type { Stores } from "../../src/kv/stores";
import type { UafTransactionRecord } from "../../src/kv/uaf-transaction";
import type { NewUafAuthenticator } from "../../src/kv/uaf-user";
import type { UserRecord } from "../../src/kv/user-store";
import type { WebSessionRecord } from "../../src/kv/web-session";
import { grantRecord } from "../fixtures/grant-record";

/** Now, in epoch seconds, at the start of each test. */
const nowSeconds = () => Math.floor(Date.now() / 1000);
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;
const RACERS = 10;

/** How many of `n` concurrent calls won (`won` says which outcome is a win). */
async function winners<T>(n: number, call: () => Promise<T>, won: (outcome: T) => boolean): Promise<number> {
  return (await Promise.all(Array.from({ length: n }, call))).filter(won).length;
}

function sessionRecord(id: string, T: number): SessionRecord {
  return {
    id,
    request: {
      client_id: "contract-client",
      redirect_uri: "app://haapi",
      scope: "openid",
      code_challenge: "c".repeat(43),
    },
    binding: { kind: "haapi", token_jti: "jti-1", jkt: "jkt-1" },
    cal: "none",
    authenticators: ["html-form"],
    step: { kind: "select" },
    created_at: T,
    expires_at: T + 900,
  };
}

function transactionRecord(id: string, T: number): UafTransactionRecord {
  return {
    id,
    operation: "registration",
    username: "alice",
    userId: "f".repeat(64),
    token_hash: "token-hash",
    status_token_hash: "status-hash",
    status: "tokenCreated",
    authenticators: [],
    dispatcher: "link",
    created_at: T,
    updated_at: T,
    expires_at: T + 300,
  };
}

const METADATA: RegisteredMetadata = {
  redirect_uris: ["app://haapi"],
  grant_types: ["client_credentials"],
  response_types: ["code"],
  scope: "openid",
  token_endpoint_auth_method: "client_secret_basic",
  software_id: "contract-template",
};

function clientRecord(id: string, T: number): DynamicClientRecord {
  return {
    client_id: id,
    template_id: "contract-template",
    main_client_id: "contract-main",
    cal: "none",
    issued_at: T,
    secret_expires_at: 0,
    registration_access_token_hash: "rat-hash",
    metadata: METADATA,
    used_at: null,
    unused_deadline: T + 3600,
  };
}

const AUTHENTICATOR: NewUafAuthenticator = {
  aaid: "F1D0#0001",
  keyId: "key-1",
  publicKey: { encoding: 0x100, bytes: "AAAA" } as unknown as NewUafAuthenticator["publicKey"],
  signAlg: 1,
  signCounter: 0,
  authenticatorVersion: 1,
  attestation: "basic_surrogate",
};

export function storeContract(adapter: string, stores: () => Stores | Promise<Stores>): void {
  describe(`the store contract: ${adapter}`, () => {
    describe("replay", () => {
      it("an id is used once per scope; another id, or another scope, is a first use", async () => {
        const { replay } = await stores();
        const T = nowSeconds();
        const scope = replayScope.dpop(unique("jkt"));
        expect(await replay.use(scope, "a", T + 60, T)).toBe(true);
        expect(await replay.use(scope, "a", T + 60, T)).toBe(false);
        expect(await replay.use(scope, "b", T + 60, T)).toBe(true);
        expect(await replay.use(replayScope.dpop(unique("jkt")), "a", T + 60, T)).toBe(true);
      });

      it("an expired use no longer blocks", async () => {
        const { replay } = await stores();
        const T = nowSeconds();
        const scope = replayScope.dpop(unique("jkt"));
        expect(await replay.use(scope, "a", T + 30, T)).toBe(true);
        expect(await replay.use(scope, "a", T + 90, T + 30)).toBe(true);
        expect(await replay.use(scope, "a", T + 90, T + 31)).toBe(false);
      });

      it("ten concurrent uses of one DPoP jti, one CAT, one challenge: exactly one winner each", async () => {
        const { replay } = await stores();
        const T = nowSeconds();
        const jkt = unique("jkt");
        expect(
          await winners(
            RACERS,
            () => replay.use(replayScope.dpop(jkt), replayId.dpopProof("jti-1"), T + 60, T),
            Boolean,
          ),
        ).toBe(1);
        expect(
          await winners(RACERS, () => replay.use(replayScope.dpop(jkt), replayId.cat("cat-1"), T + 60, T), Boolean),
        ).toBe(1);
        expect(
          await winners(
            RACERS,
            () => replay.use(replayScope.catChallenge("client", "challenge-1"), "challenge-1", T + 60, T),
            Boolean,
          ),
        ).toBe(1);
      });
    });

    describe("cache", () => {
      it("absent, then the value put, then absent once expired (never kept less than 60 s)", async () => {
        const { cache } = await stores();
        const T = nowSeconds();
        const key = unique("cache");
        expect(await cache.get(key, T)).toBeNull();
        await cache.put(key, "value-1", 10, T);
        expect(await cache.get(key, T + 59)).toBe("value-1");
        expect(await cache.get(key, T + 60)).toBeNull();
        await cache.put(key, "value-2", 3600, T);
        expect(await cache.get(key, T + 3599)).toBe("value-2");
        expect(await cache.get(key, T + 3600)).toBeNull();
      });
    });

    describe("grants", () => {
      it("fresh ids are 64-hex and reach the record again by id; a malformed id reaches nothing", async () => {
        const { grants } = await stores();
        const T = nowSeconds();
        const ref = grants.fresh();
        expect(ref.id).toMatch(RECORD_ID);
        expect(await ref.run("create", grantRecord(ref.id, T), T)).toBe(true);
        expect(await ref.run("create", grantRecord(ref.id, T, { client_id: "other" }), T)).toBe(false);
        expect(await grants.byId(ref.id)!.run("read", null, T)).toMatchObject({
          id: ref.id,
          client_id: "contract-client",
        });
        expect(grants.byId("not-a-grant")).toBeNull();
        expect(grants.byId(ref.id.toUpperCase())).toBeNull();
      });

      it("a code is redeemed once; the second redemption revokes the grant; ten racing redemptions: one ok", async () => {
        const { grants } = await stores();
        const T = nowSeconds();
        const refresh: RefreshState = { hash: "refresh-1", expires_at: T + 3600 };
        const ref = grants.fresh();
        await ref.run("create", grantRecord(ref.id, T), T);
        expect(await ref.run("redeemCode", { codeHash: "wrong", refresh, expiresAt: T + 3600 }, T)).toBe("invalid");
        expect(await ref.run("redeemCode", { codeHash: "code-hash", refresh, expiresAt: T + 3600 }, T)).toBe("ok");
        expect(await ref.run("redeemCode", { codeHash: "code-hash", refresh, expiresAt: T + 3600 }, T)).toBe("used");
        expect((await ref.run("read", null, T))!.revoked_at).toBe(T);

        const raced = grants.fresh();
        await raced.run("create", grantRecord(raced.id, T), T);
        const outcomes = await Promise.all(
          Array.from({ length: RACERS }, () =>
            raced.run("redeemCode", { codeHash: "code-hash", refresh, expiresAt: T + 3600 }, T),
          ),
        );
        expect(outcomes.filter((outcome) => outcome === "ok")).toHaveLength(1);
      });

      it("a refresh token rotates; ten racing rotations of one token: one ok, and the grant ends revoked", async () => {
        const { grants } = await stores();
        const T = nowSeconds();
        const ref = grants.fresh();
        await ref.run(
          "create",
          grantRecord(ref.id, T, {
            code: { hash: "code-hash", expires_at: T + 60, code_challenge: "c".repeat(43), used_at: T },
            refresh: { hash: "r0", expires_at: T + 3600 },
            expires_at: T + 3600,
          }),
          T,
        );
        const outcomes = await Promise.all(
          Array.from({ length: RACERS }, (_, i) =>
            ref.run(
              "rotateRefresh",
              { presented: "r0", next: { hash: `r1-${i}`, expires_at: T + 3600 }, accessExpiresAt: T + 600 },
              T,
            ),
          ),
        );
        expect(outcomes.filter((outcome) => outcome === "ok")).toHaveLength(1);
        // The losers presented a rotated-away token: reuse, which revokes the whole grant.
        expect(outcomes.filter((outcome) => outcome === "reused").length).toBeGreaterThan(0);
        expect((await ref.run("read", null, T))!.revoked_at).toBe(T);
      });

      it("revoke once; a grant past its expiry reads as absent", async () => {
        const { grants } = await stores();
        const T = nowSeconds();
        const ref = grants.fresh();
        await ref.run("create", grantRecord(ref.id, T), T);
        expect(await ref.run("revoke", null, T)).toBe(true);
        expect(await ref.run("revoke", null, T)).toBe(false);
        expect(await ref.run("read", null, T + 59)).not.toBeNull();
        expect(await ref.run("read", null, T + 60)).toBeNull();
      });
    });

    describe("login sessions", () => {
      it("steps, one approval, one completion of ten racing ones, and expiry", async () => {
        const { loginSessions } = await stores();
        const T = nowSeconds();
        const ref = loginSessions.fresh();
        expect(await ref.run("create", sessionRecord(ref.id, T), T)).toBe(true);
        const user = { sub: "user-1", username: "alice", acr: "urn:test", amr: ["mca"], auth_time: T };
        const poll = {
          kind: "poll",
          authenticator: "approval",
          approval: { via: "link", hash: "h" },
          expires_at: T + 300,
          status: "pending",
          user,
        } as const;
        expect(await ref.run("setStep", poll, T)).toMatchObject({ step: poll });
        expect(await ref.run("approve", "other-hash", T)).toBe(false);
        expect(await ref.run("approve", "h", T)).toBe(true);
        expect((await ref.run("read", null, T))!.step).toMatchObject({ status: "done" });
        expect(await winners(RACERS, () => ref.run("complete", null, T), Boolean)).toBe(1);
        expect(await ref.run("setStep", { kind: "select" }, T)).toBeNull();
        expect(await ref.run("read", null, T + 900)).toBeNull();
      });

      it("a UAF approval settles only the poll that waits for its transaction", async () => {
        const { loginSessions } = await stores();
        const T = nowSeconds();
        const ref = loginSessions.fresh();
        await ref.run("create", sessionRecord(ref.id, T), T);
        const user = { sub: "user-1", username: "alice", acr: "urn:test", amr: ["mca"], auth_time: T };
        await ref.run(
          "setStep",
          {
            kind: "poll",
            authenticator: "mobile",
            approval: { via: "uaf", transaction: "tx-1" },
            expires_at: T + 300,
            status: "pending",
            user,
          },
          T,
        );
        expect(
          (await ref.run("settleTransaction", { transaction: "tx-2", outcome: { approved: true, amr: ["fpt"] } }, T))!
            .step,
        ).toMatchObject({ status: "pending" });
        expect(
          (await ref.run("settleTransaction", { transaction: "tx-1", outcome: { approved: true, amr: ["fpt"] } }, T))!
            .step,
        ).toMatchObject({ status: "done", user: { amr: ["fpt"] } });
      });
    });

    describe("users", () => {
      it("an account is registered once, by a case-insensitive name's record; failures lock, success clears", async () => {
        const { users } = await stores();
        const T = nowSeconds();
        const name = unique("user").toLowerCase();
        const account: UserRecord = {
          sub: "sub-1",
          username: name,
          password_hash: "pbkdf2-sha256$1$salt$hash",
          claims: {},
          created_at: T,
        };
        const ref = await users.named(name);
        expect(ref.id).toMatch(RECORD_ID);
        expect((await users.named(name)).id).toBe(ref.id);
        expect(await ref.run("account", null, T)).toBeNull();
        expect(await ref.run("register", account, T)).toBe(true);
        expect(await ref.run("register", { ...account, sub: "sub-2" }, T)).toBe(false);
        expect(await ref.run("account", null, T)).toEqual(account);
        const limits = { max: 3, lockSeconds: 600 };
        expect(await ref.run("recordFailure", limits, T)).toEqual({ locked: false, retryAfter: 0 });
        expect(await ref.run("recordFailure", limits, T)).toEqual({ locked: false, retryAfter: 0 });
        expect(await ref.run("recordFailure", limits, T)).toEqual({ locked: true, retryAfter: 600 });
        expect(await ref.run("lockState", null, T + 1)).toEqual({ locked: true, retryAfter: 599 });
        expect(await ref.run("lockState", null, T + 600)).toEqual({ locked: false, retryAfter: 0 });
        await ref.run("recordSuccess", null, T);
        expect(await ref.run("lockState", null, T)).toEqual({ locked: false, retryAfter: 0 });
        expect(await ref.run("account", null, T)).toEqual(account);
      });
    });

    describe("UAF users", () => {
      it("ensure, register under a challenge (once), authenticate (ten racing answers to one challenge: one ok), change and remove a device", async () => {
        const { uafUsers } = await stores();
        const T = nowSeconds();
        const name = unique("uaf").toLowerCase();
        const ref = await uafUsers.named(name);
        expect(await ref.run("read", null, T)).toBeNull();
        expect(await ref.run("ensure", { userId: ref.id, username: name }, T)).toMatchObject({
          userId: ref.id,
          username: name,
          authenticators: [],
        });
        expect(await uafUsers.byId(ref.id)!.run("read", null, T)).toMatchObject({ userId: ref.id });
        const registration = {
          userId: ref.id,
          username: name,
          challenge: "reg-1",
          challengeExpiresAt: T + 240,
          deviceId: "device-1",
          device: { name: "Phone" },
          authenticators: [AUTHENTICATOR],
        };
        expect(await ref.run("register", registration, T)).toMatchObject({ ok: true });
        expect(
          await ref.run(
            "register",
            { ...registration, authenticators: [{ ...AUTHENTICATOR, keyId: "key-2", aaid: "F1D0#0002" }] },
            T,
          ),
        ).toEqual({ ok: false, reason: "challenge_spent" });
        const answer = {
          challenge: "auth-1",
          challengeExpiresAt: T + 240,
          aaid: AUTHENTICATOR.aaid,
          keyId: AUTHENTICATOR.keyId,
          signCounter: 1,
          allowCounterRegression: false,
        };
        expect(
          await winners(
            RACERS,
            () => ref.run("authenticate", answer, T),
            (outcome) => outcome.ok,
          ),
        ).toBe(1);
        // A spent challenge is forgotten once it could no longer be answered anyway.
        expect(await ref.run("authenticate", { ...answer, signCounter: 2 }, T + 240)).toMatchObject({ ok: true });
        expect(await ref.run("changeDevice", { deviceId: "device-1", change: { name: "Renamed" } }, T)).toMatchObject({
          ok: true,
          value: { name: "Renamed" },
        });
        expect(await ref.run("changeDevice", { deviceId: "nope", change: { name: "x" } }, T)).toEqual({
          ok: false,
          reason: "unknown_device",
        });
        expect(await ref.run("deregister", { deviceId: "device-1" }, T)).toHaveLength(1);
        expect(await ref.run("read", null, T)).toMatchObject({ authenticators: [], devices: [] });
      });
    });

    describe("UAF transactions", () => {
      it("a dispatch token is redeemed once of ten racing redemptions, the answer claimed once of ten, then finished", async () => {
        const { uafTransactions } = await stores();
        const T = nowSeconds();
        const ref = uafTransactions.fresh();
        expect(await ref.run("create", transactionRecord(ref.id, T), T)).toBe(true);
        const redeem = { tokenHash: "token-hash", operation: "registration", answerBy: T + 240 } as const;
        expect(
          await winners(
            RACERS,
            () => ref.run("redeem", redeem, T),
            (outcome) => outcome.ok,
          ),
        ).toBe(1);
        expect(await winners(RACERS, () => ref.run("claim", null, T), Boolean)).toBe(1);
        expect(await ref.run("finish", { succeeded: true, uafStatusCode: 1200 }, T)).toMatchObject({
          status: "succeeded",
        });
        expect(await ref.run("finish", { succeeded: false, uafStatusCode: 1491 }, T)).toBeNull();
      });

      it("an unredeemed token times out; the record goes an hour after it can no longer change; discard removes it", async () => {
        const { uafTransactions } = await stores();
        const T = nowSeconds();
        const ref = uafTransactions.fresh();
        await ref.run("create", transactionRecord(ref.id, T), T);
        expect(await ref.run("read", null, T + 300)).toMatchObject({ status: "failed", token_result: "tokenTimedOut" });
        expect(
          await ref.run("redeem", { tokenHash: "token-hash", operation: "registration", answerBy: T + 600 }, T + 300),
        ).toEqual({ ok: false, reason: "token_expired" });
        expect(await ref.run("read", null, T + 300 + 3600)).toBeNull();
        const other = uafTransactions.fresh();
        await other.run("create", transactionRecord(other.id, T), T);
        await other.run("discard", null, T);
        expect(await other.run("read", null, T)).toBeNull();
      });
    });

    describe("web sessions", () => {
      it("read needs the secret's hash; the session ends at its expiry", async () => {
        const { webSessions } = await stores();
        const T = nowSeconds();
        const ref = webSessions.fresh();
        const record: WebSessionRecord = {
          id: ref.id,
          secret_hash: "secret-hash",
          sub: "sub-1",
          username: "alice",
          acr: "urn:test",
          amr: ["pwd"],
          auth_time: T,
          created_at: T,
          expires_at: T + 3600,
        };
        expect(await ref.run("create", record, T)).toBe(true);
        expect(await ref.run("read", "secret-hash", T)).toEqual(record);
        expect(await ref.run("read", "other-hash", T)).toBeNull();
        expect(await ref.run("isLive", null, T + 3599)).toBe(true);
        expect(await ref.run("isLive", null, T + 3600)).toBe(false);
        expect(await ref.run("read", "secret-hash", T + 3600)).toBeNull();
      });
    });

    describe("dynamic clients", () => {
      it("create, mark used (then the unused deadline no longer applies), update, remove; an unused client past its deadline is gone", async () => {
        const { dynamicClients } = await stores();
        const T = nowSeconds();
        const ref = dynamicClients.fresh();
        expect(await ref.run("create", clientRecord(ref.id, T), T)).toBe(true);
        expect(await ref.run("read", null, T + 3600)).toBeNull();
        await ref.run("markUsed", null, T + 10);
        expect(await ref.run("read", null, T + 7200)).toMatchObject({ used_at: T + 10 });
        expect(await ref.run("update", { ...METADATA, scope: "" }, T)).toMatchObject({ metadata: { scope: "" } });
        expect(await ref.run("remove", null, T)).toBe(true);
        expect(await ref.run("remove", null, T)).toBe(false);
        expect(await ref.run("update", METADATA, T)).toBeNull();
      });
    });

    describe("rate limits", () => {
      it("a bucket of five: twenty racing takes, exactly five allowed; it refills evenly; a peek takes nothing", async () => {
        const { rateLimits } = await stores();
        const T = nowSeconds();
        const ref = await rateLimits.named(unique("bucket"));
        const limit = { requests: 5, window: 3600 };
        expect(
          await winners(
            20,
            () => ref.run("take", limit, T),
            (decision) => decision.allowed,
          ),
        ).toBe(5);
        expect(await ref.run("peek", limit, T)).toMatchObject({ allowed: false });
        // One token back every window / requests seconds.
        expect((await ref.run("peek", limit, T + 720)).allowed).toBe(true);
        expect((await ref.run("take", limit, T + 720)).allowed).toBe(true);
        expect((await ref.run("take", limit, T + 720)).allowed).toBe(false);
      });
    });

    describe("keys", () => {
      it("every caller gets the same keys, concurrently too; they rotate when the period ends", async () => {
        const { keys } = await stores();
        const T = nowSeconds();
        const ref = await keys.named(`${KEY_MANAGER_NAME}-${crypto.randomUUID()}`);
        const policy = { rotationPeriod: 3600, retainAfterRetirement: 1200 };
        const views = await Promise.all(Array.from({ length: 5 }, () => ref.run("keys", policy, T)));
        expect(new Set(views.map((view) => view.current.kid)).size).toBe(1);
        expect(new Set(views.map((view) => view.serverSecret)).size).toBe(1);
        const rotated = await ref.run("keys", policy, T + 3600);
        expect(rotated.current.kid).not.toBe(views[0]!.current.kid);
        expect(rotated.published.map((jwk) => jwk.kid)).toContain(views[0]!.current.kid);
        expect(rotated.serverSecret).toBe(views[0]!.serverSecret);
      });
    });

    describe("App Attest keys", () => {
      it("registered, read, and advanced only upward: ten racing advances to one counter, one winner", async () => {
        const { appAttestKeys } = await stores();
        const T = nowSeconds();
        const ref = await appAttestKeys.named(appAttestKeyName(unique("jkt"), "key-id"));
        const record: AppAttestKeyRecord = {
          keyId: "key-id",
          clientId: "contract-client",
          appId: "TEAM123456.com.example",
          publicKey: { kty: "EC" },
          counter: 0,
          expiresAt: T + 3600,
        };
        expect(await ref.run("read", null, T)).toBeNull();
        await ref.run("register", record, T);
        expect(await ref.run("read", null, T)).toEqual(record);
        expect(await winners(RACERS, () => ref.run("advance", { counter: 5, expiresAt: T + 7200 }, T), Boolean)).toBe(
          1,
        );
        expect(await ref.run("advance", { counter: 5, expiresAt: T + 7200 }, T)).toBe(false);
        expect(await ref.run("read", null, T)).toMatchObject({ counter: 5, expiresAt: T + 7200 });
        expect(await ref.run("read", null, T + 7200)).toBeNull();
      });
    });
  });
}
