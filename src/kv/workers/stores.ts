/**
 * The Workers adapters assembled: the `Stores` of the Worker's bindings (wrangler.toml). Only the
 * Workers entry point (src/index.ts) uses this, once per bindings object: it keeps the stores in that
 * object's `Runtime`.
 */
import type { Env } from "../../env";
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
import { workersKvCache } from "./cache";
import { durableObjectCollection } from "./host";
import { durableObjectReplayStore } from "./replay-guard";

export function workersStores(env: Env): Stores {
  return {
    replay: durableObjectReplayStore(env.REPLAY_GUARD),
    appAttestKeys: durableObjectCollection(env.REPLAY_GUARD, appAttestKeyKind),
    keys: durableObjectCollection(env.KEY_MANAGER, keyManagerKind),
    dynamicClients: durableObjectCollection(env.DYNAMIC_CLIENTS, dynamicClientKind),
    rateLimits: durableObjectCollection(env.RATE_LIMITER, rateLimitKind),
    loginSessions: durableObjectCollection(env.LOGIN_SESSIONS, loginSessionKind),
    grants: durableObjectCollection(env.GRANTS, grantKind),
    users: durableObjectCollection(env.USERS, userKind),
    uafUsers: durableObjectCollection(env.UAF_USERS, uafUserKind),
    uafTransactions: durableObjectCollection(env.UAF_TRANSACTIONS, uafTransactionKind),
    webSessions: durableObjectCollection(env.WEB_SESSIONS, webSessionKind),
    cache: workersKvCache(env.CACHE),
  };
}
