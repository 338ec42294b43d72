/**
 * A dead token is dead at every endpoint. A login's tokens die when their grant is revoked (RFC 7009) or
 * when its code is redeemed twice (RFC 6749 §4.1.2, which revokes it), and when they expire; a browser
 * session's cookie dies when the session ends. After each, every endpoint that accepts a token refuses
 * it (401, UAF 1401), and a UAF registration requested while it was alive is refused at the response, so
 * nothing outlives the revocation.
 *
 * The endpoints come from the router itself (`workerApp().routes`): every route must be classified in
 * TREATMENT below, so a new endpoint cannot be added without saying how it treats tokens, and is then
 * driven with the dead credentials like the others.
 */
import { env, exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { workerApp } from "../helpers/runtime";
import { configFor } from "../../src/config/load";
import { deregister, registerInApp, UafRefusedError } from "../../tools/simulator/uaf-client.mjs";
import { deleteDevice } from "../../tools/simulator/uaf-devices.mjs";
import { newPhone } from "../../tools/simulator/uaf-phone.mjs";
import { browserLogin } from "../helpers/browser";
import { proof } from "../helpers/dpop";
import { HAAPI, redeemCode } from "../helpers/flow";
import { basic, jsonOf } from "../helpers/server";
import {
  BASE,
  dpopHeaders,
  expectRefused,
  fetchWithDpop,
  getUafRequest,
  newAccount,
  post,
  readUafUser,
  registeredPhone,
  workerFetch,
  type Account,
} from "../helpers/uaf";

type Json = Record<string, any>;

/**
 * How a route treats an access token (or the browser session cookie):
 * - `token`: it accepts one, so a dead one is 401. `live` says whether a login's live DPoP access token
 *   gets past the token check there (the answer is not 401), which shows the 401 comes from its death.
 * - `other`: it takes another credential (named); a token is no substitute, so the answer is a refusal.
 * - `public`: it takes no credential; a token changes nothing (the same status as without it).
 */
type Treatment =
  | { readonly kind: "token"; readonly live: "passes" | "refused" }
  | { readonly kind: "other"; readonly credential: string }
  | { readonly kind: "public" };

const PUBLIC: Treatment = { kind: "public" };
const other = (credential: string): Treatment => ({ kind: "other", credential });
/** Accepts access tokens and passes a login's live token on (userinfo; the UAF request services). */
const USER_TOKEN: Treatment = { kind: "token", live: "passes" };
/** HAAPI tokens only (client_credentials); a login never grants the HAAPI scope, so even a live login token is refused. */
const HAAPI_TOKEN: Treatment = { kind: "token", live: "refused" };

/** Every route of the router, "METHOD path" with the trailing slash of the slash variants removed. */
const TREATMENT: Record<string, Treatment> = {
  "GET /.well-known/oauth-authorization-server": PUBLIC,
  "GET /.well-known/openid-configuration": PUBLIC,
  "GET /oauth/v2/oauth-jwks": PUBLIC,
  "POST /oauth/v2/oauth-token": other("client authentication, a code, refresh token or CAT in the form"),
  // CORS preflights: no credentials are sent with them (Fetch standard).
  "OPTIONS /oauth/v2/oauth-token": PUBLIC,
  "OPTIONS /oauth/v2/oauth-userinfo": PUBLIC,
  "OPTIONS /oauth/v2/oauth-revoke": PUBLIC,
  // The challenge (JSON) or the web driver's iframe page (HTML), and the page's script.
  "GET /oauth/v2/oauth-token/cat": PUBLIC,
  "GET /oauth/v2/oauth-token/cat/web-cat.js": PUBLIC,
  "POST /oauth/v2/oauth-token/cat": other("a client's attestation"),
  // Initial access tokens; a login's live token passes the token check and is then refused for want of scope dcr (403).
  "POST /token-service/oauth-registration": USER_TOKEN,
  "GET /token-service/oauth-registration/:client_id": other("the client's registration access token (RFC 7592)"),
  "PUT /token-service/oauth-registration/:client_id": other("the client's registration access token (RFC 7592)"),
  "DELETE /token-service/oauth-registration/:client_id": other("the client's registration access token (RFC 7592)"),
  "GET /oauth/v2/oauth-authorize": HAAPI_TOKEN,
  "GET /authn/authenticate": HAAPI_TOKEN,
  "GET /authn/authenticate/:id": HAAPI_TOKEN,
  "POST /authn/authenticate/:id": HAAPI_TOKEN,
  "GET /authn/authenticate/:id/forgot-password": HAAPI_TOKEN,
  "POST /authn/authenticate/:id/forgot-password": HAAPI_TOKEN,
  "GET /authn/register/:id": HAAPI_TOKEN,
  "POST /authn/register/:id": HAAPI_TOKEN,
  "GET /authn/authenticate/:id/poll": HAAPI_TOKEN,
  "POST /authn/authenticate/:id/uaf-response": HAAPI_TOKEN,
  "POST /authn/authenticate/:id/cancel": HAAPI_TOKEN,
  "POST /authn/authenticate/:id/continue": HAAPI_TOKEN,
  "GET /authn/approve/:session/:secret": other("the approval link's secret"),
  "GET /oauth/v2/oauth-userinfo": USER_TOKEN,
  "POST /oauth/v2/oauth-userinfo": USER_TOKEN,
  "POST /oauth/v2/oauth-revoke": other("client authentication; the token is the form's subject"),
  "POST /oauth/v2/oauth-introspect": other("client authentication; the token is the form's subject"),
  "GET /_app/uaf/1.1/facets": PUBLIC,
  "GET /nevisfido/uaf/1.1/facets": PUBLIC,
  "POST /_app/uaf/1.1/request/registration": USER_TOKEN,
  "POST /nevisfido/uaf/1.1/request/registration": USER_TOKEN,
  "POST /_app/uaf/1.1/request/deregistration": USER_TOKEN,
  "POST /nevisfido/uaf/1.1/request/deregistration": USER_TOKEN,
  "POST /_app/uaf/1.1/registration": other("a UAF response to a request whose authority is re-checked (serverData)"),
  "POST /nevisfido/uaf/1.1/registration": other(
    "a UAF response to a request whose authority is re-checked (serverData)",
  ),
  // Anyone may ask; only the registered authenticator's signature answers.
  "POST /_app/uaf/1.1/request/authentication": PUBLIC,
  "POST /auth/fidouaf": PUBLIC,
  "POST /_app/uaf/1.1/authentication": other("the authenticator's signed UAF response"),
  "POST /auth/fidouaf/authenticationresponse": other("the authenticator's signed UAF response"),
  "POST /_app/token/dispatch/:operation": other("the relying party's access key"),
  "POST /nevisfido/token/dispatch/:operation": other("the relying party's access key"),
  "POST /_app/token/redeem/:operation": other("the dispatch token in the body"),
  "POST /nevisfido/token/redeem/:operation": other("the dispatch token in the body"),
  "POST /_app/status": other("the out-of-band session id in the body"),
  "POST /nevisfido/status": other("the out-of-band session id in the body"),
  "POST /api/v1/users/enroll": other("the relying party's access key"),
  "POST /api/v1/approval": other("the relying party's access key"),
  "POST /api/v1/status": other("the relying party's access key"),
};
for (const family of ["/_app", "/nevisfido"]) {
  for (const devices of [`${family}/devices/:deviceId`, `${family}/devices/credentials/:deviceId`]) {
    for (const method of ["GET", "PATCH", "DELETE"])
      TREATMENT[`${method} ${devices}`] = other("the device's Device-Signature");
  }
}

interface Route {
  readonly method: string;
  readonly path: string;
  readonly key: string;
}

/** The router's routes with a handler of their own (`ALL` entries are middleware and 405 answers). */
function routes(): Route[] {
  const seen = new Map<string, Route>();
  for (const { method, path } of workerApp().routes) {
    if (method === "ALL") continue;
    const key = `${method} ${path.length > 1 ? path.replace(/\/$/, "") : path}`;
    seen.set(`${method} ${path}`, { method, path, key });
  }
  return [...seen.values()];
}

/** Headers carrying a credential, for a request to `url` by `method`. */
type Credential = (url: string, method: string) => Promise<Record<string, string>>;

const dpopAccessToken =
  (account: Account): Credential =>
  async (url, method) => ({
    authorization: `DPoP ${account.accessToken}`,
    dpop: await proof(account.key, { htm: method, htu: url, accessToken: account.accessToken }),
  });
const bearerIdToken =
  (account: Account): Credential =>
  async () => ({ authorization: `Bearer ${account.idToken}` });
const sessionCookie =
  (cookie: string): Credential =>
  async () => ({ cookie });
const noCredential: Credential = async () => ({});

const SAMPLE_PARAMS: Record<string, string> = {
  client_id: "0".repeat(64),
  id: "0".repeat(64),
  session: "0".repeat(64),
  secret: "x",
  operation: "registration",
  deviceId: "device-1",
};

/** A request a client of that route could send, with `credential`'s headers. */
async function send(
  route: Route,
  username: string,
  credential: Credential,
  source: string,
): Promise<{ status: number; body: Json | null }> {
  const url = `${BASE}${route.path.replace(/:(\w+)/g, (_, name: string) => SAMPLE_PARAMS[name]!)}`;
  const path = route.key.slice(route.key.indexOf(" ") + 1);
  const headers: Record<string, string> = { "cf-connecting-ip": source, ...(await credential(url, route.method)) };
  let body: string | undefined;
  if (path.startsWith("/authn/") || path === "/oauth/v2/oauth-authorize") headers.accept = HAAPI;
  else headers.accept = "application/fido+uaf, application/json";
  if (route.method !== "GET" && route.method !== "DELETE") {
    const op = /request\/registration$/.test(path)
      ? "Reg"
      : /request\/deregistration$/.test(path)
        ? "Dereg"
        : /request\/authentication$|\/auth\/fidouaf$/.test(path)
          ? "Auth"
          : null;
    if (op) {
      headers["content-type"] = "application/fido+uaf;charset=UTF-8";
      body = JSON.stringify(getUafRequest(op, { username }));
    } else if (path.startsWith("/oauth/") || path.startsWith("/authn/")) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = "";
    } else {
      headers["content-type"] = "application/json";
      body = path === "/token-service/oauth-registration" ? JSON.stringify({ software_id: "dcr-template" }) : "{}";
    }
  }
  const response = await exports.default.fetch(url, {
    method: route.method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = new TextDecoder().decode(await response.arrayBuffer()); // UTF-8, whatever the type (application/fido+uaf)
  let parsed: Json | null = null;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    // HTML or empty: only the status matters then.
  }
  return { status: response.status, body: parsed };
}

function isUafPath(path: string): boolean {
  return (
    /^\/(_app|nevisfido)\/uaf\//.test(path) ||
    path.startsWith("/auth/fidouaf") ||
    /^\/(_app|nevisfido)\/devices\//.test(path)
  );
}

/** A source address of its own per pass, so the per-source rate limits other tests count are not spent here. */
const randomSource = () => `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 250)).join(".")}`;

/** Every route refuses `credential`: 401 (UAF 1401) where tokens are accepted, a refusal or no difference elsewhere. */
async function expectDeadEverywhere(username: string, credential: Credential, label: string): Promise<void> {
  const source = randomSource();
  const failures: string[] = [];
  for (const route of routes()) {
    const treatment = TREATMENT[route.key]!;
    const answer = await send(route, username, credential, source);
    const path = route.key.slice(route.key.indexOf(" ") + 1);
    if (treatment.kind === "token") {
      if (answer.status !== 401) failures.push(`${route.method} ${route.path}: ${answer.status}, expected 401`);
      else if (isUafPath(path) && answer.body?.statusCode !== 1401)
        failures.push(`${route.method} ${route.path}: UAF ${answer.body?.statusCode}, expected 1401`);
    } else if (treatment.kind === "other") {
      if (answer.status < 400)
        failures.push(
          `${route.method} ${route.path}: ${answer.status}, expected a refusal (it takes ${treatment.credential})`,
        );
    } else {
      const without = await send(route, username, noCredential, source);
      if (answer.status !== without.status)
        failures.push(`${route.method} ${route.path}: ${answer.status} with the token, ${without.status} without`);
    }
  }
  expect(failures, label).toEqual([]);
}

/** Where a login's live token gets past the token check (the answer is not 401): shows the refusals above are the token's death. */
async function expectLiveWhereAccepted(account: Account): Promise<void> {
  const source = randomSource();
  const failures: string[] = [];
  for (const route of routes()) {
    const treatment = TREATMENT[route.key]!;
    if (treatment.kind !== "token" || treatment.live !== "passes") continue;
    const answer = await send(route, account.username, dpopAccessToken(account), source);
    if (answer.status === 401)
      failures.push(`${route.method} ${route.path}: 401 with a live token ${JSON.stringify(answer.body)}`);
  }
  expect(failures).toEqual([]);
}

async function revoke(refreshToken: string): Promise<void> {
  const response = await exports.default.fetch(`${BASE}/oauth/v2/oauth-revoke`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: basic("flow-client", "flow-secret"),
    },
    body: new URLSearchParams({ token: refreshToken }).toString(),
  });
  expect(response.status).toBe(200);
}

