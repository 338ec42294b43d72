/**
 * The example SPA (examples/spa, served by scripts/serve-spa.mjs) in a real Chromium, against
 * `wrangler dev` serving the development configuration whose `web-spa` client allows the SPA's
 * origin http://localhost:<port> (a free port) and its redirect URI <origin>/callback.
 *
 * The SPA speaks the web driver's iframe protocol (docs/web-apps.md) with the page the
 * server serves at <token endpoint>/cat: HAAPI goes through that iframe, which holds the key and the
 * HAAPI token; the SPA redeems the code itself as a public client (CORS, PKCE, no secret) and calls
 * userinfo. A second copy of the SPA on another port is an origin the client does not allow.
 *
 * What is checked is what the browser did: the SPA's state and result in its DOM, the messages its
 * driver exchanged with the iframe (window.__spa.events), and every HTTP exchange of the page and of
 * the iframe as Chromium reports them.
 */
import { decodeProtectedHeader } from "jose";
import type { Browser, BrowserContext, Frame, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSpaServer, type SpaServer } from "../../scripts/serve-spa.mjs";
import { readDevelopmentConfig } from "../e2e/simulator-cli";
import type { Json } from "../e2e/uaf-cloud-api";
import { type DevServer, startWranglerDev } from "../e2e/wrangler-dev";
import { launchChromium, skipBrowserTests } from "./chromium";
import { recordExchanges, type Exchange, type ExchangeRecord } from "./exchanges";
import { recordPage, type PageRecord } from "./page-record";
import { CLIENT_ID, webSpaConfig } from "./web-spa-config";

const HAAPI_MEDIA_TYPE = "application/vnd.auth+json";

/** A message the SPA's driver exchanged with the iframe (examples/spa/haapi-fetch.js DriverEvent). */
interface DriverEvent {
  readonly direction: "out" | "in";
  readonly type: string;
  readonly traceId?: number;
  readonly data?: unknown;
}

/** What examples/spa/app.js puts on window. */
type SpaWindow = Window & {
  __spa: {
    events: DriverEvent[];
    haapiFetch: ((input: string, init?: RequestInit) => Promise<Response>) & { init(): Promise<void> };
  };
};

interface Opened {
  readonly page: Page;
  readonly record: PageRecord;
  readonly exchanges: ExchangeRecord;
}

