/**
 * The HAAPI login flow's refusals and its other paths, through HTTP as an app drives them: problem types,
 * session binding, the selector and polling step, registration, and what the token endpoint refuses for
 * codes and refresh tokens of the flow.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import type { SessionRecord } from "../../src/kv/login-session";
import type { LoginSession } from "../../src/kv/workers/classes";
import { RECORD } from "../../src/kv/workers/host";
import { describe, expect, it } from "vitest";
import { claimsOf, newDevice, type Device } from "../helpers/attestation";
import { proof } from "../helpers/dpop";
import { actionOf, authorizeUrl, FlowClient, haapiTokenFor, HAAPI, pkce } from "../helpers/flow";
import { freshSource, initialAccessToken, registerClient } from "../helpers/registration";
import { basic, BASE, jsonOf, tokenRequest } from "../helpers/server";

const PROBLEM = "application/problem+json";
const PROBLEMS = "https://curity.se/problems/";

type Json = Record<string, any>;

/** A problem answer: status, media type and `type` URI; the body for further checks. */
async function expectProblem(response: Response, type: string, status: number): Promise<Json> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("Content-Type")).toBe(PROBLEM);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  const body = JSON.parse(text) as Json;
  expect(body.type).toBe(`${PROBLEMS}${type}`);
  expect(typeof body.title).toBe("string");
  return body;
}

async function expectStep(response: Response, type: string): Promise<Json> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get("Content-Type")).toBe(HAAPI);
  const body = JSON.parse(text) as Json;
  expect(body.type, text).toBe(type);
  return body;
}

async function expectOAuthError(response: Response, error: string, status = 400): Promise<Json> {
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(body.error, JSON.stringify(body)).toBe(error);
  return body;
}

interface Started {
  readonly flow: FlowClient;
  readonly device: Device;
  readonly verifier: string;
  readonly response: Response;
}

const SECRETS: Record<string, string> = {
  "flow-client": "flow-secret",
  "bound-flow-client": "bound-flow-secret",
  "multi-flow-client": "multi-flow-secret",
};

async function flowFor(clientId: string, secret = SECRETS[clientId]!): Promise<{ flow: FlowClient; device: Device }> {
  const device = await newDevice();
  return { flow: new FlowClient(await haapiTokenFor(clientId, secret, device), device), device };
}

