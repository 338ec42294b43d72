/**
 * The login flow's HTML pages in a real Chromium: `web-client` of the bundled development
 * configuration (authenticators html-form and mobile-approval, so the first page is the selector),
 * served by `wrangler dev` with only the issuer changed (test/e2e/simulator-cli.ts says why).
 *
 * The browser does what a user does: follows the selector's links, types into the forms, presses
 * their buttons, and lets the polling page refresh itself. The flow ends in a 303 to the client's
 * redirect URI http://localhost:3000/callback, where nothing listens: the test reads the code from
 * that request's URL, then redeems it as web-client would (client_secret_basic and PKCE).
 *
 * The mobile approval is approved by the UAF phone simulator (tools/simulator), which reads the QR
 * code from a screenshot of the image the page shows, not from the page's HTML.
 */
import { createHash, randomBytes } from "node:crypto";
import { base64url, decodeJwt } from "jose";
import jsQR from "jsqr";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redeemOutOfBand } from "../../tools/simulator/uaf-client.mjs";
import { newPhone } from "../../tools/simulator/uaf-phone.mjs";
import { readDevelopmentConfig } from "../e2e/simulator-cli";
import { developmentAccessKey, uafApi, type Json } from "../e2e/uaf-cloud-api";
import { type DevServer, startWranglerDev } from "../e2e/wrangler-dev";
import { launchChromium, skipBrowserTests } from "./chromium";
import { recordPage, type PageRecord } from "./page-record";
import { pngToRgba } from "../helpers/png";

const CLIENT_ID = "web-client";
const REDIRECT_URI = "http://localhost:3000/callback";
const VIEWS = {
  selector: "views/select-authenticator/index",
  login: "authenticator/html-form/authenticate/get",
  approvalStart: "authenticator/uaf-mobile-approval/authenticate/get",
  polling: "authenticator/approval-link/authenticate/wait",
} as const;

