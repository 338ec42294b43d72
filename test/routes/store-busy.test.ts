/**
 * A store that cannot complete an operation now (StoreBusyError: Deno KV contention that outlasted its
 * retries, say) is answered 503 with Retry-After on every path: an OAuth error, a UAF ServerResponse
 * with HTTP 503. Never a 500, and never a stack.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { configFor } from "../../src/config/load";
import { StoreBusyError } from "../../src/kv/ports";
import type { RecordCollection } from "../../src/kv/record";
import type { Stores } from "../../src/kv/stores";
import { basic, BASE } from "../helpers/server";
import { testStores } from "../helpers/runtime";
import { uafBody } from "../helpers/uaf";

/** The test stores, with every record operation and every replay use refusing as a busy store does. */
function busyStores(): Stores {
  const real = testStores();
  const busy = () => Promise.reject(new StoreBusyError("too many conflicting writes", 2));
  const collection = <Ops>(inner: RecordCollection<Ops>): RecordCollection<Ops> => {
    const wrap = (ref: ReturnType<RecordCollection<Ops>["fresh"]>) => ({ id: ref.id, run: busy as never });
    return {
      fresh: () => wrap(inner.fresh()),
      byId: (id) => (inner.byId(id) ? wrap(inner.byId(id)!) : null),
      named: async (name) => wrap(await inner.named(name)),
    };
  };
  return Object.fromEntries(
    Object.entries(real).map(([name, store]) => [
      name,
      name === "replay" ? { use: busy } : name === "cache" ? store : collection(store as RecordCollection<unknown>),
    ]),
  ) as unknown as Stores;
}

const app = createApp(() => ({ config: configFor(env.CONFIG), stores: busyStores(), secrets: {}, webCatScript: "" }));

describe("a busy store", () => {
  it("at an OAuth endpoint: 503 temporarily_unavailable with Retry-After", async () => {
    const response = await app.fetch(
      new Request(`${BASE}/oauth/v2/oauth-revoke`, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Authorization: basic("flow-client", "flow-secret"),
        },
        // A refresh token's shape, naming a grant id this namespace could have minted: its grant is read.
        body: new URLSearchParams({ token: `${testStores().grants.fresh().id}.secret` }).toString(),
      }),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("2");
    expect(await response.json()).toEqual({
      error: "temporarily_unavailable",
      error_description: "the server is busy; retry shortly",
    });
  });

  it("at a UAF service: a ServerResponse with HTTP 503 and Retry-After", async () => {
    const response = await app.fetch(
      new Request(`${BASE}/_app/uaf/1.1/request/authentication`, {
        method: "POST",
        headers: { "Content-Type": "application/fido+uaf;charset=UTF-8" },
        body: JSON.stringify({ op: "Auth", context: JSON.stringify({ username: "alice" }) }),
      }),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("2");
    expect(await uafBody(response)).toMatchObject({ statusCode: 1500 });
  });
});
