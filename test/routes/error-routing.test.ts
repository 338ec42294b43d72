/**
 * One way to fail: an error reaches the `onError` of the sub-app whose handler threw it (Hono's
 * `app.route()`, as installed), is logged in one place, and is answered in that sub-app's format. The
 * renderers are chosen by the sub-app, never by the request's path.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { configFor } from "../../src/config/load";
import { OAuthError } from "../../src/errors";
import type { RecordCollection } from "../../src/kv/record";
import type { Stores } from "../../src/kv/stores";
import type { AppEnv } from "../../src/routes/context";
import { errorHandler } from "../../src/routes/error-handler";
import { HaapiProblem } from "../../src/routes/haapi/representations";
import { UafError, UAF_STATUS } from "../../src/routes/uaf/uaf-error";
import { authorizeUrl, pkce } from "../helpers/flow";
import { BASE } from "../helpers/server";
import { testStores } from "../helpers/runtime";
import testConfig from "../fixtures/test-config.json";

/** The JSON body, whatever its media type (read as bytes: workerd warns on .text() of application/fido+uaf). */
async function jsonOf(response: Response): Promise<Record<string, unknown>> {
  return JSON.parse(new TextDecoder().decode(await response.arrayBuffer())) as Record<string, unknown>;
}

describe("Hono (as installed) routes an error to the sub-app that threw it", () => {
  const answer = (who: string) => (error: Error) => new Response(`${who}: ${error.message}`, { status: 500 });

  function parentWith(child: Hono) {
    const seen: string[] = [];
    const parent = new Hono();
    parent.use(async (c, next) => {
      await next();
      seen.push(`${c.req.path} ${c.res.status}`);
    });
    parent.get("/own", () => {
      throw new Error("parent");
    });
    parent.route("/", child);
    parent.onError((error) => answer("parent")(error));
    return { parent, seen };
  }

  it("a sub-app with its own onError answers its handlers' errors; the parent's middleware still sees the answer", async () => {
    const child = new Hono();
    child.use("/child/*", async (_c, next) => next());
    child.get("/child/throws", () => {
      throw new Error("child");
    });
    child.onError((error) => answer("child")(error));
    const { parent, seen } = parentWith(child);
    expect(await (await parent.request("/child/throws")).text()).toBe("child: child");
    expect(await (await parent.request("/own")).text()).toBe("parent: parent");
    expect(seen).toEqual(["/child/throws 500", "/own 500"]);
  });

  it("a sub-app without one leaves its errors to the parent; a nested sub-app's errors go to the nearest onError", async () => {
    const plain = new Hono().get("/plain", () => {
      throw new Error("plain");
    });
    expect(await (await parentWith(plain).parent.request("/plain")).text()).toBe("parent: plain");

    const grandchild = new Hono().get("/nested", () => {
      throw new Error("grandchild");
    });
    const child = new Hono().route("/", grandchild);
    child.onError((error) => answer("child")(error));
    expect(await (await parentWith(child).parent.request("/nested")).text()).toBe("child: grandchild");
  });

  it("onError must be set before the sub-app is mounted: route() copies the handlers as they are then", async () => {
    const late = new Hono().get("/late", () => {
      throw new Error("late");
    });
    const { parent } = parentWith(late);
    late.onError((error) => answer("child")(error));
    expect(await (await parent.request("/late")).text()).toBe("parent: late");
  });
});

describe("errorHandler: the one place an error is logged and rendered", () => {
  function appThrowing(thrown: unknown) {
    const logs: Record<string, unknown>[] = [];
    const app = new Hono<AppEnv>();
    app.use(async (c, next) => {
      const log: Record<string, unknown> = {};
      c.set("log", log);
      await next();
      logs.push(log);
    });
    app.get("/", () => {
      throw thrown;
    });
    app.onError(
      errorHandler((error) =>
        error instanceof OAuthError || error instanceof UafError
          ? error
          : new OAuthError("server_error", "internal error", {
              reason: "internal_error",
              detail: { thrown: String(error) },
            }),
      ),
    );
    return { app, logs };
  }

  it("logs the family's code, the closed reason and its detail; renders the error in its own format", async () => {
    const refused = new OAuthError("invalid_request", 'parameter "scope" repeated', {
      reason: "parameter_repeated",
      detail: { parameter: "scope" },
    });
    const { app, logs } = appThrowing(refused);
    const response = await app.request("/");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid_request",
      error_description: 'parameter "scope" repeated',
    });
    expect(logs).toEqual([{ error: "invalid_request", reason: "parameter_repeated", detail: { parameter: "scope" } }]);

    const uaf = appThrowing(
      new UafError(UAF_STATUS.FORBIDDEN, "Not authorized for this user", { reason: "jwt_other_user" }),
    );
    const answered = await uaf.app.request("/");
    expect(answered.status).toBe(403);
    expect(await jsonOf(answered)).toEqual({ statusCode: 1403, description: "Not authorized for this user" });
    expect(uaf.logs).toEqual([{ uaf_status: 1403, reason: "jwt_other_user" }]);
  });

  it("a fault: 500, its stack in the log and not in the answer", async () => {
    const { app, logs } = appThrowing(new TypeError("x is undefined"));
    const response = await app.request("/");
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("x is undefined");
    expect(logs[0]).toMatchObject({ error: "server_error", reason: "internal_error" });
    expect(logs[0]!.stack).toContain("TypeError: x is undefined");
  });
});