/** The authorize request (default: a valid one for the client; `undefined` in `params` drops a parameter). */
async function start(
  clientId: string,
  params: Record<string, string | undefined> = {},
  existing?: { flow: FlowClient; device: Device },
): Promise<Started> {
  const { flow, device } = existing ?? (await flowFor(clientId));
  const { verifier, challenge } = await pkce();
  const query: Record<string, string | undefined> = {
    client_id: clientId,
    response_type: "code",
    redirect_uri: "app://haapi",
    scope: "openid",
    state: "st-1",
    nonce: "n-1",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...params,
  };
  const defined = Object.fromEntries(
    Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return { flow, device, verifier, response: await flow.request(authorizeUrl(defined)) };
}

/** Log in as `user` on the html-form step: the authorization code. */
async function login(flow: FlowClient, step: Json, userName = "demo", password = "demo-password"): Promise<string> {
  const done = await expectStep(
    await flow.request(actionOf(step, "login").model.href, { form: { userName, password } }),
    "oauth-authorization-response",
  );
  return done.properties.code as string;
}

/** A whole login with flow-client (or `clientId`): the code and what redeeming it needs. */
async function codeFor(clientId = "flow-client", params: Record<string, string | undefined> = {}) {
  const started = await start(clientId, params);
  const step = await expectStep(started.response, "authentication-step");
  return { ...started, code: await login(started.flow, step) };
}

function redeem(
  code: string,
  verifier: string,
  options: {
    device?: Device | null;
    clientId?: string;
    auth?: "basic" | "public";
    redirectUri?: string;
    secret?: string;
  } = {},
) {
  return (async () => {
    const clientId = options.clientId ?? "flow-client";
    const auth = options.auth ?? "basic";
    const body: Record<string, string> = {
      grant_type: "authorization_code",
      code,
      redirect_uri: options.redirectUri ?? "app://haapi",
      code_verifier: verifier,
      ...(auth === "public" ? { client_id: clientId } : {}),
    };
    const headers: Record<string, string> = {
      ...(auth === "basic" ? { Authorization: basic(clientId, options.secret ?? SECRETS[clientId]!) } : {}),
      ...(options.device ? { DPoP: await proof(options.device) } : {}),
    };
    return tokenRequest({ body, headers });
  })();
}

async function refresh(
  refreshToken: string,
  options: { device?: Device | null; clientId?: string; scope?: string; auth?: "basic" | "public" } = {},
): Promise<Response> {
  const clientId = options.clientId ?? "flow-client";
  const auth = options.auth ?? "basic";
  return tokenRequest({
    body: {
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      ...(options.scope !== undefined ? { scope: options.scope } : {}),
      ...(auth === "public" ? { client_id: clientId } : {}),
    },
    headers: {
      ...(auth === "basic" ? { Authorization: basic(clientId, SECRETS[clientId]!) } : {}),
      ...(options.device ? { DPoP: await proof(options.device) } : {}),
    },
  });
}

async function tokensFor(clientId = "flow-client", params: Record<string, string | undefined> = {}) {
  const { code, verifier, device, flow } = await codeFor(clientId, params);
  const response = await redeem(code, verifier, { device, clientId });
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return { body: body as Json, device, flow };
}

describe("problems of the authorize request", () => {
  it("invalid-input before the redirect URI is validated: no authorization response link", async () => {
    const missing = await expectProblem(
      (await start("flow-client", { client_id: undefined })).response,
      "invalid-input",
      400,
    );
    expect(missing.invalidFields).toEqual([{ name: "client_id", reason: "missing" }]);
    expect(missing.links).toBeUndefined();

    // flow-client's HAAPI token asking for multi-flow-client
    const { flow, device } = await flowFor("flow-client");
    const other = await expectProblem(
      (await start("multi-flow-client", {}, { flow, device })).response,
      "invalid-input",
      400,
    );
    expect(other.invalidFields).toMatchObject([{ name: "client_id", reason: "invalidValue" }]);

    const unregistered = await expectProblem(
      (await start("flow-client", { redirect_uri: "app://evil" })).response,
      "invalid-input",
      400,
    );
    expect(unregistered.invalidFields).toMatchObject([{ name: "redirect_uri", reason: "invalidValue" }]);
    expect(unregistered.links).toBeUndefined();

    // A repeated parameter (RFC 6749 §3.1), whichever it is.
    const repeated = await start("flow-client");
    const url = `${authorizeUrl({ client_id: "flow-client", response_type: "code", redirect_uri: "app://haapi", code_challenge: "A".repeat(43), code_challenge_method: "S256" })}&client_id=flow-client`;
    const twice = await expectProblem(await repeated.flow.request(url), "invalid-input", 400);
    expect(twice.invalidFields).toMatchObject([{ name: "client_id", reason: "invalidValue", detail: "repeated" }]);

    const noRedirect = await expectProblem(
      (await start("flow-client", { redirect_uri: undefined })).response,
      "invalid-input",
      400,
    );
    expect(noRedirect.invalidFields).toEqual([{ name: "redirect_uri", reason: "missing" }]);
  });

  it("a refused request after the redirect URI is validated: error-authorization-response with error, state and the link", async () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [{ response_type: "token" }, "unsupported_response_type"],
      [{ response_type: undefined }, "invalid_request"],
      [{ code_challenge: undefined }, "invalid_request"],
      [{ code_challenge_method: "plain" }, "invalid_request"],
      [{ code_challenge_method: undefined }, "invalid_request"],
      [{ scope: "openid admin" }, "invalid_scope"],
      [{ scope: "openid urn:se:curity:scopes:haapi" }, "invalid_scope"],
      [{ code_challenge: "too-short" }, "invalid_request"],
      [{ dpop_jkt: "A".repeat(43) }, "invalid_request"],
    ];
    for (const [params, error] of cases) {
      const { response, flow } = await start("flow-client", { state: "keep-me", ...params });
      const body = await expectProblem(response, "error-authorization-response", 400);
      expect(body, JSON.stringify(params)).toMatchObject({ error, state: "keep-me", iss: BASE });
      expect(typeof body.error_description).toBe("string");
      expect(body.links).toHaveLength(1);
      expect(body.links[0].rel).toBe("authorization-response");
      const link = new URL(body.links[0].href as string);
      expect(link.protocol).toBe("app:");
      expect(link.host).toBe("haapi");
      expect(link.searchParams.get("error")).toBe(error);
      expect(link.searchParams.get("state")).toBe("keep-me");
      expect(link.searchParams.get("iss")).toBe(BASE);
      // No flow was started.
      expect(flow.sessionId).toBeUndefined();
    }
  });

  it("406 JSON for an Accept that is neither application/vnd.auth+json nor HTML (text/html is the browser rendering)", async () => {
    const device = await newDevice();
    const token = await haapiTokenFor("flow-client", "flow-secret", device);
    const { challenge } = await pkce();
    const url = authorizeUrl({
      client_id: "flow-client",
      response_type: "code",
      redirect_uri: "app://haapi",
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    for (const accept of [undefined, "application/json", "application/xml", "text/html;q=0, application/json"]) {
      const headers: Record<string, string> = {
        Authorization: `DPoP ${token}`,
        DPoP: await proof(device, { htm: "GET", htu: url.split("?")[0]!, accessToken: token }),
        ...(accept ? { Accept: accept } : {}),
      };
      const response = await exports.default.fetch(url, { headers });
      const body = await expectOAuthError(response, "not_acceptable", 406);
      expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
      expect(body.error_description).toContain(HAAPI);
    }
    // The same on an authenticator step.
    const step = await exports.default.fetch(`${BASE}/authn/authenticate/html-form`, {
      headers: { Accept: "application/json" },
    });
    await expectOAuthError(step, "not_acceptable", 406);
  });

  it("a wrong method on /authn paths: problem with 405 and Allow", async () => {
    const cases: [string, string, string][] = [
      ["/authn/authenticate", "POST", "GET"],
      ["/authn/authenticate/html-form", "PUT", "GET, POST"],
      ["/authn/authenticate/html-form/forgot-password", "DELETE", "GET, POST"],
      ["/authn/register/html-form", "PATCH", "GET, POST"],
      ["/authn/authenticate/approval/poll", "POST", "GET"],
      ["/authn/authenticate/approval/cancel", "GET", "POST"],
      ["/authn/authenticate/approval/continue", "GET", "POST"],
    ];
    for (const [path, method, allow] of cases) {
      const response = await exports.default.fetch(`${BASE}${path}`, { method, headers: { Accept: HAAPI } });
      await expectProblem(response, "generic-user-error", 405);
      expect(response.headers.get("Allow"), `${method} ${path}`).toBe(allow);
    }
  });
});

describe("problems of the login form", () => {
  it("invalid-input: missing fields, every one at once; a form that is not form-urlencoded", async () => {
    const { flow, response } = await start("flow-client");
    const step = await expectStep(response, "authentication-step");
    const href = actionOf(step, "login").model.href as string;
    const both = await expectProblem(await flow.request(href, { form: {} }), "invalid-input", 400);
    expect(both.invalidFields).toEqual([
      { name: "userName", reason: "missing" },
      { name: "password", reason: "missing" },
    ]);
    expect(both.messages.length).toBe(2);
    const noPassword = await expectProblem(
      await flow.request(href, { form: { userName: "demo" } }),
      "invalid-input",
      400,
    );
    expect(noPassword.invalidFields).toEqual([{ name: "password", reason: "missing" }]);
    const json = await expectProblem(
      await flow.request(href, {
        form: { userName: "demo", password: "demo-password" },
        headers: { "Content-Type": "application/json" },
      }),
      "invalid-input",
      400,
    );
    expect(json.invalidFields).toMatchObject([{ name: "Content-Type", reason: "invalidValue" }]);
    const badName = await expectProblem(
      await flow.request(href, { form: { userName: "no spaces allowed", password: "x" } }),
      "invalid-input",
      400,
    );
    expect(badName.invalidFields).toMatchObject([{ name: "userName", reason: "invalidValue" }]);
    // The flow is still usable.
    expect(await login(flow, step)).toMatch(/\./);
  });

  it("incorrect-credentials: a wrong password, an unknown user; then the right password works", async () => {
    const { flow, response } = await start("flow-client");
    const step = await expectStep(response, "authentication-step");
    const href = actionOf(step, "login").model.href as string;
    const wrong = await expectProblem(
      await flow.request(href, { form: { userName: "demo", password: "not-it" } }),
      "incorrect-credentials",
      400,
    );
    expect(wrong.messages).toMatchObject([{ classList: ["error"] }]);
    await expectProblem(
      await flow.request(href, { form: { userName: "nobody-here", password: "whatever" } }),
      "incorrect-credentials",
      400,
    );
    expect(await login(flow, step)).toBeTruthy();
  });

  it("too-many-attempts: the third wrong password locks the user, then even the right password is refused", async () => {
    const { flow, response } = await start("flow-client");
    const step = await expectStep(response, "authentication-step");
    const href = actionOf(step, "login").model.href as string;
    const attempt = (password: string) => flow.request(href, { form: { userName: "locked-demo", password } });
    await expectProblem(await attempt("wrong-1"), "incorrect-credentials", 400);
    await expectProblem(await attempt("wrong-2"), "incorrect-credentials", 400);
    const locked = await attempt("wrong-3");
    await expectProblem(locked.clone(), "too-many-attempts", 429);
    expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(0);
    const still = await attempt("locked-password");
    await expectProblem(still.clone(), "too-many-attempts", 429);
    expect(Number(still.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Another user is not affected.
    expect(await login(flow, step)).toBeTruthy();
  });

  it("too-many-attempts per source: after login.per_source.requests failures (100 in the test config) one address is refused", {
    timeout: 60_000,
  }, async () => {
    const { flow, response } = await start("flow-client");
    const step = await expectStep(response, "authentication-step");
    const href = actionOf(step, "login").model.href as string;
    const from = (address: string, userName: string, password: string) =>
      flow.request(href, { form: { userName, password }, headers: { "CF-Connecting-IP": address } });
    const address = freshSource();
    // Unknown users: no per-user lock, only the source's bucket (which refills ~1.1/s, hence the margin).
    let refused: Response | undefined;
    for (let sent = 0; sent < 150 && !refused; sent += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, index) => from(address, `nobody-${sent + index}`, "wrong")),
      );
      for (const answer of batch) {
        expect([400, 429]).toContain(answer.status);
        if (answer.status === 429 && !refused) refused = answer;
        else await answer.body?.cancel();
      }
    }
    expect(refused, "never refused").toBeDefined();
    await expectProblem(refused!.clone(), "too-many-attempts", 429);
    expect(Number(refused!.headers.get("Retry-After"))).toBeGreaterThan(0);
    // The right password from that address is refused too; from another address it works.
    await expectProblem(await from(address, "demo", "demo-password"), "too-many-attempts", 429);
    await expectStep(await from(freshSource(), "demo", "demo-password"), "oauth-authorization-response");
  });

  it("mismatch-between-session-and-access-token: no Session-Id, another flow's, another key's, a finished one; a renewed token of the same key goes on", async () => {
    const a = await start("flow-client");
    const stepA = await expectStep(a.response, "authentication-step");
    const b = await start("flow-client");
    await expectStep(b.response, "authentication-step");
    const href = actionOf(stepA, "login").model.href as string;
    const form = { userName: "demo", password: "demo-password" };

    const noSession = new FlowClient(a.flow.token, a.device);
    await expectProblem(await noSession.request(href, { form }), "mismatch-between-session-and-access-token", 400);

    const malformed = new FlowClient(a.flow.token, a.device);
    malformed.sessionId = "not-a-session";
    await expectProblem(await malformed.request(href, { form }), "mismatch-between-session-and-access-token", 400);

    // A's token with B's session.
    const crossed = new FlowClient(a.flow.token, a.device);
    crossed.sessionId = b.flow.sessionId;
    await expectProblem(await crossed.request(href, { form }), "mismatch-between-session-and-access-token", 400);

    // A's session with another HAAPI token of another key.
    const other = await flowFor("flow-client");
    other.flow.sessionId = a.flow.sessionId;
    await expectProblem(await other.flow.request(href, { form }), "mismatch-between-session-and-access-token", 400);

    // A's session with a renewed HAAPI token of the same key (a long login): the session goes on.
    const sameKey = new FlowClient(await haapiTokenFor("flow-client", "flow-secret", a.device), a.device);
    sameKey.sessionId = a.flow.sessionId;
    const renewed = await sameKey.request(`${BASE}/authn/authenticate`);
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get("Set-Session-Id")).toBe(a.flow.sessionId);

    // None of these touched A: it finishes, once.
    expect(await login(a.flow, stepA)).toBeTruthy();
    await expectProblem(await a.flow.request(href, { form }), "mismatch-between-session-and-access-token", 400);
    await expectProblem(
      await a.flow.request(`${BASE}/authn/authenticate`),
      "mismatch-between-session-and-access-token",
      400,
    );
  });

  it("an authenticator the flow does not offer: generic-user-error 404", async () => {
    const { flow, response } = await start("flow-client");
    await expectStep(response, "authentication-step");
    await expectProblem(await flow.request(`${BASE}/authn/authenticate/approval`), "generic-user-error", 404);
    await expectProblem(await flow.request(`${BASE}/authn/authenticate/nope`), "generic-user-error", 404);
  });
});