async function introspect(token: string): Promise<Json> {
  const response = await exports.default.fetch(`${BASE}/oauth/v2/oauth-introspect`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: basic("flow-client", "flow-secret"),
    },
    body: new URLSearchParams({ token }).toString(),
  });
  return jsonOf(response);
}

/** Redeem the account's code a second time: invalid_grant, and the grant is revoked. */
async function replayCode(account: Account): Promise<void> {
  const again = await redeemCode(account.code, {
    verifier: account.codeVerifier,
    redirectUri: "app://haapi",
    clientId: "flow-client",
    secret: "flow-secret",
    headers: { DPoP: await proof(account.key) },
  });
  expect(again.status).toBe(400);
  expect(await jsonOf(again)).toMatchObject({ error: "invalid_grant" });
}

/** The simulator's fetch, running `between` just before the registration response is posted. */
function withPause(
  fetch: (url: string, init: RequestInit) => Promise<Response>,
  between: () => Promise<void>,
): (url: string, init: RequestInit) => Promise<Response> {
  return async (url, init) => {
    if (/\/uaf\/1\.1\/registration\/?$/.test(new URL(url).pathname)) await between();
    return fetch(url, init);
  };
}

async function refusedRegistration(promise: Promise<unknown>): Promise<void> {
  const error = await promise.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(UafRefusedError);
  expect(error).toMatchObject({ httpStatus: 401, statusCode: 1401 });
}