describe.skipIf(skipBrowserTests())(
  "the example SPA in Chromium: HAAPI through the server's iframe, against wrangler dev",
  () => {
    let server: DevServer;
    let spa: SpaServer;
    let stranger: SpaServer;
    let browser: Browser;
    let context: BrowserContext | undefined;

    beforeAll(async () => {
      spa = await startSpaServer({ port: 0 });
      stranger = await startSpaServer({ port: 0 });
      const development = await readDevelopmentConfig();
      server = await startWranglerDev((issuer) => webSpaConfig(development, issuer, spa.origin), {
        tempPrefix: "haapi-edge-browser-spa-",
      });
      browser = await launchChromium();
    });
    afterEach(async () => {
      await context?.close();
      context = undefined;
    });
    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      await spa?.close();
      await stranger?.close();
    });

    const tokenEndpoint = () => `${server.issuer}/oauth/v2/oauth-token`;
    const iframeUrl = () => `${tokenEndpoint()}/cat?client_id=${CLIENT_ID}`;

    /** Open the SPA served on `origin`, pointed at the server; `timeout`: seconds per wait of its driver. */
    async function openSpa(
      origin: string,
      options: { timeout?: number; pause?: boolean; in?: Browser; clock?: boolean } = {},
    ): Promise<Opened> {
      context = await (options.in ?? browser).newContext();
      // A clock the test can move forward, in the page and in the iframe alike (it runs on as usual until then).
      if (options.clock) await context.clock.install();
      const page = await context.newPage();
      const record = recordPage(page);
      const exchanges = recordExchanges(page);
      const query = new URLSearchParams({
        issuer: server.issuer,
        client_id: CLIENT_ID,
        timeout: String(options.timeout ?? 20),
        ...(options.pause ? { pause: "1" } : {}),
      });
      const response = await page.goto(`${origin}/?${query}`);
      expect(response?.status()).toBe(200);
      await page.waitForFunction(() => document.body.dataset.state === "idle");
      return { page, record, exchanges };
    }

    /** Everything that explains a failure: the SPA's log, what the page said, what the server logged. */
    async function explain({ page, record }: Opened): Promise<string> {
      const log = await page
        .locator("#log")
        .textContent()
        .catch(() => "(no log)");
      return `SPA log:\n${log}\npage:\n${record.text()}\nwrangler dev output (end):\n${server.output().slice(-6_000)}`;
    }

    /** Wait until the SPA has finished (done or error); returns the final state. */
    async function finished(page: Page): Promise<string> {
      await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state ?? ""), undefined, {
        timeout: 60_000,
      });
      return (await page.locator("body").getAttribute("data-state"))!;
    }

    const events = (page: Page) => page.evaluate(() => (window as unknown as SpaWindow).__spa.events);

    /** Wait until the driver has received `ready` again, after the first `since` events. */
    async function readyAgain(page: Page, since: number): Promise<DriverEvent[]> {
      await page.waitForFunction(
        (mark) =>
          (window as unknown as SpaWindow).__spa.events
            .slice(mark)
            .some((event) => event.direction === "in" && event.type === "ready"),
        since,
        { timeout: 30_000 },
      );
      return (await events(page)).slice(since);
    }

    async function result(page: Page): Promise<Json> {
      return JSON.parse((await page.locator("#result").textContent()) ?? "null") as Json;
    }

    /** The server's iframe in the page. */
    function iframeOf(page: Page): Frame {
      const frame = page.frames().find((candidate) => candidate.url().startsWith(iframeUrl()));
      if (!frame)
        throw new Error(
          `no frame at ${iframeUrl()}; frames: ${page
            .frames()
            .map((candidate) => candidate.url())
            .join(", ")}`,
        );
      return frame;
    }

    /** Every api-request the driver sent got its api-response, and nothing was refused. */
    function expectAnswered(all: readonly DriverEvent[]): void {
      const sent = all
        .filter((event) => event.direction === "out" && event.type === "api-request")
        .map((event) => event.traceId);
      const answered = all
        .filter((event) => event.direction === "in" && event.type === "api-response")
        .map((event) => event.traceId);
      expect(sent.length).toBeGreaterThan(0);
      expect(answered).toEqual(sent);
      expect(all.filter((event) => event.type === "error")).toEqual([]);
    }

    /**
     * The iframe's authorize request and login POST: every POST (a first one may be answered
     * use_dpop_nonce and sent again) carried the Session-Id the authorize request was given, and the
     * last one was answered `status`.
     */
    function expectSessionIdSentBack(
      list: readonly Exchange[],
      status = 200,
    ): { authorize: Exchange; login: Exchange } {
      const authorize = list.find(
        (exchange) =>
          exchange.from === "frame" &&
          exchange.url.startsWith(`${server.issuer}/oauth/v2/oauth-authorize?`) &&
          exchange.responseHeaders["set-session-id"] !== undefined,
      );
      const logins = list.filter(
        (exchange) =>
          exchange.from === "frame" &&
          exchange.method === "POST" &&
          exchange.url === `${server.issuer}/authn/authenticate/html-form`,
      );
      expect(authorize?.responseHeaders["set-session-id"]).toMatch(/^[0-9a-f]{64}$/);
      expect(logins.length).toBeGreaterThan(0);
      for (const login of logins) {
        expect(login.requestHeaders["session-id"]).toBe(authorize!.responseHeaders["set-session-id"]);
        expect(login.requestHeaders.accept).toBe(HAAPI_MEDIA_TYPE);
      }
      const login = logins.at(-1)!;
      expect(login.status).toBe(status);
      return { authorize: authorize!, login };
    }

    /** The public key that signed the DPoP proof of an exchange (its JWK coordinates). */
    function dpopKeyOf(exchange: Exchange): string {
      const proof = exchange.requestHeaders.dpop;
      if (!proof) throw new Error(`no DPoP proof on ${exchange.method} ${exchange.url}`);
      const jwk = decodeProtectedHeader(proof).jwk;
      return `${jwk?.crv} ${jwk?.x} ${jwk?.y}`;
    }

    /** Start the SPA's login, stopping at the login form (after the authorize request went through the iframe). */
    async function stopAtLoginForm(opened: Opened): Promise<number> {
      const { page } = opened;
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForFunction(() => ["login-form", "error"].includes(document.body.dataset.state ?? ""), undefined, {
        timeout: 60_000,
      });
      expect(await page.locator("body").getAttribute("data-state"), await explain(opened)).toBe("login-form");
      return (await events(page)).length;
    }

    /** Reload the iframe's document, as when it is lost: whatever its script held in memory is gone. */
    async function reloadIframe(opened: Opened, since: number): Promise<void> {
      await iframeOf(opened.page).evaluate(() => void setTimeout(() => window.location.reload(), 0));
      const after = await readyAgain(opened.page, since);
      expect(after, await explain(opened)).toEqual([
        { direction: "in", type: "loaded" },
        { direction: "out", type: "setup", traceId: expect.any(Number) },
        { direction: "in", type: "ready", traceId: after[1]?.traceId },
      ]);
    }

    /** The SPA's final result: demo's userinfo, from a Bearer token of web-spa. */
    async function expectLoggedIn(opened: Opened): Promise<void> {
      expect(await finished(opened.page), await explain(opened)).toBe("done");
      const shown = await result(opened.page);
      expect(shown.userinfo).toMatchObject({ sub: "demo", name: "Demo User" });
      expect(shown.token).toMatchObject({ token_type: "Bearer", scope: expect.stringContaining("openid") });
      expect(shown.id_token_claims).toMatchObject({ sub: "demo", aud: CLIENT_ID, iss: server.issuer });
    }

    it("on its allowed origin: initialises the iframe, logs demo in through it, redeems the code itself (CORS, PKCE, no secret) and shows the userinfo", async () => {
      const opened = await openSpa(spa.origin);
      const { page, exchanges } = opened;
      await page.getByRole("button", { name: "Log in" }).click();
      await expectLoggedIn(opened);
      await exchanges.settled();

      // The protocol: loaded, setup answered by ready with its traceId, every api-request answered.
      const all = await events(page);
      expect(all.slice(0, 3)).toEqual([
        { direction: "in", type: "loaded" },
        { direction: "out", type: "setup", traceId: 1 },
        { direction: "in", type: "ready", traceId: 1 },
      ]);
      expectAnswered(all);

      // The iframe's page may be framed by this origin only.
      const iframePage = exchanges.list.find((exchange) => exchange.from === "frame" && exchange.url === iframeUrl());
      expect(iframePage?.status, await explain(opened)).toBe(200);
      expect(iframePage?.responseHeaders["content-type"]).toMatch(/^text\/html/);
      expect(iframePage?.responseHeaders["content-security-policy"]).toMatch(
        new RegExp(`frame-ancestors ${spa.origin}(;|$)`),
      );
      expect(iframePage?.responseHeaders["x-frame-options"]).toBeUndefined();

      // The HAAPI flow went through the iframe, with its DPoP-bound HAAPI token; the page never made one of those calls.
      const fromFrame = exchanges.list.filter(
        (exchange) =>
          exchange.from === "frame" && /\/(oauth\/v2\/oauth-authorize|authn\/)/.test(new URL(exchange.url).pathname),
      );
      expect(fromFrame.length).toBeGreaterThanOrEqual(2);
      for (const exchange of fromFrame) {
        expect(exchange.requestHeaders.authorization, exchange.url).toMatch(/^DPoP /);
        expect(exchange.requestHeaders.dpop, exchange.url).toBeDefined();
      }
      expectSessionIdSentBack(exchanges.list);
      const haapiToken = fromFrame[0]!.requestHeaders.authorization!.slice("DPoP ".length);
      expect(await page.content()).not.toContain(haapiToken);
      expect(JSON.stringify(all)).not.toContain(haapiToken);

      // The page itself called the issuer twice: the token endpoint as a public client, then userinfo; both answered with CORS for its origin.
      const fromPage = exchanges.list.filter(
        (exchange) => exchange.from === "page" && exchange.url.startsWith(server.issuer),
      );
      expect(fromPage.map((exchange) => `${exchange.method} ${new URL(exchange.url).pathname}`)).toEqual([
        "POST /oauth/v2/oauth-token",
        "GET /oauth/v2/oauth-userinfo",
      ]);
      const [token, userinfo] = fromPage as [Exchange, Exchange];
      const form = new URLSearchParams(token.requestBody ?? "");
      expect([...form.keys()].sort()).toEqual(["client_id", "code", "code_verifier", "grant_type", "redirect_uri"]);
      expect(Object.fromEntries(form)).toMatchObject({
        grant_type: "authorization_code",
        client_id: CLIENT_ID,
        redirect_uri: `${spa.origin}/callback`,
      });
      expect(token.requestHeaders.authorization).toBeUndefined();
      expect(token.requestHeaders.origin).toBe(spa.origin);
      expect(token.status).toBe(200);
      expect(token.responseHeaders["access-control-allow-origin"]).toBe(spa.origin);
      expect(userinfo.requestHeaders.authorization).toMatch(/^Bearer /);
      expect(userinfo.status).toBe(200);
      expect(userinfo.responseHeaders["access-control-allow-origin"]).toBe(spa.origin);
    });

    it("on an origin the client does not allow: the browser refuses to frame the iframe's page, and the driver's initialisation times out", async () => {
      const opened = await openSpa(stranger.origin, { timeout: 3 });
      const { page, exchanges } = opened;
      await page.getByRole("button", { name: "Log in" }).click();
      expect(await finished(page), await explain(opened)).toBe("error");
      expect((await result(page)).error).toMatchObject({ name: "InitializationError", code: "ERR_LOADED_TIMEOUT" });
      // Not a word from the iframe: not even `loaded`.
      expect((await events(page)).filter((event) => event.direction === "in")).toEqual([]);

      // The server did answer the page, with a frame-ancestors policy that names the allowed origin only:
      // the refusal is the browser's.
      await exchanges.settled();
      const iframePage = exchanges.list.find((exchange) => exchange.url === iframeUrl());
      expect(iframePage?.status, await explain(opened)).toBe(200);
      const policy = iframePage!.responseHeaders["content-security-policy"] ?? "";
      expect(policy).toMatch(new RegExp(`frame-ancestors ${spa.origin}(;|$)`));
      expect(policy).not.toContain(stranger.origin);
      // Nothing else was asked of the server: no attestation, no token, no flow.
      expect(
        exchanges.list.filter((exchange) => exchange.url.startsWith(server.issuer) && exchange.url !== iframeUrl()),
      ).toEqual([]);
    });

    it("the iframe is no open proxy: an api-request for another origin or a non-HAAPI path of the server is refused with an error; a HAAPI one still works", async () => {
      const opened = await openSpa(spa.origin);
      const { page, exchanges } = opened;
      await page.evaluate(() => (window as unknown as SpaWindow).__spa.haapiFetch.init());
      await exchanges.settled();
      const before = exchanges.list.length;

      const outside = [
        "https://example.com/",
        tokenEndpoint(),
        `${server.issuer}/oauth/v2/oauth-userinfo`,
        // The same server under another name is another origin.
        `${server.issuer.replace("127.0.0.1", "localhost")}/oauth/v2/oauth-authorize?client_id=${CLIENT_ID}`,
      ];
      for (const href of outside) {
        const outcome = await page.evaluate(async (target) => {
          const started = Date.now();
          try {
            const response = await (window as unknown as SpaWindow).__spa.haapiFetch(target);
            return { answered: response.status, ms: Date.now() - started };
          } catch (error) {
            const failure = error as Error & { code?: string };
            return { name: failure.name, code: failure.code, message: failure.message, ms: Date.now() - started };
          }
        }, href);
        // An `error` answer from the iframe, not a timeout (20 s).
        expect(outcome, `${href}\n${await explain(opened)}`).toMatchObject({
          name: "HaapiDriverError",
          code: "ERR_REQUEST_REFUSED",
          message: expect.any(String),
        });
        expect(outcome.ms).toBeLessThan(10_000);
      }
      const all = await events(page);
      expect(all.filter((event) => event.direction === "in" && event.type === "error")).toHaveLength(outside.length);

      // A HAAPI request through the same iframe still works.
      const authorize = `${server.issuer}/oauth/v2/oauth-authorize?${new URLSearchParams({ client_id: CLIENT_ID, response_type: "code", redirect_uri: `${spa.origin}/callback`, scope: "openid", code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256" })}`;
      const answer = await page.evaluate(async (target) => {
        const response = await (window as unknown as SpaWindow).__spa.haapiFetch(target);
        return {
          status: response.status,
          type: response.headers.get("content-type"),
          body: (await response.json()) as { type?: string },
        };
      }, authorize);
      expect(answer, await explain(opened)).toMatchObject({
        status: 200,
        type: expect.stringContaining(HAAPI_MEDIA_TYPE),
        body: { type: "authentication-step" },
      });

      // The refused requests never left the iframe.
      await exchanges.settled();
      const since = exchanges.list.slice(before);
      expect(since.filter((exchange) => outside.includes(exchange.url))).toEqual([]);
      expect(since.map((exchange) => exchange.url)).toContain(authorize);
    });

    it("resuming after the iframe's document reloads between the authorize request and the login POST: it takes its key back from its (partitioned) storage, the driver sets it up again, and the POST continues with the Session-Id", async () => {
      const opened = await openSpa(spa.origin, { pause: true });
      const { page, exchanges } = opened;
      const mark = await stopAtLoginForm(opened);
      await reloadIframe(opened, mark);

      await page.getByRole("button", { name: "Send the login form" }).click();
      await expectLoggedIn(opened);
      await exchanges.settled();
      const { authorize, login } = expectSessionIdSentBack(exchanges.list);
      expect(dpopKeyOf(login)).toBe(dpopKeyOf(authorize));
      expectAnswered(await events(page));
    });

    it("in a browser that gives the cross-site iframe no storage, its reloaded document has a new key: the session stays bound to the old one (mismatch-between-session-and-access-token), and the app's next login works", async () => {
      const storageless = await launchChromium({ partitionedStorage: false });
      try {
        const opened = await openSpa(spa.origin, { pause: true, in: storageless });
        const { page, exchanges } = opened;
        const mark = await stopAtLoginForm(opened);
        await reloadIframe(opened, mark);

        await page.getByRole("button", { name: "Send the login form" }).click();
        expect(await finished(page), await explain(opened)).toBe("error");
        expect((await result(page)).error).toMatchObject({
          name: "HaapiProblem",
          message: expect.stringContaining("mismatch-between-session-and-access-token"),
        });
        await exchanges.settled();
        const { authorize, login } = expectSessionIdSentBack(exchanges.list, 400);
        expect(dpopKeyOf(login)).not.toBe(dpopKeyOf(authorize));

        // The app starts over, with the same driver and iframe.
        await page.getByLabel("Stop before sending the login form").uncheck();
        await page.getByRole("button", { name: "Log in" }).click();
        await expectLoggedIn(opened);
      } finally {
        await context?.close();
        context = undefined;
        await storageless.close();
      }
    });

    it("a long login: the iframe renews its HAAPI token (a new CAT, the same key) shortly before it expires, and the login POST continues", async () => {
      const opened = await openSpa(spa.origin, { pause: true, clock: true });
      const { page, exchanges } = opened;
      await stopAtLoginForm(opened);
      await exchanges.settled();
      const before = exchanges.list.length;
      // The HAAPI token lives SHORT_LIVED_TTL (60) s; the iframe renews it when less than a fifth is left.
      // 50 s on, the proofs' iat is still within the server's default clock skew (60 s).
      await page.clock.fastForward("00:50");
      await page.getByRole("button", { name: "Send the login form" }).click();
      await expectLoggedIn(opened);
      await exchanges.settled();
      const later = exchanges.list.slice(before).filter((exchange) => exchange.from === "frame");
      const renewal = later.filter(
        (exchange) =>
          exchange.method === "POST" &&
          (exchange.url === `${server.issuer}/oauth/v2/oauth-token/cat` || exchange.url === tokenEndpoint()),
      );
      expect(
        renewal.map((exchange) => [exchange.url.slice(server.issuer.length), exchange.status]),
        await explain(opened),
      ).toEqual(
        expect.arrayContaining([
          ["/oauth/v2/oauth-token/cat", 200],
          ["/oauth/v2/oauth-token", 200],
        ]),
      );
      const { authorize, login } = expectSessionIdSentBack(exchanges.list);
      expect(dpopKeyOf(login)).toBe(dpopKeyOf(authorize));
      // A renewed token, not the one the authorize request carried.
      expect(login.requestHeaders.authorization).not.toBe(authorize.requestHeaders.authorization);
    });

    it('resuming after the iframe asks for a reload ({type: "reload"}): the driver answers reload, sets up again, and the login POST continues with the Session-Id', async () => {
      const opened = await openSpa(spa.origin, { pause: true });
      const { page, exchanges } = opened;
      const mark = await stopAtLoginForm(opened);

      // The message the iframe's script sends when its HAAPI token cannot be renewed, sent from the
      // iframe's own window (so from its origin, as the driver requires).
      await iframeOf(page).evaluate(
        (parentOrigin) => window.parent.postMessage({ type: "reload" }, parentOrigin),
        spa.origin,
      );
      const after = await readyAgain(page, mark);
      // As Curity's driver does: after sending reload it waits for the iframe's next `loaded`, then sets it up.
      expect(after.slice(0, 4), await explain(opened)).toEqual([
        { direction: "in", type: "reload" },
        { direction: "out", type: "reload" },
        { direction: "in", type: "loaded" },
        { direction: "out", type: "setup", traceId: expect.any(Number) },
      ]);
      expect(after.at(-1)).toMatchObject({ direction: "in", type: "ready" });
      expect(after.filter((event) => event.type === "error")).toEqual([]);

      await page.getByRole("button", { name: "Send the login form" }).click();
      await expectLoggedIn(opened);
      await exchanges.settled();
      const { authorize, login } = expectSessionIdSentBack(exchanges.list);
      expect(dpopKeyOf(login)).toBe(dpopKeyOf(authorize));
    });
  },
);