describe("selector and polling step (multi-flow-client)", () => {
  async function selector() {
    const started = await start("multi-flow-client");
    const step = await expectStep(started.response, "authentication-step");
    expect(step.metadata.viewName).toBe("views/select-authenticator/index");
    const select = actionOf(step, "authenticator-selector");
    expect(select.template).toBe("selector");
    const options = select.model.options as Json[];
    expect(options.map((option) => option.properties.authenticatorType)).toEqual(["html-form", "approval-link"]);
    expect(options.map((option) => option.model.href)).toEqual([
      `${BASE}/authn/authenticate/html-form`,
      `${BASE}/authn/authenticate/approval`,
    ]);
    return { ...started, options };
  }

  async function requestApproval(flow: FlowClient, options: Json[]): Promise<Json> {
    const first = await expectStep(await flow.request(options[1]!.model.href), "authentication-step");
    expect(first.metadata.viewName).toBe("authenticator/approval-link/authenticate/get");
    return expectStep(
      await flow.request(actionOf(first, "login").model.href, { form: { userName: "demo" } }),
      "polling-step",
    );
  }

  it("choose approval-link, poll, approve on another device, poll, continue: a code", async () => {
    const { flow, options, device, verifier } = await selector();
    const pending = await requestApproval(flow, options);
    expect(pending.properties).toMatchObject({ status: "pending" });
    expect(actionOf(pending, "poll").model).toMatchObject({
      method: "GET",
      href: `${BASE}/authn/authenticate/approval/poll`,
    });
    expect(actionOf(pending, "cancel").model).toMatchObject({ method: "POST" });
    const approval = (pending.links as Json[]).find((link) => link.rel === "approval")!;
    expect(approval.href).toMatch(new RegExp(`^${BASE}/authn/approve/[0-9a-f]{64}/`));

    const again = await expectStep(await flow.request(actionOf(pending, "poll").model.href), "polling-step");
    expect(again.properties.status).toBe("pending");
    // Continue before the approval: refused, and the flow goes on.
    await expectProblem(
      await flow.request(actionOf(pending, "poll").model.href.replace(/poll$/, "continue"), { method: "POST" }),
      "authentication-failed",
      400,
    );

    // The approving device: a plain GET, no HAAPI headers.
    const approved = await exports.default.fetch(approval.href);
    expect(approved.status).toBe(200);
    expect(await approved.json()).toEqual({ approved: true });
    // The link is single use.
    expect((await exports.default.fetch(approval.href)).status).toBe(404);

    const done = await expectStep(await flow.request(actionOf(pending, "poll").model.href), "polling-step");
    expect(done.properties.status).toBe("done");
    const resume = actionOf(done, "continue");
    const response = await expectStep(
      await flow.request(resume.model.href, { method: "POST" }),
      "oauth-authorization-response",
    );
    expect(response.properties.state).toBe("st-1");

    const tokens = await redeem(response.properties.code as string, verifier, {
      device,
      clientId: "multi-flow-client",
    });
    const body = await jsonOf(tokens);
    expect(tokens.status, JSON.stringify(body)).toBe(200);
    expect(claimsOf(body.access_token as string)).toMatchObject({
      sub: "demo",
      amr: ["mca"],
      acr: "urn:se:curity:authentication:approval-link:approval",
    });
  });

  it("cancel returns to the selector; html-form from the selector logs in", async () => {
    const { flow, options } = await selector();
    const pending = await requestApproval(flow, options);
    const back = await expectStep(
      await flow.request(actionOf(pending, "cancel").model.href, { method: "POST" }),
      "authentication-step",
    );
    actionOf(back, "authenticator-selector");
    // Nothing is pending any more.
    const poll = await expectProblem(await flow.request(actionOf(pending, "poll").model.href), "invalid-input", 400);
    expect(poll.invalidFields).toMatchObject([{ name: "step" }]);
    const form = await expectStep(await flow.request(options[0]!.model.href), "authentication-step");
    expect(actionOf(form, "cancel").model.href).toBe(`${BASE}/authn/authenticate`);
    expect(await login(flow, form)).toBeTruthy();
  });

  it("authentication-failed: an approval for an unknown user; continue without a poll", async () => {
    const { flow, options } = await selector();
    const first = await expectStep(await flow.request(options[1]!.model.href), "authentication-step");
    await expectProblem(
      await flow.request(actionOf(first, "login").model.href, { form: { userName: "nobody-here" } }),
      "authentication-failed",
      400,
    );
    await expectProblem(
      await flow.request(`${BASE}/authn/authenticate/approval/continue`, { method: "POST" }),
      "authentication-failed",
      400,
    );
    await expectProblem(await flow.request(actionOf(first, "login").model.href, { form: {} }), "invalid-input", 400);
  });

  it("an approval link that is not one: 404", async () => {
    const { flow, options } = await selector();
    const pending = await requestApproval(flow, options);
    const approval = (pending.links as Json[]).find((link) => link.rel === "approval")!.href as string;
    expect((await exports.default.fetch(approval.replace(/\/[^/]+$/, "/wrong-secret"))).status).toBe(404);
    expect((await exports.default.fetch(`${BASE}/authn/approve/not-a-session/x`)).status).toBe(404);
    // The right one still works.
    expect((await exports.default.fetch(approval)).status).toBe(200);
  });
});