afterEach(() => {
  vi.useRealTimers();
});

/** Run the Worker's clock (it reads Date.now() per request) at `epochSeconds`. */
function setClock(epochSeconds: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(epochSeconds * 1000);
}

describe("the router's routes are all classified", () => {
  it("every route with a handler has a treatment, and every treatment a route", () => {
    const keys = new Set(routes().map((route) => route.key));
    expect(
      [...keys].filter((key) => !(key in TREATMENT)),
      "routes without a treatment: classify them in TREATMENT",
    ).toEqual([]);
    expect(
      Object.keys(TREATMENT).filter((key) => !keys.has(key)),
      "treatments of routes that no longer exist",
    ).toEqual([]);
  });
});

describe("a revoked grant's tokens", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await newAccount(); // creates the server's signing keys, which alone can outlast a test's timeout under load
  }, 60_000);

  it("the reported sequence: revoke, then the access token gets no registration request (401/1401) and nothing is stored", async () => {
    const account = await newAccount();
    const regRequest = `${BASE}/_app/uaf/1.1/request/registration`;
    // Alive, the token is good for a registration request.
    expect(
      (
        await post(
          "/_app/uaf/1.1/request/registration",
          getUafRequest("Reg", { username: account.username }),
          await dpopHeaders(account, regRequest),
        )
      ).body,
    ).toMatchObject({ statusCode: 1200 });

    await revoke(account.refreshToken);
    const userinfo = await exports.default.fetch(`${BASE}/oauth/v2/oauth-userinfo`, {
      headers: await dpopHeaders(account, `${BASE}/oauth/v2/oauth-userinfo`, { method: "GET" }),
    });
    expect(userinfo.status).toBe(401);
    expect(await introspect(account.accessToken)).toEqual({ active: false });

    for (const family of ["_app", "nevisfido"]) {
      const path = `/${family}/uaf/1.1/request/registration`;
      expectRefused(
        await post(
          path,
          getUafRequest("Reg", { username: account.username }),
          await dpopHeaders(account, `${BASE}${path}`),
        ),
        1401,
      );
      // The fresh ID token of the same grant is dead too.
      expectRefused(
        await post(path, getUafRequest("Reg", { username: account.username }), {
          authorization: `Bearer ${account.idToken}`,
        }),
        1401,
      );
    }
    const phone = await newPhone({ platform: "android" });
    await refusedRegistration(
      registerInApp({ baseUrl: BASE, username: account.username, kind: "pin", phone, fetch: fetchWithDpop(account) }),
    );
    expect(phone.credentials).toEqual([]);
    expect((await readUafUser(account.username))?.authenticators ?? []).toEqual([]);
  });

  it("a registration requested before the revocation is refused at the response (401/1401), and nothing is stored", async () => {
    for (const credential of ["access token", "ID token"] as const) {
      const account = await newAccount();
      const phone = await newPhone({ platform: "ios" });
      const authorization = credential === "ID token" ? ({ type: "jwt", token: account.idToken } as const) : undefined;
      await refusedRegistration(
        registerInApp({
          baseUrl: BASE,
          family: "nevisfido",
          username: account.username,
          kind: "password",
          phone,
          ...(authorization ? { authorization } : {}),
          fetch: withPause(credential === "ID token" ? workerFetch : fetchWithDpop(account), () =>
            revoke(account.refreshToken),
          ),
        }),
      );
      const user = await readUafUser(account.username);
      expect(user?.authenticators ?? [], credential).toEqual([]);
      expect(user?.devices ?? [], credential).toEqual([]);
    }
  });

  it("the same registration answered while the grant lives is stored (the refusal above is the revocation's)", async () => {
    const account = await newAccount();
    const phone = await newPhone({ platform: "ios" });
    const registered = await registerInApp({
      baseUrl: BASE,
      family: "nevisfido",
      username: account.username,
      kind: "password",
      phone,
      fetch: withPause(fetchWithDpop(account), async () => {}),
    });
    expect(registered.serverResponse).toMatchObject({ statusCode: 1200 });
    expect((await readUafUser(account.username))!.authenticators).toHaveLength(1);
  });

  it("every endpoint that accepts tokens refuses the revoked grant's access token and ID token", async () => {
    const account = await newAccount();
    await expectLiveWhereAccepted(account);
    await revoke(account.refreshToken);
    await expectDeadEverywhere(account.username, dpopAccessToken(account), "DPoP access token of a revoked grant");
    await expectDeadEverywhere(account.username, bearerIdToken(account), "ID token of a revoked grant");
  });
});

