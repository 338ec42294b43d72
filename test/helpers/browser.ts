/**
 * Test-side browser: drives the HTML rendering of the login flow (`Accept: text/html`) as a browser
 * would, with a cookie jar, and reads the pages it gets back (forms, links, messages, the `<body>`'s
 * data attributes) with workerd's HTMLRewriter rather than with regular expressions.
 *
 * @example
 *   const browser = new Browser();
 *   const page = await parse(await browser.fetch(authorizeUrl({ client_id: "browser-client", ... })));
 *   const done = await browser.submit(formOf(page, "login"), { userName: "demo", password: "demo-password" });
 *   browser.cookies.get(SESSION_COOKIE); // the browser session after the 303
 */
import { exports } from "cloudflare:workers";
import { BASE } from "./server";
import { expect } from "vitest";
import { authorizeUrl, pkce } from "./flow";

/** What a browser sends as Accept for a page. */
export const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
/** The login flow's cookie (over http: no `__Host-` prefix). */
export const LOGIN_COOKIE = "haapi-login";
/** The browser session's cookie, set when a login ends. */
export const SESSION_COOKIE = "haapi-session";

export interface Form {
  readonly kind: string;
  readonly action: string;
  readonly method: string;
  readonly fields: Map<string, { type: string; value: string | null; invalid: boolean }>;
}

export interface Page {
  readonly response: Response;
  readonly html: string;
  readonly body: { type: string; view: string; problem: string };
  readonly forms: Form[];
  readonly links: { kind: string | null; rel: string | null; href: string }[];
  readonly refresh: string | null;
  readonly messages: string[];
}

/** The page's forms, links and messages, read with HTMLRewriter (attribute values as written, not unescaped). */
export async function parse(response: Response): Promise<Page> {
  const html = await response.text();
  const forms: Form[] = [];
  const links: Page["links"] = [];
  const messages: string[] = [];
  const body = { type: "", view: "", problem: "" };
  let refresh: string | null = null;
  await new HTMLRewriter()
    .on("body", {
      element: (e) =>
        void Object.assign(body, {
          type: e.getAttribute("data-type") ?? "",
          view: e.getAttribute("data-view") ?? "",
          problem: e.getAttribute("data-problem") ?? "",
        }),
    })
    .on("meta[http-equiv=refresh]", {
      element: (e) => {
        refresh = e.getAttribute("content");
      },
    })
    .on("form", {
      element: (e) =>
        void forms.push({
          kind: e.getAttribute("data-kind") ?? "",
          action: e.getAttribute("action") ?? "",
          method: e.getAttribute("method") ?? "",
          fields: new Map(),
        }),
    })
    .on("form input", {
      element: (e) =>
        void forms.at(-1)!.fields.set(e.getAttribute("name")!, {
          type: e.getAttribute("type")!,
          value: e.getAttribute("value"),
          invalid: e.getAttribute("aria-invalid") === "true",
        }),
    })
    .on("a", {
      element: (e) =>
        void links.push({
          kind: e.getAttribute("data-kind"),
          rel: e.getAttribute("rel"),
          href: e.getAttribute("href")!,
        }),
    })
    .on("p.message", {
      element: () => void messages.push(""),
      text: (t) => {
        messages[messages.length - 1] += t.text;
      },
    })
    .transform(new Response(html))
    .text();
  return { response, html, body, forms, links, refresh, messages };
}

/** The form of `kind` (its `data-kind`) in a page. */
export function formOf(page: Page, kind: string): Form {
  const form = page.forms.find((candidate) => candidate.kind === kind);
  if (!form) throw new Error(`no ${kind} form in ${page.html}`);
  return form;
}

/** The href of the link whose `data-kind` or `rel` is `kind`. */
export function linkOf(page: Page, kind: string): string {
  const link = page.links.find((candidate) => candidate.kind === kind || candidate.rel === kind);
  if (!link) throw new Error(`no ${kind} link in ${page.html}`);
  return link.href;
}

/** A browser: a cookie jar; POSTs carry what a browser sends for a same-origin form; redirects are not followed. */
export class Browser {
  readonly cookies = new Map<string, string>();

  async fetch(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const method = init.method ?? (init.form ? "POST" : "GET");
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const headers: Record<string, string> = {
      Accept: BROWSER_ACCEPT,
      ...(cookie ? { Cookie: cookie } : {}),
      ...(method === "POST"
        ? { "Content-Type": "application/x-www-form-urlencoded", Origin: BASE, "Sec-Fetch-Site": "same-origin" }
        : {}),
      ...init.headers,
    };
    const response = await exports.default.fetch(url, {
      method,
      headers,
      redirect: "manual",
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const set of response.headers.getSetCookie()) {
      const [pair, ...attributes] = set.split(";").map((part) => part.trim());
      const [name, value] = [pair!.slice(0, pair!.indexOf("=")), pair!.slice(pair!.indexOf("=") + 1)];
      if (attributes.includes("Max-Age=0")) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Submit a form of the page, with its hidden fields (the CSRF token) and `values`. */
  submit(
    form: Form,
    values: Record<string, string> = {},
    overrides: { headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const hidden = Object.fromEntries(
      [...form.fields].filter(([, field]) => field.type === "hidden").map(([name, field]) => [name, field.value ?? ""]),
    );
    return this.fetch(form.action, { method: form.method.toUpperCase(), form: { ...hidden, ...values }, ...overrides });
  }

  /** The login session's id: the first half of the login cookie. */
  get sessionId(): string {
    return this.cookies.get(LOGIN_COOKIE)!.split(".")[0]!;
  }
}

/** Log `username` in through browser-client's HTML pages; the `haapi-session` cookie it ends with ("name=value"). */
export async function browserLogin(username: string, password: string): Promise<string> {
  const browser = new Browser();
  const { challenge } = await pkce();
  const login = await parse(
    await browser.fetch(
      authorizeUrl({
        client_id: "browser-client",
        response_type: "code",
        redirect_uri: "https://app.example/cb",
        scope: "openid",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }),
    ),
  );
  expect(login.response.status, login.html).toBe(200);
  const done = await browser.submit(formOf(login, "login"), { userName: username, password });
  expect(done.status).toBe(303);
  const session = browser.cookies.get(SESSION_COOKIE);
  expect(session).toBeDefined();
  return `${SESSION_COOKIE}=${session}`;
}