describe.skipIf(skipBrowserTests())(
  "the login pages of web-client in Chromium, against wrangler dev with the development configuration",
  () => {
    let development: Json;
    let server: DevServer;
    let browser: Browser;
    let context: BrowserContext | undefined;

    beforeAll(async () => {
      development = await readDevelopmentConfig();
      server = await startWranglerDev((issuer) => ({ ...development, issuer }), {
        tempPrefix: "haapi-edge-browser-html-",
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
    });

    async function newPage(): Promise<{ page: Page; record: PageRecord }> {
      context = await browser.newContext();
      const page = await context.newPage();
      return { page, record: recordPage(page) };
    }

    /** What explains a failure: what the page said and what the server logged. */
    const explain = (record: PageRecord) =>
      `page:\n${record.text()}\nwrangler dev output (end):\n${server.output().slice(-6_000)}`;

    const bodyAttribute = (page: Page, name: string) => page.locator("body").getAttribute(name);

    /** Open the authorization request of web-client (PKCE S256); returns what redeeming the code needs. */
    async function authorize(page: Page, record: PageRecord): Promise<{ verifier: string; state: string }> {
      const verifier = base64url.encode(randomBytes(32));
      const state = base64url.encode(randomBytes(12));
      const query = new URLSearchParams({
        client_id: CLIENT_ID,
        response_type: "code",
        redirect_uri: REDIRECT_URI,
        scope: "openid profile",
        state,
        code_challenge: base64url.encode(createHash("sha256").update(verifier).digest()),
        code_challenge_method: "S256",
      });
      const response = await page.goto(`${server.issuer}/oauth/v2/oauth-authorize?${query}`);
      expect(response?.status(), explain(record)).toBe(200);
      expect(response?.headers()["content-type"]).toBe("text/html; charset=utf-8");
      return { verifier, state };
    }

    /** The selector: both authenticators as links; follow the one titled `title`. */
    async function choose(page: Page, title: string, expectedView: string): Promise<void> {
      expect(await bodyAttribute(page, "data-view")).toBe(VIEWS.selector);
      const options = page.locator('nav[data-kind="authenticator-selector"] a[data-kind="select-authenticator"]');
      expect(await options.allTextContents()).toEqual(["Username and password", "Approve on your phone"]);
      const option = options.filter({ hasText: title });
      const href = await option.getAttribute("href");
      await option.click();
      await page.waitForURL(href!);
      expect(await bodyAttribute(page, "data-view")).toBe(expectedView);
    }

    /** Press a form's button; resolves with the response to the form's request once the new page is there. */
    async function press(page: Page, button: string): Promise<{ status: number }> {
      const form = page.locator("form", { has: page.getByRole("button", { name: button, exact: true }) });
      const action = await form.getAttribute("action");
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => candidate.url() === action && candidate.request().method() === "POST"),
        page.getByRole("button", { name: button, exact: true }).click(),
      ]);
      await page.waitForLoadState("domcontentloaded");
      return { status: response.status() };
    }

    /**
     * Press `button` on the last page of the flow: the POST is answered with a 303 to the redirect URI.
     * Returns the authorization response's parameters, read from the request the browser then makes.
     */
    async function pressToCallback(page: Page, button: string, record: PageRecord): Promise<URLSearchParams> {
      const [callback] = await Promise.all([
        page.waitForRequest((request) => request.url().startsWith(REDIRECT_URI)),
        page.getByRole("button", { name: button, exact: true }).click(),
      ]);
      const post = callback.redirectedFrom();
      expect(post?.method(), explain(record)).toBe("POST");
      const answer = await post!.response();
      expect(answer?.status(), explain(record)).toBe(303);
      expect(answer?.headers().location).toBe(callback.url());
      const url = new URL(callback.url());
      expect(`${url.origin}${url.pathname}`).toBe(REDIRECT_URI);
      return url.searchParams;
    }

    /** Redeem the code as web-client does: client_secret_basic, PKCE verifier. */
    async function redeem(code: string, verifier: string): Promise<Json> {
      const secret = (development.clients as Json[]).find((client) => client.client_id === CLIENT_ID)!
        .client_secret as string;
      const response = await fetch(`${server.issuer}/oauth/v2/oauth-token`, {
        method: "POST",
        headers: {
          Authorization: `Basic ${btoa(`${CLIENT_ID}:${secret}`)}`,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: REDIRECT_URI,
          code_verifier: verifier,
        }),
      });
      const body = (await response.json()) as Json;
      expect(response.status, JSON.stringify(body)).toBe(200);
      return body;
    }

    /** The text of the QR code on the page, read from a screenshot of its image (the page refreshes itself: retried). */
    async function scanQrCode(page: Page): Promise<string> {
      for (let attempt = 1; ; attempt++) {
        try {
          const image = await pngToRgba(new Uint8Array(await page.locator("img.qr").screenshot({ timeout: 5_000 })));
          const code = jsQR(image.rgba, image.width, image.height);
          if (!code) throw new Error(`no QR code found in a ${image.width}x${image.height} screenshot of img.qr`);
          return code.data;
        } catch (error) {
          if (attempt === 3) throw error;
        }
      }
    }

    it("selector, login form, a wrong password (the form again with the error), then demo / demo-password: a 303 to the callback with code, state and iss", async () => {
      const { page, record } = await newPage();
      const { verifier, state } = await authorize(page, record);
      await choose(page, "Username and password", VIEWS.login);
      const login = page.locator('form[data-kind="login"]');
      expect(await login.getAttribute("method")).toBe("post");
      expect(await login.getAttribute("action")).toBe(`${server.issuer}/authn/authenticate/html-form`);
      expect(
        await login
          .locator("input")
          .evaluateAll((inputs) =>
            inputs.map((input) => [(input as HTMLInputElement).name, (input as HTMLInputElement).type]),
          ),
      ).toEqual([
        ["userName", "text"],
        ["password", "password"],
        ["csrf_token", "hidden"],
      ]);

      await page.getByLabel("Username").fill("demo");
      await page.getByLabel("Password").fill("not-the-password");
      expect((await press(page, "Login")).status, explain(record)).toBe(400);
      expect(await bodyAttribute(page, "data-problem")).toBe("incorrect-credentials");
      expect(await bodyAttribute(page, "data-view")).toBe(VIEWS.login);
      expect(await page.getByRole("alert").allTextContents()).toEqual(["Incorrect username or password."]);
      // What was typed is kept, except the password.
      expect(await page.getByLabel("Username").inputValue()).toBe("demo");
      expect(await page.getByLabel("Password").inputValue()).toBe("");

      await page.getByLabel("Password").fill("demo-password");
      const params = await pressToCallback(page, "Login", record);
      expect(params.get("state")).toBe(state);
      expect(params.get("iss")).toBe(server.issuer);
      const code = params.get("code");
      expect(code).toMatch(/^[0-9a-f]{64}\./);

      const tokens = await redeem(code!, verifier);
      expect(tokens).toMatchObject({ token_type: "Bearer", scope: "openid profile" });
      expect(decodeJwt(tokens.id_token as string)).toMatchObject({
        sub: "demo",
        aud: CLIENT_ID,
        iss: server.issuer,
        amr: ["pwd"],
        acr: "urn:se:curity:authentication:html-form:html-form",
      });
    });

    it("mobile approval: demo's registered phone scans the QR code of the polling page and approves; the page refreshes itself to done, Continue: a 303 with a code", async () => {
      // The relying party's backend enrolls demo; the phone redeems the enrollment link and registers.
      const api = uafApi(server.issuer, developmentAccessKey(development), () => server.output().slice(-6_000));
      const enrolled = await api.enroll("demo");
      const phone = await newPhone({ platform: "android" });
      const registration = await redeemOutOfBand({ payload: enrolled.enrollment.appLinkUri as string, phone });
      expect(registration.op).toBe("Reg");
      expect(await api.status(enrolled.enrollment.statusToken as string)).toMatchObject({
        status: "succeeded",
        username: "demo",
      });

      const { page, record } = await newPage();
      const { verifier, state } = await authorize(page, record);
      await choose(page, "Approve on your phone", VIEWS.approvalStart);
      await page.getByLabel("Username").fill("demo");
      expect((await press(page, "Send approval request")).status, explain(record)).toBe(200);
      expect(await bodyAttribute(page, "data-type")).toBe("polling-step");
      expect(await bodyAttribute(page, "data-view")).toBe(VIEWS.polling);
      expect(await page.locator("[data-status]").getAttribute("data-status")).toBe("pending");
      expect(await page.locator('meta[http-equiv="refresh"]').getAttribute("content")).toBe(
        `2;url=${server.issuer}/authn/authenticate/mobile-approval/poll`,
      );

      const appLink = await page.locator("a[rel=activation]").getAttribute("href");
      expect(appLink).toMatch(new RegExp(`^${server.issuer}/open\\?dispatchTokenResponse=[A-Za-z0-9_-]+$`));
      const scanned = await scanQrCode(page);
      expect(scanned).toBe(appLink);

      const approval = await redeemOutOfBand({ payload: scanned, phone });
      expect(approval.op).toBe("Auth");
      expect(approval.serverResponse).toMatchObject({ statusCode: 1200 });
      const transaction = (approval.request as Json).transaction as Json[];
      expect(new TextDecoder().decode(base64url.decode(transaction[0]!.content as string))).toBe(
        `Log in to ${CLIENT_ID}`,
      );

      // No script on the page: its meta refresh polls until the approval is seen.
      await page.locator('[data-status="done"]').waitFor({ timeout: 20_000 });
      expect(page.url()).toBe(`${server.issuer}/authn/authenticate/mobile-approval/poll`);
      expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);

      const params = await pressToCallback(page, "Continue", record);
      expect(params.get("state")).toBe(state);
      expect(params.get("iss")).toBe(server.issuer);
      const tokens = await redeem(params.get("code")!, verifier);
      expect(decodeJwt(tokens.access_token as string)).toMatchObject({
        sub: "demo",
        client_id: CLIENT_ID,
        amr: expect.arrayContaining(["mca"]),
      });
    });
  },
);
