/**
 * End to end: `npm run login` (scripts/haapi-login.mjs), the whole HAAPI login flow as an app plays it,
 * against the server on each runtime (test/e2e/runtimes.ts) serving the bundled development
 * configuration with only the issuer changed (test/e2e/simulator-cli.ts says why). The script runs with its defaults (dev-client / dev-secret,
 * user demo / demo-password, redirect URI app://haapi, scope "openid profile email"); only `--issuer`
 * points it at the test's server.
 *
 * What is checked is what the script prints (test/e2e/haapi-login-cli.ts reads its sections): the HAAPI
 * token, the login form, the authorization response, the tokens of the code and of the refresh, decoded.
 * The script verifies every token against the JWKS, the ID token's nonce and the access tokens' cnf.jkt
 * itself and fails otherwise; it prints tokens shortened, so they cannot be verified again here.
 *
 * haapi-client has no `allow_without_attestation`: without a CAT the script is refused its HAAPI token.
 * The way such an app logs a user in is its attestation fallback, so the last case registers a dynamic
 * client with the device simulator (`--no-attestation`) and logs in with that client's credentials.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { haapiLogin, sections, type Section } from "./haapi-login-cli";
import { perRuntime, RUNTIMES, SERVER_NAME, startServer, type DevServer } from "./runtimes";
import { readDevelopmentConfig, simulate, type CliRun } from "./simulator-cli";

const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";
const LOGIN_SCOPE = "openid profile email";
const HTML_FORM_ACR = "urn:se:curity:authentication:html-form:html-form";
const PROBLEM = "https://curity.se/problems/";

/** The JSON the script prints, read field by field; every field read is also asserted on. */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const development = await readDevelopmentConfig();
const servers = perRuntime((runtime) =>
  startServer(runtime, (issuer) => ({ ...development, issuer }), { tempPrefix: "haapi-edge-e2e-login-" }),
);

