/**
 * Dynamic clients on Workers (src/kv/dynamic-client.ts, hosted by the DynamicClientStore Durable Object):
 * one object per dynamic client, written whole, deleted when unused past its deadline or when its secret
 * expired. Operations run at the real clock's time (as requests pass it); records are backdated to
 * reach the past.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  deletionTime,
  type DynamicClientOperations,
  type DynamicClientRecord,
  type RegisteredMetadata,
} from "../../src/kv/dynamic-client";
import type { RecordRef } from "../../src/kv/record";
import type { DynamicClientStore } from "../../src/kv/workers/classes";
import { RECORD } from "../../src/kv/workers/host";
import { testStores } from "../helpers/runtime";

const now = () => Math.floor(Date.now() / 1000);

/** The operations as the routes call them, at the real clock's time. */
function client(ref: RecordRef<DynamicClientOperations>) {
  return {
    create: (value: DynamicClientRecord) => ref.run("create", value, now()),
    read: () => ref.run("read", null, now()),
    update: (metadata: RegisteredMetadata) => ref.run("update", metadata, now()),
    remove: () => ref.run("remove", null, now()),
    markUsed: (at: number) => ref.run("markUsed", null, at),
  };
}

/** The Durable Object behind a client_id. */
function objectOf(clientId: string): DurableObjectStub<DynamicClientStore> {
  return env.DYNAMIC_CLIENTS.get(env.DYNAMIC_CLIENTS.idFromString(clientId));
}

const METADATA: RegisteredMetadata = {
  client_name: "Dynamic client",
  redirect_uris: ["app://haapi"],
  grant_types: ["client_credentials", "authorization_code"],
  response_types: ["code"],
  scope: "urn:se:curity:scopes:haapi openid",
  token_endpoint_auth_method: "client_secret_basic",
  software_id: "haapi-template-client",
};

function record(clientId: string, overrides: Partial<DynamicClientRecord> = {}): DynamicClientRecord {
  const issuedAt = now();
  return {
    client_id: clientId,
    template_id: "haapi-template-client",
    main_client_id: "haapi-client",
    cal: "by-policy",
    issued_at: issuedAt,
    secret_expires_at: 0,
    client_secret_hash: "sha256$BjLIdOtslgCUu77CC6s0DQ$3jtATc-i7HIVcl-hYZD7Tr_SIRdUEMolgvDP8kccf0A",
    registration_access_token_hash: "sha256$BjLIdOtslgCUu77CC6s0DQ$3jtATc-i7HIVcl-hYZD7Tr_SIRdUEMolgvDP8kccf0A",
    metadata: METADATA,
    used_at: null,
    unused_deadline: issuedAt + 86_400,
    ...overrides,
  };
}

/** A new client and its record, created as the registration route does. */
async function created(overrides: Partial<DynamicClientRecord> = {}) {
  const ref = testStores().dynamicClients.fresh();
  const stub = client(ref);
  const value = record(ref.id, overrides);
  expect(await stub.create(value)).toBe(true);
  return { clientId: ref.id, stub, object: objectOf(ref.id), value };
}

/** Replace the stored record behind the object's back (to backdate it). */
function overwrite(object: DurableObjectStub<DynamicClientStore>, change: Partial<DynamicClientRecord>) {
  return runInDurableObject(object, (_instance: DynamicClientStore, state) => {
    const stored = state.storage.kv.get<DynamicClientRecord>(RECORD)!;
    state.storage.kv.put(RECORD, { ...stored, ...change });
  });
}

function storedAlarm(object: DurableObjectStub<DynamicClientStore>) {
  return runInDurableObject(object, (_instance: DynamicClientStore, state) => state.storage.getAlarm());
}

function storedRecord(object: DurableObjectStub<DynamicClientStore>) {
  return runInDurableObject(
    object,
    (_instance: DynamicClientStore, state) => state.storage.kv.get<DynamicClientRecord>(RECORD) ?? null,
  );
}

