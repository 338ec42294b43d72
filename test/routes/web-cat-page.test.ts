/**
 * The web driver's iframe page (src/routes/cat/web-cat-page.ts) as the server sends it: which requests
 * get it, its CSP (frame-ancestors from the client's allowed origins, the script by nonce and SRI hash),
 * the configuration its script gets, and the error page for clients that may not have it. The script's
 * behaviour is tested in a real browser (test/browser/).
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BASE, jsonOf } from "../helpers/server";

const CAT_URL = `${BASE}/oauth/v2/oauth-token/cat`;
const NAVIGATION = {
  Accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "Sec-Fetch-Dest": "iframe",
};

function directives(csp: string | null): Map<string, string> {
  return new Map(
    (csp ?? "")
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => [part.split(" ")[0]!, part.slice(part.indexOf(" ") + 1)]),
  );
}

async function sha256Base64(text: string): Promise<string> {
  return btoa(
    String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))),
  );
}

/** The page's script element and configuration, read with HTMLRewriter. */
async function readPage(response: Response): Promise<{ script: Record<string, string>; config: Record<string, any> }> {
  const script: Record<string, string> = {};
  let json = "";
  await new HTMLRewriter()
    .on("script[src]", {
      element: (element) => {
        for (const name of ["src", "integrity", "nonce"]) script[name] = element.getAttribute(name) ?? "";
      },
    })
    .on("script#web-cat-config", {
      text: (text) => {
        json += text.text;
      },
    })
    .transform(response)
    .text();
  return { script, config: JSON.parse(json) };
}

describe("the CAT endpoint's iframe page", { timeout: 30_000 }, () => {
  it("a browser navigation gets the page, framable only by the client's allowed origins", async () => {
    const response = await exports.default.fetch(`${CAT_URL}?client_id=spa-public`, { headers: NAVIGATION });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(response.headers.get("X-Frame-Options")).toBeNull();
    const csp = directives(response.headers.get("Content-Security-Policy"));
    expect(csp.get("frame-ancestors")).toBe("https://spa.example http://localhost:5173");
    expect(csp.get("default-src")).toBe("'none'");
    expect(csp.get("connect-src")).toBe("'self'");
    const { script, config } = await readPage(response);
    // The script runs by this response's nonce, and only with the bytes the page names (SRI).
    expect(csp.get("script-src")).toBe(`'nonce-${script.nonce}'`);
    expect(script.nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(script.src).toBe("/oauth/v2/oauth-token/cat/web-cat.js");
    const served = await exports.default.fetch(`${BASE}${script.src}`);
    expect(served.status).toBe(200);
    expect(served.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(served.headers.get("X-Content-Type-Options")).toBe("nosniff");
    const source = await served.text();
    expect(script.integrity).toBe(`sha256-${await sha256Base64(source)}`);
    expect(source).toContain('"api-response"');
    expect(config).toEqual({
      clientId: "spa-public",
      catEndpoint: CAT_URL,
      tokenEndpoint: `${BASE}/oauth/v2/oauth-token`,
      allowedOrigins: ["https://spa.example", "http://localhost:5173"],
      apiPaths: ["/oauth/v2/oauth-authorize"],
      apiPrefixes: ["/authn/"],
      scope: "urn:se:curity:scopes:haapi",
      debug: false,
    });
  });

  it("a new nonce per response, and debug=true is passed to the script", async () => {
    const first = await readPage(
      await exports.default.fetch(`${CAT_URL}?client_id=spa-public`, { headers: NAVIGATION }),
    );
    const second = await readPage(
      await exports.default.fetch(`${CAT_URL}?client_id=spa-public&debug=true`, { headers: NAVIGATION }),
    );
    expect(second.script.nonce).not.toBe(first.script.nonce);
    expect(second.config.debug).toBe(true);
  });

  it("a JSON request still gets the challenge", async () => {
    for (const accept of ["application/json", "*/*", undefined, "text/html;q=0, application/json"]) {
      const response = await exports.default.fetch(`${CAT_URL}?client_id=spa-public`, {
        headers: accept ? { Accept: accept } : {},
      });
      expect(response.status, accept).toBe(200);
      expect((await jsonOf(response)).challenge).toMatch(/^c1\./);
    }
  });

  it("an unknown client, or one without web attestation, gets an error page nobody may frame", async () => {
    for (const query of [
      "client_id=nobody",
      "client_id=mobile-attested",
      "",
      "client_id=spa-public&client_id=spa-public",
    ]) {
      const response = await exports.default.fetch(`${CAT_URL}?${query}`, { headers: NAVIGATION });
      expect(response.status, query).toBe(400);
      expect(directives(response.headers.get("Content-Security-Policy")).get("frame-ancestors")).toBe("'none'");
      expect(await response.text()).not.toContain("<script");
    }
  });

  it("escapes the configuration so no value can close the script element", async () => {
    // Configuration values come from the operator, but the JSON is still made safe for a script element.
    const response = await exports.default.fetch(`${CAT_URL}?client_id=spa-public`, { headers: NAVIGATION });
    const text = await response.text();
    const json = text.slice(text.indexOf('id="web-cat-config">') + 20, text.indexOf("</script>"));
    expect(json).not.toMatch(/[<>&]/);
    expect(JSON.parse(json).clientId).toBe("spa-public");
  });
});