describe("a replayed code's tokens (the second redemption revokes the grant)", { timeout: 120_000 }, () => {
  it("the first access token no longer deregisters (401/1401), and the authenticator stays", async () => {
    const { account, username, phone } = await registeredPhone({ kinds: ["pin"] });
    await replayCode(account);
    for (const family of ["_app", "nevisfido"] as const) {
      const path = `/${family}/uaf/1.1/request/deregistration`;
      expectRefused(
        await post(path, getUafRequest("Dereg", { username }), await dpopHeaders(account, `${BASE}${path}`)),
        1401,
      );
      expectRefused(
        await post(path, getUafRequest("Dereg", { username }), { authorization: `Bearer ${account.idToken}` }),
        1401,
      );
    }
    const removed = await deregister({ baseUrl: BASE, username, phone, fetch: fetchWithDpop(account) }).catch(
      (error: unknown) => error,
    );
    expect(removed).toMatchObject({ httpStatus: 401, statusCode: 1401 });
    expect((await readUafUser(username))!.authenticators).toHaveLength(1);
  });

  it("every endpoint that accepts tokens refuses them", async () => {
    const account = await newAccount();
    await expectLiveWhereAccepted(account);
    await replayCode(account);
    await expectDeadEverywhere(account.username, dpopAccessToken(account), "DPoP access token of a replayed code");
    await expectDeadEverywhere(account.username, bearerIdToken(account), "ID token of a replayed code");
  });
});

