/**
 * The login flow in a browser (`Accept: text/html`): the same state machine as the HAAPI flow, rendered as
 * HTML pages, bound to a cookie with CSRF tokens, ending in a 303 to the redirect URI. Driven as a browser
 * would (test/helpers/browser.ts): a cookie jar, forms and links found in the pages with workerd's
 * HTMLRewriter, Origin and Sec-Fetch-Site on POSTs.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionRecord } from "../../src/kv/login-session";
import type { LoginSession } from "../../src/kv/workers/classes";
import { RECORD } from "../../src/kv/workers/host";
import { loginCookie, loginCookieName, parseLoginCookie } from "../../src/routes/haapi/browser-session";
import { flowModeOf } from "../../src/routes/haapi/guard";
import { escapeHtml } from "../../src/routes/haapi/html/escape";
import { renderPage } from "../../src/routes/haapi/html/page";
import { claimsOf, newDevice } from "../helpers/attestation";
import { Browser, BROWSER_ACCEPT, formOf, linkOf, LOGIN_COOKIE, parse, type Page } from "../helpers/browser";
import { proof } from "../helpers/dpop";
import { authorizeUrl, FlowClient, haapiTokenFor, pkce, redeemCode } from "../helpers/flow";
import { BASE, jsonOf, tokenRequest } from "../helpers/server";

const REDIRECT = "https://app.example/cb";
const SECRETS: Record<string, string> = {
  "browser-client": "browser-secret",
  "browser-multi-client": "browser-multi-secret",
};

async function expectPage(response: Response, status: number): Promise<Page> {
  const page = await parse(response);
  expect(response.status, page.html).toBe(status);
  expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(response.headers.get("X-Frame-Options")).toBe("DENY");
  expect(response.headers.get("Content-Security-Policy")).toMatch(
    /^default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self' .*; frame-ancestors 'none'/,
  );
  return page;
}

/** The authorize request of a browser (`undefined` in `params` drops a parameter). */
async function authorize(
  clientId = "browser-client",
  params: Record<string, string | undefined> = {},
  browser = new Browser(),
) {
  const { verifier, challenge } = await pkce();
  const query = {
    client_id: clientId,
    response_type: "code",
    redirect_uri: REDIRECT,
    scope: "openid profile",
    state: "st-1",
    nonce: "n-1",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...params,
  };
  const defined = Object.fromEntries(
    Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return { browser, verifier, response: await browser.fetch(authorizeUrl(defined)) };
}

/** The authorization response a 303 carries. */
function redirected(response: Response): URLSearchParams {
  expect(response.status, `expected a 303, got ${response.status}`).toBe(303);
  const location = new URL(response.headers.get("Location")!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  return location.searchParams;
}

function redeem(code: string, verifier: string, clientId = "browser-client", headers: Record<string, string> = {}) {
  return redeemCode(code, { verifier, redirectUri: REDIRECT, clientId, secret: SECRETS[clientId]!, headers });
}

async function loginPage(clientId = "browser-client", params: Record<string, string | undefined> = {}) {
  const started = await authorize(clientId, params);
  return { ...started, page: await expectPage(started.response, 200) };
}

describe("logging in from a browser", () => {
  it("authorize, login page, POST, 303 with code, state and iss; the code redeemed with client auth and PKCE; the cookie cleared", async () => {
    const { browser, verifier, response, page } = await loginPage();
    const setCookie = response.headers.get("Set-Cookie")!;
    expect(setCookie).toMatch(
      /^haapi-login=[0-9a-f]{64}\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=900; HttpOnly; SameSite=Lax$/,
    );
    expect(response.headers.get("Set-Session-Id")).toBeNull();
    expect(response.headers.get("Referrer-Policy")).toBe("same-origin");
    expect(response.headers.get("Content-Security-Policy")).toContain(
      `form-action 'self' ${BASE} https://app.example;`,
    );
    expect(page.body.view).toBe("authenticator/html-form/authenticate/get");
    const login = formOf(page, "login");
    expect(login).toMatchObject({ action: `${BASE}/authn/authenticate/html-form`, method: "post" });
    expect([...login.fields].map(([name, field]) => [name, field.type])).toEqual([
      ["userName", "text"],
      ["password", "password"],
      ["csrf_token", "hidden"],
    ]);
    expect(login.fields.get("csrf_token")!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(linkOf(page, "forgot-password")).toBe(`${BASE}/authn/authenticate/html-form/forgot-password`);

    const done = await browser.submit(login, { userName: "demo", password: "demo-password" });
    const params = redirected(done);
    expect(params.get("state")).toBe("st-1");
    expect(params.get("iss")).toBe(BASE);
    // The login cookie is cleared; the browser session (haapi-session, for FIDO UAF cookie authorization) starts.
    const [cleared, session] = done.headers.getSetCookie();
    expect(cleared).toBe("haapi-login=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    expect(session).toMatch(
      /^haapi-session=[0-9a-f]{64}\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/,
    );
    expect([...browser.cookies.keys()]).toEqual(["haapi-session"]);

    const tokens = await redeem(params.get("code")!, verifier);
    const body = await jsonOf(tokens);
    expect(tokens.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ token_type: "Bearer", scope: "openid profile" });
    expect(claimsOf(body.access_token as string)).toMatchObject({
      sub: "demo",
      client_id: "browser-client",
      amr: ["pwd"],
      cal: "none",
    });
    expect(claimsOf(body.id_token as string)).toMatchObject({
      sub: "demo",
      aud: "browser-client",
      nonce: "n-1",
      acr: "urn:se:curity:authentication:html-form:html-form",
    });
    // Without the client's secret the code is not redeemable (a web client is confidential).
    const publicTry = await tokenRequest({
      body: {
        grant_type: "authorization_code",
        code: params.get("code")!,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: "browser-client",
      },
    });
    expect(publicTry.status).toBe(401);
  });

  it("selector, approval-link, polling page with meta refresh, approval on another device, continue: 303 with a code", async () => {
    const { browser, verifier, page } = await loginPage("browser-multi-client", { scope: "openid" });
    expect(page.body.view).toBe("views/select-authenticator/index");
    const options = page.links.filter((link) => link.kind === "select-authenticator").map((link) => link.href);
    expect(options).toEqual([`${BASE}/authn/authenticate/html-form`, `${BASE}/authn/authenticate/approval`]);

    const start = await expectPage(await browser.fetch(options[1]!), 200);
    expect(start.body.view).toBe("authenticator/approval-link/authenticate/get");
    const pending = await expectPage(await browser.submit(formOf(start, "login"), { userName: "demo" }), 200);
    expect(pending.body).toMatchObject({ type: "polling-step", view: "authenticator/approval-link/authenticate/wait" });
    expect(pending.refresh).toBe(`2;url=${BASE}/authn/authenticate/approval/poll`);
    expect(linkOf(pending, "poll")).toBe(`${BASE}/authn/authenticate/approval/poll`);
    expect(formOf(pending, "cancel").fields.has("csrf_token")).toBe(true);
    const approval = linkOf(pending, "approval");
    expect(approval).toMatch(new RegExp(`^${BASE}/authn/approve/[0-9a-f]{64}/`));

    const still = await expectPage(await browser.fetch(linkOf(pending, "poll")), 200);
    expect(still.html).toContain('data-status="pending"');
    expect(still.refresh).not.toBeNull();
    // Continue before the approval: the polling page again, with the problem.
    const early = await expectPage(
      await browser.fetch(`${BASE}/authn/authenticate/approval/continue`, {
        form: { csrf_token: formOf(pending, "cancel").fields.get("csrf_token")!.value! },
      }),
      400,
    );
    expect(early.body.problem).toBe("authentication-failed");

    // Another device opens the link: no cookie, a page of its own.
    const approved = await expectPage(await new Browser().fetch(approval), 200);
    expect(approved.messages.join(" ")).toContain("approved");
    expect((await expectPage(await new Browser().fetch(approval), 404)).body.problem).toBe("invalid_request");

    const done = await expectPage(await browser.fetch(linkOf(pending, "poll")), 200);
    expect(done.html).toContain('data-status="done"');
    expect(done.refresh).toBeNull();
    const params = redirected(await browser.submit(formOf(done, "continue")));
    const tokens = await redeem(params.get("code")!, verifier, "browser-multi-client");
    const body = await jsonOf(tokens);
    expect(tokens.status, JSON.stringify(body)).toBe(200);
    expect(claimsOf(body.access_token as string)).toMatchObject({ sub: "demo", amr: ["mca"] });
  });

  it("cancel on the polling page goes back to the selector; html-form from there logs in", async () => {
    const { browser, page } = await loginPage("browser-multi-client", { scope: "openid" });
    const start = await expectPage(await browser.fetch(`${BASE}/authn/authenticate/approval`), 200);
    const pending = await expectPage(await browser.submit(formOf(start, "login"), { userName: "demo" }), 200);
    const back = await expectPage(await browser.submit(formOf(pending, "cancel")), 200);
    expect(back.body.view).toBe("views/select-authenticator/index");
    const form = await expectPage(
      await browser.fetch(page.links.find((link) => link.href.endsWith("/html-form"))!.href),
      200,
    );
    expect(linkOf(form, "cancel")).toBe(`${BASE}/authn/authenticate`);
    redirected(await browser.submit(formOf(form, "login"), { userName: "demo", password: "demo-password" }));
  });
});

describe("refused submissions re-render the page they came from", () => {
  const newName = () => `web-${crypto.randomUUID().slice(0, 8)}`;

  it("a wrong password: the login page again, 400, the error, the username kept and the password not; then the right one works", async () => {
    const { browser, page } = await loginPage();
    const wrong = await expectPage(
      await browser.submit(formOf(page, "login"), { userName: "demo", password: "not-it" }),
      400,
    );
    expect(wrong.body).toMatchObject({
      problem: "incorrect-credentials",
      view: "authenticator/html-form/authenticate/get",
    });
    expect(wrong.messages).toEqual(["Incorrect username or password."]);
    const again = formOf(wrong, "login");
    expect(again.fields.get("userName")!.value).toBe("demo");
    expect(again.fields.get("password")!.value).toBeNull();
    expect(again.fields.get("csrf_token")!.value).toBe(formOf(page, "login").fields.get("csrf_token")!.value);
    redirected(await browser.submit(again, { userName: "demo", password: "demo-password" }));
  });

  it("invalid-input: every invalid field marked beside it; a hostile username comes back escaped", async () => {
    const { browser, page } = await loginPage();
    const hostile = `"><script>alert(1)</script>`;
    const invalid = await expectPage(await browser.submit(formOf(page, "login"), { userName: hostile }), 400);
    expect(invalid.body.problem).toBe("invalid-input");
    const form = formOf(invalid, "login");
    expect(form.fields.get("userName")).toMatchObject({
      invalid: true,
      value: "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
    });
    expect(form.fields.get("password")!.invalid).toBe(true);
    expect(invalid.html).toContain("This field is required");
    expect(invalid.html).not.toContain("<script>");
    expect(invalid.html).toContain("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("register (a link on the login page), then too-many-attempts for that user: the lockout page, 429 with Retry-After", async () => {
    const userName = newName();
    const { browser, page, verifier } = await loginPage();
    const register = await expectPage(await browser.fetch(linkOf(page, "user-register")), 200);
    expect(register.body).toMatchObject({
      type: "registration-step",
      view: "authenticator/html-form/create-account/get",
    });
    const create = formOf(register, "user-register");
    expect([...create.fields.keys()]).toEqual(["userName", "password", "email", "name", "csrf_token"]);
    expect(register.html).toContain('autocomplete="new-password"');
    const weak = await expectPage(await browser.submit(create, { userName, password: "short" }), 400);
    expect(weak.body).toMatchObject({ problem: "invalid-input", type: "registration-step" });
    expect(formOf(weak, "user-register").fields.get("password")!.invalid).toBe(true);
    const params = redirected(
      await browser.submit(create, { userName, password: "correct-horse-9", email: `${userName}@example.com` }),
    );
    expect((await redeem(params.get("code")!, verifier)).status).toBe(200);

    const next = await loginPage();
    const attempt = (password: string) => next.browser.submit(formOf(next.page, "login"), { userName, password });
    // login.max_failed_attempts is 3 in the test configuration.
    expect((await expectPage(await attempt("wrong-1"), 400)).body.problem).toBe("incorrect-credentials");
    await expectPage(await attempt("wrong-2"), 400);
    const locked = await expectPage(await attempt("wrong-3"), 429);
    expect(locked.body.problem).toBe("too-many-attempts");
    expect(Number(locked.response.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(locked.messages).toContain("Too many failed attempts; try again later.");
    expect((await expectPage(await attempt("correct-horse-9"), 429)).body.problem).toBe("too-many-attempts");
  });

  it("forgot-password: the link, the form, the same answer for anyone (continue-same-step)", async () => {
    const { browser, page } = await loginPage();
    const forgot = await expectPage(await browser.fetch(linkOf(page, "forgot-password")), 200);
    expect(forgot.body.view).toBe("authenticator/html-form/forgot-password/get");
    const sent = await expectPage(await browser.submit(formOf(forgot, "continue"), { userName: "demo" }), 200);
    expect(sent.body.type).toBe("continue-same-step");
    expect(sent.messages).toEqual(["If the account exists, instructions to reset the password have been sent."]);
    const missing = await expectPage(await browser.submit(formOf(forgot, "continue")), 400);
    expect(missing.body).toMatchObject({
      problem: "invalid-input",
      view: "authenticator/html-form/forgot-password/get",
    });
  });

  it("an authenticator the flow does not offer: the current step with the problem, 404", async () => {
    const { browser } = await loginPage();
    const other = await expectPage(await browser.fetch(`${BASE}/authn/authenticate/approval`), 404);
    expect(other.body).toMatchObject({
      problem: "generic-user-error",
      view: "authenticator/html-form/authenticate/get",
    });
  });

  it("a fault inside the flow is the `unexpected` page, 500, without details", async () => {
    const { browser, response } = await authorize("browser-multi-client", { scope: "openid" });
    await response.body?.cancel();
    await runInDurableObject(
      env.LOGIN_SESSIONS.get(env.LOGIN_SESSIONS.idFromString(browser.sessionId)),
      (_instance: LoginSession, state) => {
        const record = state.storage.kv.get<SessionRecord>(RECORD)!;
        state.storage.kv.put(RECORD, { ...record, authenticators: ["html-form", "removed-authenticator"] });
      },
    );
    const page = await expectPage(await browser.fetch(`${BASE}/authn/authenticate`), 500);
    expect(page.body.problem).toBe("unexpected");
    expect(page.html).not.toContain("TypeError");
  });
});

describe("CSRF and the session cookie", () => {
  it("a POST without the CSRF token, with a wrong one, another session's, cross-site, or not a form: 403 pages; nothing is spent", async () => {
    const a = await loginPage();
    const b = await loginPage();
    const login = formOf(a.page, "login");
    const credentials = { userName: "demo", password: "demo-password" };
    const refused = async (response: Response) => {
      const page = await expectPage(response, 403);
      expect(page.body.problem).toBe("generic-user-error");
      expect(page.forms).toEqual([]);
    };
    await refused(await a.browser.fetch(login.action, { form: credentials }));
    await refused(await a.browser.fetch(login.action, { form: { ...credentials, csrf_token: "A".repeat(43) } }));
    await refused(
      await a.browser.fetch(login.action, {
        form: { ...credentials, csrf_token: formOf(b.page, "login").fields.get("csrf_token")!.value! },
      }),
    );
    await refused(
      await a.browser.submit(login, credentials, {
        headers: { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" },
      }),
    );
    await refused(await a.browser.submit(login, credentials, { headers: { Origin: "https://evil.example" } }));
    await refused(await a.browser.submit(login, credentials, { headers: { "Sec-Fetch-Site": "same-site" } }));
    await refused(await a.browser.submit(login, credentials, { headers: { Origin: "null" } }));
    await refused(await a.browser.submit(login, credentials, { headers: { "Content-Type": "text/plain" } }));
    redirected(await a.browser.submit(login, credentials));
  });

  it("no cookie, a malformed one, a wrong secret, a finished flow's: the mismatch page, and no form to go on with", async () => {
    const { browser, page } = await loginPage();
    const login = formOf(page, "login");
    const credentials = { userName: "demo", password: "demo-password" };
    const mismatch = async (cookie: string | null) => {
      const stranger = new Browser();
      if (cookie !== null) stranger.cookies.set(LOGIN_COOKIE, cookie);
      const answer = await expectPage(await stranger.submit(login, credentials), 400);
      expect(answer.body.problem).toBe("mismatch-between-session-and-access-token");
      expect(answer.forms).toEqual([]);
      expect((await expectPage(await stranger.fetch(`${BASE}/authn/authenticate`), 400)).body.problem).toBe(
        "mismatch-between-session-and-access-token",
      );
    };
    await mismatch(null);
    await mismatch("not-a-cookie");
    await mismatch(`${browser.sessionId}.${"A".repeat(43)}`);
    const other = await loginPage();
    await mismatch(`${browser.sessionId}.${other.browser.cookies.get(LOGIN_COOKIE)!.split(".")[1]}`);

    const cookie = browser.cookies.get(LOGIN_COOKIE)!;
    redirected(await browser.submit(login, credentials));
    await mismatch(cookie);
  });

  it("the two bindings never mix: a HAAPI session in a browser's cookie or Session-Id, a browser session with a HAAPI token", async () => {
    const device = await newDevice();
    const flow = new FlowClient(await haapiTokenFor("flow-client", "flow-secret", device), device);
    const { challenge } = await pkce();
    const started = await flow.request(
      authorizeUrl({
        client_id: "flow-client",
        response_type: "code",
        redirect_uri: "app://haapi",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }),
    );
    expect(started.status).toBe(200);
    await started.body?.cancel();

    const intruder = new Browser();
    intruder.cookies.set(LOGIN_COOKIE, `${flow.sessionId}.${"A".repeat(43)}`);
    expect((await expectPage(await intruder.fetch(`${BASE}/authn/authenticate/html-form`), 400)).body.problem).toBe(
      "mismatch-between-session-and-access-token",
    );
    const byHeader = await expectPage(
      await new Browser().fetch(`${BASE}/authn/authenticate/html-form`, { headers: { "Session-Id": flow.sessionId! } }),
      400,
    );
    expect(byHeader.body.problem).toBe("mismatch-between-session-and-access-token");

    const { browser } = await loginPage();
    flow.sessionId = browser.sessionId;
    const haapi = await flow.request(`${BASE}/authn/authenticate/html-form`, {
      form: { userName: "demo", password: "demo-password" },
    });
    expect(haapi.status).toBe(400);
    expect(haapi.headers.get("Content-Type")).toBe("application/problem+json");
    expect(((await haapi.json()) as { type: string }).type).toBe(
      "https://curity.se/problems/mismatch-between-session-and-access-token",
    );
  });
});

describe("the authorize request from a browser", () => {
  it("before the redirect URI is validated: a 400 page, no redirect, no cookie", async () => {
    const cases: [string, Record<string, string | undefined>, string][] = [
      ["browser-client", { redirect_uri: "https://evil.example/cb" }, "redirect_uri"],
      ["browser-client", { redirect_uri: undefined }, "redirect_uri"],
      ["nobody-client", {}, "client_id"],
      // A HAAPI client's logins need its attested app: never from a browser.
      ["flow-client", { redirect_uri: "https://app.example/callback" }, "client_id"],
      ["bound-flow-client", { redirect_uri: "app://haapi" }, "client_id"],
    ];
    for (const [clientId, params, field] of cases) {
      const { response } = await authorize(clientId, params);
      const page = await expectPage(response, 400);
      expect(page.body.problem, `${clientId} ${JSON.stringify(params)}`).toBe("invalid-input");
      expect(page.html).toContain(field);
      expect(response.headers.get("Location")).toBeNull();
      expect(response.headers.get("Set-Cookie")).toBeNull();
    }
  });

  it("after it: a 303 to the redirect URI with error, error_description, state and iss", async () => {
    const cases: [Record<string, string | undefined>, string][] = [
      [{ scope: "openid admin" }, "invalid_scope"],
      [{ scope: "openid urn:se:curity:scopes:haapi" }, "invalid_scope"],
      [{ code_challenge: undefined }, "invalid_request"],
      [{ code_challenge_method: "plain" }, "invalid_request"],
      [{ response_type: "token" }, "unsupported_response_type"],
      [{ dpop_jkt: "not-a-thumbprint" }, "invalid_request"],
    ];
    for (const [params, error] of cases) {
      const { response } = await authorize("browser-client", { state: "<script>x</script>", ...params });
      const answer = redirected(response);
      expect(Object.fromEntries(answer), JSON.stringify(params)).toMatchObject({
        error,
        state: "<script>x</script>",
        iss: BASE,
      });
      expect(answer.get("error_description")).toBeTruthy();
      expect(response.headers.get("Set-Cookie")).toBeNull();
    }
  });

  it("dpop_jkt binds the code to that key (RFC 9449 §10): its proof is then required at the token endpoint", async () => {
    const device = await newDevice();
    const { browser, page, verifier } = await loginPage("browser-client", { dpop_jkt: device.jkt });
    const code = redirected(
      await browser.submit(formOf(page, "login"), { userName: "demo", password: "demo-password" }),
    ).get("code")!;
    expect((await jsonOf(await redeem(code, verifier))).error).toBe("invalid_dpop_proof");
    expect(
      (await jsonOf(await redeem(code, verifier, "browser-client", { DPoP: await proof(await newDevice()) }))).error,
    ).toBe("invalid_dpop_proof");
    const bound = await redeem(code, verifier, "browser-client", { DPoP: await proof(device) });
    const body = await jsonOf(bound);
    expect(bound.status, JSON.stringify(body)).toBe(200);
    expect(body.token_type).toBe("DPoP");
    expect(claimsOf(body.access_token as string)).toMatchObject({ cnf: { jkt: device.jkt } });
  });

  it("a hostile state never appears unescaped, and comes back exactly", async () => {
    const state = `"><script>alert(1)</script>`;
    const { browser, page, response } = await loginPage("browser-client", { state });
    expect(page.html).not.toContain("<script>");
    expect(response.headers.get("Content-Security-Policy")).not.toContain("script");
    expect(
      redirected(await browser.submit(formOf(page, "login"), { userName: "demo", password: "demo-password" })).get(
        "state",
      ),
    ).toBe(state);
  });

  it("an Accept that is neither HTML nor HAAPI: 406, on authorize and on the steps", async () => {
    for (const url of [authorizeUrl({ client_id: "browser-client" }), `${BASE}/authn/authenticate/html-form`]) {
      const response = await new Browser().fetch(url, { headers: { Accept: "application/xml" } });
      expect(response.status).toBe(406);
      const body = await jsonOf(response);
      expect(body.error).toBe("not_acceptable");
      expect(body.error_description).toContain("text/html");
    }
  });
});

describe("pure parts", () => {
  it("flowModeOf: HAAPI wins when named, HTML for browsers, neither is null, q=0 is a refusal", () => {
    expect(flowModeOf(BROWSER_ACCEPT)).toBe("browser");
    expect(flowModeOf("application/xhtml+xml")).toBe("browser");
    expect(flowModeOf("application/vnd.auth+json")).toBe("haapi");
    expect(flowModeOf("text/html, application/vnd.auth+json;q=0.5")).toBe("haapi");
    expect(flowModeOf("application/vnd.auth+json;q=0, text/html")).toBe("browser");
    expect(flowModeOf("*/*")).toBeNull();
    expect(flowModeOf("text/html;q=0")).toBeNull();
    expect(flowModeOf("")).toBeNull();
  });

  it("the cookie: __Host- and Secure on https, a plain name on http; only well-formed values are read", () => {
    expect(loginCookieName("https://idp.example")).toBe("__Host-haapi-login");
    expect(loginCookie("https://idp.example", "v", 900)).toBe(
      "__Host-haapi-login=v; Path=/; Max-Age=900; HttpOnly; SameSite=Lax; Secure",
    );
    expect(loginCookie("http://127.0.0.1:8787", "v", 0)).toBe(
      "haapi-login=v; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
    );
    const value = `${"a".repeat(64)}.${"B".repeat(43)}`;
    expect(parseLoginCookie(`other=1; __Host-haapi-login=${value}`, "https://idp.example")).toEqual({
      sessionId: "a".repeat(64),
      secret: "B".repeat(43),
    });
    expect(parseLoginCookie(`haapi-login=${value}`, "https://idp.example")).toBeNull();
    expect(parseLoginCookie(`haapi-login=${value}x`, "http://127.0.0.1:8787")).toBeNull();
    expect(parseLoginCookie(undefined, "http://127.0.0.1:8787")).toBeNull();
  });

  it("escapeHtml and renderPage: hostile text in every slot stays text", () => {
    const evil = `<img src=x onerror=alert(1)>"'&`;
    const escaped = "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;";
    expect(escapeHtml(evil)).toBe(escaped);
    const page = renderPage(
      {
        type: "authentication-step",
        metadata: { viewName: evil },
        actions: [
          {
            template: "form",
            kind: evil,
            title: evil,
            model: {
              href: `https://x/"${evil}`,
              method: "POST",
              actionTitle: evil,
              fields: [{ name: evil, type: "text", label: evil, value: evil, placeholder: evil }],
            },
          },
          {
            template: "selector",
            kind: "authenticator-selector",
            title: evil,
            model: {
              options: [
                { template: "form", kind: "select-authenticator", title: evil, model: { href: evil, method: "GET" } },
              ],
            },
          },
        ],
        links: [{ href: evil, rel: evil, title: evil }],
        messages: [{ text: evil, classList: [evil] }],
      },
      {
        csrf: evil,
        problem: {
          type: evil,
          title: evil,
          messages: [],
          invalidFields: [{ name: "other", reason: "invalidValue", detail: evil }],
        },
      },
    );
    expect(page).not.toContain("<img");
    expect(page).not.toMatch(/"[^"=<>]*'/); // no attribute broken out of its quotes
    // Every slot, escaped: title, data-view, data-problem, h1; the problem's title and field detail; a
    // message's class and text; the form's action, data-kind, label for and text, input id, name,
    // placeholder and value, the CSRF token, the button; the selector's label, option href and title;
    // the link's rel, href and title.
    expect(page.split(escaped).length - 1).toBe(24);
  });
});