/** The test stores, with every record operation failing as a bug would. */
function brokenStores(): Stores {
  const real = testStores();
  const broken = () => Promise.reject(new TypeError("store exploded"));
  const collection = <Ops>(inner: RecordCollection<Ops>): RecordCollection<Ops> => {
    const wrap = (ref: ReturnType<RecordCollection<Ops>["fresh"]>) => ({ id: ref.id, run: broken as never });
    return {
      fresh: () => wrap(inner.fresh()),
      byId: (id) => (inner.byId(id) ? wrap(inner.byId(id)!) : null),
      named: async (name) => wrap(await inner.named(name)),
    };
  };
  return Object.fromEntries(
    Object.entries(real).map(([name, store]) => [
      name,
      name === "replay" ? { use: broken } : name === "cache" ? store : collection(store as RecordCollection<unknown>),
    ]),
  ) as unknown as Stores;
}

/** The request log lines written at error level (5xx) while `run` runs. */
async function errorLines(run: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const spy = vi.spyOn(console, "error").mockImplementation(() => {});
  await run();
  return spy.mock.calls
    .map((args) => JSON.parse(String(args[0])) as Record<string, unknown>)
    .filter((line) => line.msg === "request");
}

describe("the app: each sub-app answers a fault in its own format, and logs it once", () => {
  afterEach(() => vi.restoreAllMocks());
  const config = configFor(JSON.stringify({ ...testConfig, logging: { level: "error" } }));
  const app = createApp(() => ({
    config,
    stores: brokenStores(),
    secrets: {},
    webCatScript: "",
  }));

  it("the login flow (a browser): the `unexpected` problem as a page, 500", async () => {
    const { challenge } = await pkce();
    let response!: Response;
    const lines = await errorLines(async () => {
      response = await app.fetch(
        new Request(
          authorizeUrl({
            client_id: "browser-client",
            response_type: "code",
            redirect_uri: "https://app.example/cb",
            code_challenge: challenge,
            code_challenge_method: "S256",
          }),
          { headers: { Accept: "text/html" } },
        ),
      );
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      status: 500,
      problem: "unexpected",
      reason: "internal_error",
      detail: { thrown: "TypeError: store exploded" },
    });
    expect(lines[0]!.stack).toContain("store exploded");
    expect(response.status).toBe(500);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain('data-problem="unexpected"');
    expect(page).not.toContain("store exploded");
  });

  it("the login flow (a HAAPI app without its token): the token guard's OAuth error, as itself", async () => {
    const response = await app.fetch(
      new Request(`${BASE}/authn/authenticate`, { headers: { Accept: "application/vnd.auth+json" } }),
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_token" });
  });

  it("a UAF service: a ServerResponse with 1500, not a stack", async () => {
    let response!: Response;
    const lines = await errorLines(async () => {
      response = await app.fetch(
        new Request(`${BASE}/_app/uaf/1.1/request/authentication`, {
          method: "POST",
          headers: { "Content-Type": "application/fido+uaf;charset=UTF-8" },
          body: JSON.stringify({ op: "Auth", context: JSON.stringify({ username: "alice" }) }),
        }),
      );
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: 500, uaf_status: 1500, reason: "internal_error" });
    expect(response.status).toBe(500);
    expect(await jsonOf(response)).toEqual({ statusCode: 1500, description: "Internal server error" });
  });

  it("an OAuth endpoint: server_error", async () => {
    let response!: Response;
    const lines = await errorLines(async () => {
      response = await app.fetch(
        new Request(`${BASE}/oauth/v2/oauth-revoke`, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Authorization: `Basic ${btoa("flow-client:flow-secret")}`,
          },
          body: new URLSearchParams({ token: `${testStores().grants.fresh().id}.secret` }).toString(),
        }),
      );
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status: 500, error: "server_error", reason: "internal_error" });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "server_error", error_description: "internal error" });
  });

  it("a UAF backend service (the Authentication Cloud API): OAuth JSON, as before the split", async () => {
    const response = await app.fetch(
      new Request(`${BASE}/api/v1/status`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      }),
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_token" });
  });
});

describe("a busy store in the login flow", () => {
  it("is a 503 problem with Retry-After, as the flow answers everything", async () => {
    const { StoreBusyError } = await import("../../src/kv/ports");
    const busy = testStores();
    const stores = {
      ...busy,
      loginSessions: {
        fresh: () => ({
          id: busy.loginSessions.fresh().id,
          run: () => Promise.reject(new StoreBusyError("contention", 3)),
        }),
        byId: () => null,
        named: () => Promise.reject(new StoreBusyError("contention", 3)),
      },
    } as unknown as Stores;
    const app = createApp(() => ({ config: configFor(env.CONFIG), stores, secrets: {}, webCatScript: "" }));
    const { challenge } = await pkce();
    const response = await app.fetch(
      new Request(
        authorizeUrl({
          client_id: "browser-client",
          response_type: "code",
          redirect_uri: "https://app.example/cb",
          code_challenge: challenge,
          code_challenge_method: "S256",
        }),
        { headers: { Accept: "text/html" } },
      ),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("3");
    expect(await response.text()).toContain('data-problem="unexpected"');
  });
});

describe("what the flow's problems carry", () => {
  it("a HaapiProblem is an AppError with its own JSON rendering", async () => {
    const problem = new HaapiProblem(
      "too-many-attempts",
      "Too many failed attempts",
      {},
      {
        reason: "login_user_locked",
        headers: { "Retry-After": "60" },
      },
    );
    const response = problem.toResponse();
    expect(response.status).toBe(429);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    expect(response.headers.get("Retry-After")).toBe("60");
    expect(await response.json()).toEqual({
      type: "https://curity.se/problems/too-many-attempts",
      title: "Too many failed attempts",
    });
    expect(problem.logFields()).toEqual({ problem: "too-many-attempts" });
  });
});