describe("expiry", { timeout: 120_000 }, () => {
  it("an expired access token (and a stale ID token) is refused by every endpoint that accepts tokens", async () => {
    const account = await newAccount();
    const { exp } = decodeJwt(account.accessToken) as { exp: number };
    const { iat } = decodeJwt(account.idToken) as { iat: number };
    setClock(Math.max(exp, iat + configFor(env.CONFIG).uaf.id_token_max_age) + 1);
    await expectDeadEverywhere(account.username, dpopAccessToken(account), "expired DPoP access token");
    await expectDeadEverywhere(account.username, bearerIdToken(account), "stale ID token");
  });

  it("the browser session cookie: refused everywhere once the session ends, and at the response of a registration it requested", async () => {
    const account = await newAccount();
    const ttl = configFor(env.CONFIG).login.web_session_ttl;
    const before = Math.floor(Date.now() / 1000);
    const cookie = await browserLogin(account.username, "uaf-test-password-9");
    const after = Math.ceil(Date.now() / 1000);
    // The session ends at its login time + ttl, somewhere in [before + ttl, after + ttl].
    const regRequest = "/_app/uaf/1.1/request/registration";
    expect(
      (await post(regRequest, getUafRequest("Reg", { username: account.username }), { cookie })).body,
    ).toMatchObject({ statusCode: 1200 });

    // Requested a minute before the session ends, answered (within uaf.request_ttl) after it ended.
    setClock(before + ttl - 60);
    const phone = await newPhone({ platform: "android" });
    await refusedRegistration(
      registerInApp({
        baseUrl: BASE,
        username: account.username,
        kind: "pin",
        phone,
        authorization: { type: "cookie", cookie },
        fetch: withPause(workerFetch, async () => setClock(after + ttl + 1)),
      }),
    );
    expect((await readUafUser(account.username))?.authenticators ?? []).toEqual([]);

    expectRefused(await post(regRequest, getUafRequest("Reg", { username: account.username }), { cookie }), 1401);
    await expectDeadEverywhere(account.username, sessionCookie(cookie), "the cookie of an ended browser session");
  });
});

describe("the device behind a Device-Signature", { timeout: 60_000 }, () => {
  it("a registration the device requested is refused at the response once the device is deleted", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin"] });
    const request = registerInApp({
      baseUrl: BASE,
      username,
      kind: "password",
      phone,
      authorization: { type: "device-signature" },
      fetch: withPause(workerFetch, async () => {
        await deleteDevice({ baseUrl: BASE, phone, username, fetch: workerFetch });
      }),
    });
    await refusedRegistration(request);
    const user = await readUafUser(username);
    expect(user?.authenticators ?? []).toEqual([]);
    expect(user?.devices ?? []).toEqual([]);
  });
});