describe("DynamicClientStore", () => {
  it("create then read returns the record; the client_id is the object's id", async () => {
    const { clientId, stub, value } = await created();
    expect(clientId).toMatch(/^[0-9a-f]{64}$/);
    expect(await stub.read()).toEqual(value);
    // The same object is reached again from the client_id alone.
    expect(await client(testStores().dynamicClients.byId(clientId)!).read()).toEqual(value);
  });

  it("creating twice is refused and keeps the first record", async () => {
    const { clientId, stub, value } = await created();
    expect(await stub.create(record(clientId, { main_client_id: "someone-else" }))).toBe(false);
    expect(await stub.read()).toEqual(value);
  });

  it("an object that was never created reads null", async () => {
    const stub = client(testStores().dynamicClients.fresh());
    expect(await stub.read()).toBeNull();
    expect(await stub.update(METADATA)).toBeNull();
    expect(await stub.remove()).toBe(false);
  });

  it("create schedules the clean-up at the unused deadline", async () => {
    const { object, value } = await created();
    expect(await storedAlarm(object)).toBe(value.unused_deadline * 1000);
  });

  it("create schedules the clean-up at the secret's expiry when it comes first", async () => {
    const { stub, object } = await created({ secret_expires_at: now() + 600 });
    const alarm = await storedAlarm(object);
    const record = (await stub.read())!;
    expect(alarm).toBe(record.secret_expires_at * 1000);
  });

  it("markUsed records the first use only and moves the clean-up to the secret's expiry", async () => {
    const issued = now();
    const { stub, object } = await created({ secret_expires_at: issued + 30 * 86_400, unused_deadline: issued + 3600 });
    expect(await storedAlarm(object)).toBe((issued + 3600) * 1000);
    await stub.markUsed(issued + 5);
    expect((await stub.read())!.used_at).toBe(issued + 5);
    expect(await storedAlarm(object)).toBe((issued + 30 * 86_400) * 1000);
    await stub.markUsed(issued + 50);
    expect((await stub.read())!.used_at).toBe(issued + 5);
  });

  it("markUsed on a client whose secret never expires removes the alarm", async () => {
    const { stub, object } = await created();
    expect(await storedAlarm(object)).not.toBeNull();
    await stub.markUsed(now());
    expect(await storedAlarm(object)).toBeNull();
    expect(await stub.read()).not.toBeNull();
  });

  it("markUsed on a missing client does nothing", async () => {
    const ref = testStores().dynamicClients.fresh();
    await client(ref).markUsed(now());
    expect(await storedRecord(objectOf(ref.id))).toBeNull();
    expect(await storedAlarm(objectOf(ref.id))).toBeNull();
  });

  it("update replaces the metadata only", async () => {
    const { stub, value } = await created();
    const metadata: RegisteredMetadata = { ...METADATA, client_name: "Renamed", scope: "openid", redirect_uris: [] };
    const updated = await stub.update(metadata);
    expect(updated).toEqual({ ...value, metadata });
    expect(await stub.read()).toEqual({ ...value, metadata });
  });

  it("read returns null once the unused deadline has passed, before the alarm deletes it", async () => {
    const { stub, object } = await created();
    await overwrite(object, { unused_deadline: now() - 1 });
    expect(await stub.read()).toBeNull();
    expect(await stub.update(METADATA)).toBeNull();
    // Still stored: it was read() that refused it.
    expect(await storedRecord(object)).not.toBeNull();
  });

  it("read returns null once the secret has expired, even for a used client", async () => {
    const { stub, object } = await created({ secret_expires_at: now() + 600 });
    await stub.markUsed(now());
    expect(await stub.read()).not.toBeNull();
    await overwrite(object, { secret_expires_at: now() - 1 });
    expect(await stub.read()).toBeNull();
  });

  it("a used client past its unused deadline is still readable", async () => {
    const { stub, object } = await created();
    await stub.markUsed(now());
    await overwrite(object, { unused_deadline: now() - 3600 });
    expect(await stub.read()).not.toBeNull();
  });

  it("remove deletes the record and the alarm; update after remove returns null", async () => {
    const { clientId, stub, object } = await created();
    expect(await stub.remove()).toBe(true);
    expect(await stub.read()).toBeNull();
    expect(await stub.update(METADATA)).toBeNull();
    expect(await storedRecord(object)).toBeNull();
    expect(await storedAlarm(object)).toBeNull();
    expect(await stub.remove()).toBe(false);
    expect(await client(testStores().dynamicClients.byId(clientId)!).read()).toBeNull();
  });

  it("the alarm deletes an unused client past its deadline", async () => {
    const { object } = await created();
    await overwrite(object, { unused_deadline: now() - 1 });
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect(await storedRecord(object)).toBeNull();
    expect(await storedAlarm(object)).toBeNull();
  });

  it("the alarm deletes a used client whose secret expired", async () => {
    const { stub, object } = await created({ secret_expires_at: now() + 600 });
    await stub.markUsed(now());
    await overwrite(object, { secret_expires_at: now() - 1 });
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect(await storedRecord(object)).toBeNull();
  });

  it("the alarm keeps a used client and reschedules for the secret's expiry", async () => {
    const issued = now();
    const { stub, object } = await created({ secret_expires_at: issued + 7 * 86_400, unused_deadline: issued + 3600 });
    await stub.markUsed(issued);
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect(await stub.read()).toMatchObject({ used_at: issued });
    expect(await storedAlarm(object)).toBe((issued + 7 * 86_400) * 1000);
  });

  it("an alarm that fires early (clock skew) keeps an unused client and reschedules for its deadline", async () => {
    const { stub, object, value } = await created();
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect(await stub.read()).toEqual(value);
    expect(await storedAlarm(object)).toBe(value.unused_deadline * 1000);
  });

  it("client_ids that this namespace did not mint reach no object", () => {
    const clients = testStores().dynamicClients;
    expect(clients.byId("haapi-client")).toBeNull();
    expect(clients.byId("A".repeat(64))).toBeNull();
    expect(clients.byId("0".repeat(64))).toBeNull();
    expect(clients.byId(env.DYNAMIC_CLIENTS.idFromName("x").toString())).not.toBeNull();
  });
});

describe("deletionTime", () => {
  const base = record("id", { issued_at: 1_000, unused_deadline: 2_000 });

  it("unused, secret never expires: the unused deadline", () => {
    expect(deletionTime(base)).toBe(2_000);
  });

  it("used, secret never expires: never", () => {
    expect(deletionTime({ ...base, used_at: 1_500 })).toBe(Infinity);
  });

  it("used, secret expires: the secret's expiry, even after the unused deadline", () => {
    expect(deletionTime({ ...base, used_at: 1_500, secret_expires_at: 5_000 })).toBe(5_000);
  });

  it("unused, secret expires: whichever comes first", () => {
    expect(deletionTime({ ...base, secret_expires_at: 1_800 })).toBe(1_800);
    expect(deletionTime({ ...base, secret_expires_at: 5_000 })).toBe(2_000);
  });

  it("used at time 0 still counts as used", () => {
    expect(deletionTime({ ...base, used_at: 0 })).toBe(Infinity);
  });
});