describe.each(RUNTIMES)("npm run login against the bundled development configuration on %s", (runtime) => {
  let server: DevServer;

  beforeAll(async () => {
    server = await servers.get(runtime);
  });

  /** Run the script against the server with `args` on top of its defaults. */
  const login = (args: string[] = []) => haapiLogin(["--issuer", server.issuer, ...args]);

  /** Fail with everything that explains a failed run: the script's output and the server's. */
  function explain(cli: CliRun): string {
    return `haapi-login exited ${cli.code}\nstderr:\n${cli.stderr}\nstdout:\n${cli.stdout}\n${SERVER_NAME[runtime]} output:\n${server.output()}`;
  }

  /** The sections of a successful run, in the order the script prints them, keyed by step. */
  function successfulRun(cli: CliRun): {
    haapi: Section;
    authorize: Section;
    login: Section;
    code: Section;
    refresh: Section;
    done: Section;
  } {
    expect(cli.code, explain(cli)).toBe(0);
    expect(cli.stderr, explain(cli)).toBe("");
    const all = sections(cli.stdout);
    expect(all.map((s) => s.title.split(" ")[0])).toEqual(["1.", "2.", "3.", "4.", "5.", "done:"]);
    const [haapi, authorize, loginStep, code, refresh, done] = all as [
      Section,
      Section,
      Section,
      Section,
      Section,
      Section,
    ];
    return { haapi, authorize, login: loginStep, code, refresh, done };
  }

  /** Steps 1 to 3: the HAAPI token for `clientId`, the username/password form, the authorization response. Returns the DPoP key's thumbprint. */
  function expectSteps(run: ReturnType<typeof successfulRun>, clientId: string): string {
    const jkt = /^1\. HAAPI access token \(client_credentials, DPoP key ([A-Za-z0-9_-]{43})\)$/.exec(
      run.haapi.title,
    )?.[1];
    expect(jkt, run.haapi.title).toBeDefined();
    const haapi = run.haapi.value as Json;
    expect(haapi).toMatchObject({ scope: HAAPI_SCOPE, expires_in: expect.any(Number) });
    expect(haapi.claims).toMatchObject({
      iss: server.issuer,
      aud: server.issuer,
      sub: clientId,
      client_id: clientId,
      scope: HAAPI_SCOPE,
      cal: "none",
      cnf: { jkt },
    });

    expect(run.authorize.title).toMatch(
      new RegExp(
        `^2\\. GET ${server.issuer}/oauth/v2/oauth-authorize\\?\\.\\.\\. -> authentication-step \\(Session-Id \\S+\\.\\.\\.\\)$`,
      ),
    );
    const form = run.authorize.value as Json;
    expect(form).toMatchObject({
      type: "authentication-step",
      metadata: { viewName: "authenticator/html-form/authenticate/get" },
    });
    const loginAction = (form.actions as Json[]).find((action) => action.kind === "login");
    expect(loginAction?.model).toMatchObject({
      href: `${server.issuer}/authn/authenticate/html-form`,
      method: "POST",
      type: "application/x-www-form-urlencoded",
    });
    expect((loginAction!.model.fields as Json[]).map((field) => field.name)).toEqual(["userName", "password"]);

    expect(run.login.title).toBe(
      `3. POST ${server.issuer}/authn/authenticate/html-form -> oauth-authorization-response`,
    );
    const response = run.login.value as Json;
    expect(response).toMatchObject({
      type: "oauth-authorization-response",
      properties: { code: expect.any(String), state: expect.any(String), iss: server.issuer },
    });
    const redirect = (response.links as Json[]).find((link) => link.rel === "authorization-response");
    expect(redirect?.href).toMatch(/^app:\/\/haapi\?/);
    const query = new URL(redirect!.href as string).searchParams;
    expect(Object.fromEntries(query)).toEqual({
      code: response.properties.code,
      state: response.properties.state,
      iss: server.issuer,
    });
    return jkt!;
  }

  /** Steps 4 and 5: demo's tokens for `clientId`, bound to the key `jkt`; the refresh gives a new access token. */
  function expectTokens(run: ReturnType<typeof successfulRun>, clientId: string, jkt: string): void {
    expect(run.code.title).toBe("4. POST token endpoint, grant_type=authorization_code");
    const { response, decoded } = run.code.value as Json;
    expect(response).toMatchObject({ token_type: "DPoP", scope: LOGIN_SCOPE, expires_in: expect.any(Number) });
    for (const token of ["access_token", "refresh_token", "id_token"])
      expect(response[token], token).toMatch(/\.\.\.\(\d+ chars\)$/);
    const user = { sub: "demo", acr: HTML_FORM_ACR, amr: ["pwd"], auth_time: expect.any(Number) };
    expect(decoded.access_token.header).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(decoded.access_token.claims).toMatchObject({
      ...user,
      iss: server.issuer,
      aud: server.issuer,
      client_id: clientId,
      scope: LOGIN_SCOPE,
      cal: "none",
      cnf: { jkt },
    });
    expect(decoded.id_token.header).toMatchObject({ alg: "ES256", typ: "JWT" });
    expect(decoded.id_token.claims).toMatchObject({
      ...user,
      iss: server.issuer,
      aud: clientId,
      azp: clientId,
      nonce: expect.any(String),
    });
    expect(decoded.id_token.claims.auth_time).toBe(decoded.access_token.claims.auth_time);

    expect(run.refresh.title).toBe("5. POST token endpoint, grant_type=refresh_token (rotated)");
    const refreshed = run.refresh.value as Json;
    expect(refreshed.response).toMatchObject({
      token_type: "DPoP",
      scope: LOGIN_SCOPE,
      refresh_token: expect.stringMatching(/\.\.\.\(\d+ chars\)$/),
    });
    expect(refreshed.decoded.access_token.claims).toMatchObject({
      sub: "demo",
      client_id: clientId,
      scope: LOGIN_SCOPE,
      cnf: { jkt },
      gid: decoded.access_token.claims.gid,
    });
    expect(refreshed.decoded.access_token.claims.jti).not.toBe(decoded.access_token.claims.jti);

    expect(run.done.title).toBe(`done: demo logged in to ${clientId} (sub demo, cal none)`);
    expect(run.done.value).toBeUndefined();
  }

  it("with its defaults: demo logs in to dev-client, with an ID token and DPoP-bound access tokens, and refreshes once", async () => {
    const run = successfulRun(await login());
    const jkt = expectSteps(run, "dev-client");
    expectTokens(run, "dev-client", jkt);
  });

  it("a wrong password: exit 1 with the server's incorrect-credentials problem, and no code or tokens", async () => {
    const cli = await login(["--password", "not-the-password"]);
    expect(cli.code, explain(cli)).toBe(1);
    const answer = /^haapi-login: login: HTTP 400 (\{.*\})\n$/s.exec(cli.stderr)?.[1];
    expect(answer, `stderr: ${cli.stderr}`).toBeDefined();
    expect(JSON.parse(answer!)).toMatchObject({
      type: `${PROBLEM}incorrect-credentials`,
      title: "Incorrect username or password",
    });
    // It got as far as the form, and no further.
    expect(sections(cli.stdout).map((s) => s.title.split(" ")[0])).toEqual(["1.", "2."]);
  });

  it("--client haapi-client --secret Password1: exit 1, the client must attest to get a HAAPI token", async () => {
    const cli = await login(["--client", "haapi-client", "--secret", "Password1"]);
    expect(cli.code, explain(cli)).toBe(1);
    const answer = /^haapi-login: HAAPI token: HTTP 400 (\{.*\})\n$/s.exec(cli.stderr)?.[1];
    expect(answer, `stderr: ${cli.stderr}`).toBeDefined();
    expect(JSON.parse(answer!)).toMatchObject({
      error: "unauthorized_client",
      error_description: "this client must attest to obtain a HAAPI token",
    });
    expect(cli.stdout).toBe("");
  });

  it("haapi-client's attestation fallback: the dynamic client registered by the simulator logs demo in", async () => {
    const registered = await simulate(["android", "--no-attestation", "--server", server.issuer, "--json"]);
    expect(registered.code, `simulate exited ${registered.code}:\n${registered.stderr}`).toBe(0);
    const { main_client_id: main, template, registration } = JSON.parse(registered.stdout) as Json;
    expect({ main, template }).toEqual({ main: "haapi-client", template: "haapi-template-client" });
    const clientId = registration.client_id as string;

    const run = successfulRun(await login(["--client", clientId, "--secret", registration.client_secret as string]));
    const jkt = expectSteps(run, clientId);
    expectTokens(run, clientId, jkt);
  });

  it("a usage error: exit 2 with the usage text", async () => {
    const cli = await haapiLogin(["--password"]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^haapi-login: --password needs a value\nusage: node scripts\/haapi-login\.mjs /);
    expect(cli.stdout).toBe("");
  });
});