describe("registration and forgotten password", () => {
  const newName = () => `user-${crypto.randomUUID().slice(0, 8)}`;

  async function registrationStep(): Promise<{ flow: FlowClient; step: Json; device: Device; verifier: string }> {
    const started = await start("flow-client", { scope: "openid profile email" });
    const login = await expectStep(started.response, "authentication-step");
    const step = await expectStep(
      await started.flow.request(actionOf(login, "user-register").model.href),
      "registration-step",
    );
    expect(step.metadata.viewName).toBe("authenticator/html-form/create-account/get");
    return { flow: started.flow, step, device: started.device, verifier: started.verifier };
  }

  it("register a new user: logged in; the account then logs in with its password; the username is then taken", async () => {
    const userName = newName();
    const { flow, step, device, verifier } = await registrationStep();
    const done = await expectStep(
      await flow.request(actionOf(step, "user-register").model.href, {
        form: { userName, password: "correct-horse-9", email: `${userName}@example.com`, name: "New User" },
      }),
      "oauth-authorization-response",
    );
    const tokens = await redeem(done.properties.code as string, verifier, { device });
    const body = await jsonOf(tokens);
    expect(tokens.status, JSON.stringify(body)).toBe(200);
    expect(claimsOf(body.id_token as string)).toMatchObject({ amr: ["pwd"], nonce: "n-1" });

    const again = await start("flow-client");
    expect(
      await login(again.flow, await expectStep(again.response, "authentication-step"), userName, "correct-horse-9"),
    ).toBeTruthy();

    const taken = await registrationStep();
    const problem = await expectProblem(
      await taken.flow.request(actionOf(taken.step, "user-register").model.href, {
        form: { userName, password: "another-pass-1" },
      }),
      "invalid-input",
      400,
    );
    expect(problem.invalidFields).toMatchObject([{ name: "userName", reason: "invalidValue" }]);
    const seeded = await expectProblem(
      await taken.flow.request(actionOf(taken.step, "user-register").model.href, {
        form: { userName: "DEMO", password: "another-pass-1" },
      }),
      "invalid-input",
      400,
    );
    expect(seeded.invalidFields).toMatchObject([{ name: "userName", reason: "invalidValue" }]);
  });

  it("a weak password, a bad email: invalid-input, nothing created", async () => {
    const userName = newName();
    const { flow, step } = await registrationStep();
    const href = actionOf(step, "user-register").model.href as string;
    const weak = await expectProblem(
      await flow.request(href, { form: { userName, password: "short" } }),
      "invalid-input",
      400,
    );
    expect(weak.invalidFields).toMatchObject([{ name: "password", reason: "invalidValue" }]);
    const same = await expectProblem(
      await flow.request(href, { form: { userName, password: userName } }),
      "invalid-input",
      400,
    );
    expect(same.invalidFields).toMatchObject([{ name: "password", reason: "invalidValue" }]);
    const email = await expectProblem(
      await flow.request(href, { form: { userName, password: "correct-horse-9", email: "not-an-email" } }),
      "invalid-input",
      400,
    );
    expect(email.invalidFields).toMatchObject([{ name: "email", reason: "invalidValue" }]);
    const missing = await expectProblem(await flow.request(href, { form: {} }), "invalid-input", 400);
    expect(missing.invalidFields).toEqual([
      { name: "userName", reason: "missing" },
      { name: "password", reason: "missing" },
    ]);
    // Nothing was created: the name can still be registered.
    await expectStep(
      await flow.request(href, { form: { userName, password: "correct-horse-9" } }),
      "oauth-authorization-response",
    );
  });

  it("forgot-password: link, form, request: continue-same-step with a message", async () => {
    const { flow, response } = await start("flow-client");
    const login = await expectStep(response, "authentication-step");
    const link = (login.links as Json[]).find((candidate) => candidate.rel === "forgot-password")!;
    const form = await expectStep(await flow.request(link.href), "authentication-step");
    expect(form.metadata.viewName).toBe("authenticator/html-form/forgot-password/get");
    const sent = await expectStep(
      await flow.request(actionOf(form, "continue").model.href, { form: { userName: "demo" } }),
      "continue-same-step",
    );
    expect(sent.messages).toMatchObject([{ classList: ["info"] }]);
    // The same answer for an account that does not exist.
    const unknown = await expectStep(
      await flow.request(actionOf(form, "continue").model.href, { form: { userName: "nobody-here" } }),
      "continue-same-step",
    );
    expect(unknown.messages).toEqual(sent.messages);
    await expectProblem(await flow.request(actionOf(form, "continue").model.href, { form: {} }), "invalid-input", 400);
  });
});

