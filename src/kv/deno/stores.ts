/**
 * The Deno adapters assembled: the `Stores` of one Deno KV (a local SQLite file, Deno Deploy's KV, or a
 * `denokv` server over KV Connect). Only the Deno entry point (src/deno.ts) and the Deno tests use this.
 */
import { dynamicClientKind } from "../dynamic-client";
import { grantKind } from "../grant";
import { keyManagerKind } from "../key-manager";
import { loginSessionKind } from "../login-session";
import { rateLimitKind } from "../rate-limiter";
import { appAttestKeyKind } from "../replay";
import type { Stores } from "../stores";
import { uafTransactionKind } from "../uaf-transaction";
import { uafUserKind } from "../uaf-user";
import { userKind } from "../user-store";
import { webSessionKind } from "../web-session";
import { denoCacheStore } from "./cache-store";
import { denoRecordCollection } from "./host";
import type { DenoKv } from "./kv";
import { denoReplayStore } from "./replay-store";

export function denoKvStores(kv: DenoKv): Stores {
  return {
    replay: denoReplayStore(kv),
    appAttestKeys: denoRecordCollection(kv, appAttestKeyKind),
    keys: denoRecordCollection(kv, keyManagerKind),
    dynamicClients: denoRecordCollection(kv, dynamicClientKind),
    rateLimits: denoRecordCollection(kv, rateLimitKind),
    loginSessions: denoRecordCollection(kv, loginSessionKind),
    grants: denoRecordCollection(kv, grantKind),
    users: denoRecordCollection(kv, userKind),
    uafUsers: denoRecordCollection(kv, uafUserKind),
    uafTransactions: denoRecordCollection(kv, uafTransactionKind),
    webSessions: denoRecordCollection(kv, webSessionKind),
    cache: denoCacheStore(kv),
  };
}