describe("codes and refresh tokens of the flow at the token endpoint", () => {
  it("a replayed code: invalid_grant, and the grant is revoked (the first refresh token fails too)", async () => {
    const { code, verifier, device } = await codeFor();
    const first = await redeem(code, verifier, { device });
    const tokens = await jsonOf(first);
    expect(first.status, JSON.stringify(tokens)).toBe(200);
    await expectOAuthError(await redeem(code, verifier, { device }), "invalid_grant");
    await expectOAuthError(await refresh(tokens.refresh_token as string, { device }), "invalid_grant");
  });

  it("refused redemptions do not burn the code: wrong verifier, none, wrong redirect_uri, another client, client_id alone", async () => {
    const { code, verifier, device } = await codeFor();
    await expectOAuthError(await redeem(code, (await pkce()).verifier, { device }), "invalid_grant");
    await expectOAuthError(await redeem(code, "short", { device }), "invalid_grant");
    await expectOAuthError(
      await tokenRequest({
        body: { grant_type: "authorization_code", code, redirect_uri: "app://haapi" },
        headers: { Authorization: basic("flow-client", "flow-secret"), DPoP: await proof(device) },
      }),
      "invalid_grant",
    );
    await expectOAuthError(
      await redeem(code, verifier, { device, redirectUri: "https://app.example/callback" }),
      "invalid_grant",
    );
    await expectOAuthError(await redeem(code, verifier, { device, clientId: "multi-flow-client" }), "invalid_grant");
    // An unbound code by client_id alone: the client must authenticate.
    await expectOAuthError(await redeem(code, verifier, { device, auth: "public" }), "invalid_client", 401);
    await expectOAuthError(await redeem(code, verifier, { device, secret: "wrong" }), "invalid_client", 401);
    await expectOAuthError(await redeem(`${code}x`, verifier, { device }), "invalid_grant");
    const ok = await redeem(code, verifier, { device });
    expect(ok.status, JSON.stringify(await ok.clone().json())).toBe(200);
  });

  it("a token-bound code (bound-flow-client): its key's proof required; then redeemable by client_id alone", async () => {
    const { code, verifier, device } = await codeFor("bound-flow-client");
    const noProof = await expectOAuthError(
      await redeem(code, verifier, { clientId: "bound-flow-client" }),
      "invalid_dpop_proof",
    );
    expect(noProof.error_description).toMatch(/bound/);
    const otherKey = await newDevice();
    await expectOAuthError(
      await redeem(code, verifier, { clientId: "bound-flow-client", device: otherKey }),
      "invalid_dpop_proof",
    );
    await expectOAuthError(
      await redeem(code, verifier, { clientId: "bound-flow-client", device: otherKey, auth: "public" }),
      "invalid_dpop_proof",
    );
    await expectOAuthError(
      await redeem(code, verifier, { clientId: "bound-flow-client", auth: "public" }),
      "invalid_dpop_proof",
    );

    const response = await redeem(code, verifier, { clientId: "bound-flow-client", device, auth: "public" });
    const body = await jsonOf(response);
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.token_type).toBe("DPoP");
    expect(claimsOf(body.access_token as string)).toMatchObject({
      client_id: "bound-flow-client",
      cnf: { jkt: device.jkt },
    });

    // Its refresh token is bound too: refreshable by client_id alone with the key, not without it.
    await expectOAuthError(
      await refresh(body.refresh_token as string, { clientId: "bound-flow-client", auth: "public" }),
      "invalid_dpop_proof",
    );
    await expectOAuthError(
      await refresh(body.refresh_token as string, { clientId: "bound-flow-client", auth: "public", device: otherKey }),
      "invalid_dpop_proof",
    );
    const refreshed = await refresh(body.refresh_token as string, {
      clientId: "bound-flow-client",
      auth: "public",
      device,
    });
    expect(refreshed.status, JSON.stringify(await refreshed.clone().json())).toBe(200);
  });

  it("dpop_jkt (RFC 9449 §10) binds flow-client's code to the HAAPI token's key", async () => {
    const existing = await flowFor("flow-client");
    const started = await start("flow-client", { dpop_jkt: existing.device.jkt }, existing);
    const code = await login(started.flow, await expectStep(started.response, "authentication-step"));
    await expectOAuthError(await redeem(code, started.verifier, {}), "invalid_dpop_proof");
    const response = await redeem(code, started.verifier, { device: existing.device, auth: "public" });
    expect(response.status, JSON.stringify(await response.clone().json())).toBe(200);
  });

  it("an unbound refresh token by client_id alone: invalid_client", async () => {
    const { code, verifier } = await codeFor();
    const response = await redeem(code, verifier, {});
    const body = await jsonOf(response);
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.token_type).toBe("Bearer");
    await expectOAuthError(await refresh(body.refresh_token as string, { auth: "public" }), "invalid_client", 401);
    expect((await refresh(body.refresh_token as string)).status).toBe(200);
  });

  it("refresh reuse: invalid_grant, and the grant is revoked (the newest refresh token fails too)", async () => {
    const { body, device } = await tokensFor();
    const first = body.refresh_token as string;
    const rotated = await refresh(first, { device });
    const second = ((await jsonOf(rotated)) as Json).refresh_token as string;
    expect(rotated.status).toBe(200);
    await expectOAuthError(await refresh(first, { device }), "invalid_grant");
    await expectOAuthError(await refresh(second, { device }), "invalid_grant");
  });

  it("a DPoP-bound refresh token: no proof or another key's proof is invalid_dpop_proof, and does not spend it", async () => {
    const { body, device } = await tokensFor();
    await expectOAuthError(await refresh(body.refresh_token as string), "invalid_dpop_proof");
    await expectOAuthError(
      await refresh(body.refresh_token as string, { device: await newDevice() }),
      "invalid_dpop_proof",
    );
    expect((await refresh(body.refresh_token as string, { device })).status).toBe(200);
  });

  it("a concurrent refresh race with one token: exactly one 200, the rest invalid_grant, then the grant is revoked whole", async () => {
    const { body, device } = await tokensFor();
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => refresh(body.refresh_token as string, { device })),
    );
    const bodies = await Promise.all(responses.map((response) => jsonOf(response)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 400)).toHaveLength(4);
    for (const [index, answer] of bodies.entries())
      if (statuses[index] === 400) expect(answer.error).toBe("invalid_grant");
    const winner = bodies[statuses.indexOf(200)]!.refresh_token as string;
    await expectOAuthError(await refresh(winner, { device }), "invalid_grant");
    await expectOAuthError(await refresh(body.refresh_token as string, { device }), "invalid_grant");
  });

  it("refresh scope: narrowing ok (ID token only with openid), widening invalid_scope without spending the token", async () => {
    const { body, device } = await tokensFor("flow-client", { scope: "openid profile" });
    expect(body.scope).toBe("openid profile");
    expect(claimsOf(body.id_token as string)).toMatchObject({ nonce: "n-1", aud: "flow-client" });
    await expectOAuthError(
      await refresh(body.refresh_token as string, { device, scope: "openid profile email" }),
      "invalid_scope",
    );
    await expectOAuthError(
      await refresh(body.refresh_token as string, { device, scope: "openid urn:se:curity:scopes:haapi" }),
      "invalid_scope",
    );
    const narrowed = await refresh(body.refresh_token as string, { device, scope: "profile" });
    const narrow = await jsonOf(narrowed);
    expect(narrowed.status, JSON.stringify(narrow)).toBe(200);
    expect(narrow.scope).toBe("profile");
    expect(narrow.id_token).toBeUndefined();
    expect(claimsOf(narrow.access_token as string).scope).toBe("profile");
    const withOpenid = await refresh(narrow.refresh_token as string, { device, scope: "openid" });
    const again = await jsonOf(withOpenid);
    expect(withOpenid.status, JSON.stringify(again)).toBe(200);
    expect(claimsOf(again.id_token as string)).toMatchObject({ sub: "demo", nonce: "n-1" });
  });

  it("the ID token only with openid; the nonce echoed; none without a nonce", async () => {
    const without = await tokensFor("flow-client", { scope: "profile email" });
    expect(without.body.scope).toBe("profile email");
    expect(without.body.id_token).toBeUndefined();
    const noNonce = await tokensFor("flow-client", { scope: "openid", nonce: undefined });
    expect(claimsOf(noNonce.body.id_token as string).nonce).toBeUndefined();
    const withNonce = await tokensFor("flow-client", { scope: "openid", nonce: "echo-me" });
    expect(claimsOf(withNonce.body.id_token as string).nonce).toBe("echo-me");
  });

  it("no scope requested: the client's scopes but the HAAPI one", async () => {
    const { body } = await tokensFor("flow-client", { scope: undefined });
    expect(body.scope).toBe("openid profile email");
  });
});

describe("the flow with a dynamically registered client (DCR fallback)", () => {
  it("register from dcr-template, HAAPI token, selector, login, tokens with cal none", async () => {
    const registered = await registerClient(await initialAccessToken("dcr-main", "dcr-main-secret"), {
      software_id: "dcr-template",
    });
    const clientId = registered.client_id as string;
    const secret = registered.client_secret as string;
    const device = await newDevice();
    const flow = new FlowClient(await haapiTokenFor(clientId, secret, device), device);
    const { verifier, challenge } = await pkce();
    let step = await expectStep(
      await flow.request(
        authorizeUrl({
          client_id: clientId,
          response_type: "code",
          redirect_uri: "app://haapi",
          scope: "openid profile",
          state: "dcr",
          nonce: "dcr-n",
          code_challenge: challenge,
          code_challenge_method: "S256",
        }),
      ),
      "authentication-step",
    );
    if (step.metadata.viewName === "views/select-authenticator/index") {
      const option = (actionOf(step, "authenticator-selector").model.options as Json[]).find(
        (candidate) => candidate.properties.authenticatorType === "html-form",
      )!;
      step = await expectStep(await flow.request(option.model.href), "authentication-step");
    }
    const code = await login(flow, step);
    const tokens = await tokenRequest({
      body: { grant_type: "authorization_code", code, redirect_uri: "app://haapi", code_verifier: verifier },
      headers: { Authorization: basic(clientId, secret), DPoP: await proof(device) },
    });
    const body = await jsonOf(tokens);
    expect(tokens.status, JSON.stringify(body)).toBe(200);
    expect(body.scope).toBe("openid profile");
    expect(claimsOf(body.access_token as string)).toMatchObject({
      sub: "demo",
      client_id: clientId,
      cal: "none",
      cnf: { jkt: device.jkt },
    });
    expect(claimsOf(body.id_token as string)).toMatchObject({
      sub: "demo",
      aud: clientId,
      cal: "none",
      nonce: "dcr-n",
    });
    // The template itself is not a client.
    const template = await tokenRequest({
      body: { grant_type: "authorization_code", code, redirect_uri: "app://haapi", code_verifier: verifier },
      headers: { Authorization: basic("dcr-template", "x") },
    });
    expect(template.status).toBe(401);
  });
});

describe("the unexpected problem", () => {
  it("a fault inside the flow (a session naming an authenticator the configuration no longer has) is an `unexpected` problem, not a JSON 500", async () => {
    const started = await start("multi-flow-client");
    await started.response.body?.cancel();
    const sessionId = started.flow.sessionId!;
    // The configuration changed under a live session: its authenticator is gone.
    await runInDurableObject(
      env.LOGIN_SESSIONS.get(env.LOGIN_SESSIONS.idFromString(sessionId)),
      (_instance: LoginSession, state) => {
        const record = state.storage.kv.get<SessionRecord>(RECORD)!;
        state.storage.kv.put(RECORD, { ...record, authenticators: ["html-form", "removed-authenticator"] });
      },
    );
    const body = await expectProblem(await started.flow.request(`${BASE}/authn/authenticate`), "unexpected", 500);
    expect(body.title).toBe("Something went wrong; start the login again");
    expect(JSON.stringify(body)).not.toContain("TypeError");
  });
});
