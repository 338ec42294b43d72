/**
 * The server's cookies (src/http/cookie.ts): the name (`__Host-` on an https issuer, RFC 6265bis
 * §4.1.3.2), the Set-Cookie value with its attributes (RFC 6265 §4.1), and reading one cookie from a
 * Cookie header, `name=value` pairs separated by "; " (RFC 6265 §4.2.1, §5.4).
 */
import { describe, expect, it } from "vitest";
import { cookieName, readCookie, setCookie } from "../../src/http/cookie";

const HTTPS = "https://as.example";
const HTTP = "http://127.0.0.1:8787";

/** A Set-Cookie value split into its name, value and attributes (lowercased names, in order). */
function parseSetCookie(header: string) {
  const [pair, ...rest] = header.split(";").map((part) => part.trim());
  const equals = pair!.indexOf("=");
  return {
    name: pair!.slice(0, equals),
    value: pair!.slice(equals + 1),
    attributes: rest.map((attribute) => {
      const [name, ...value] = attribute.split("=");
      return [name!.toLowerCase(), value.join("=")] as const;
    }),
  };
}

describe("cookieName", () => {
  it("is __Host-<base> on an https issuer and <base> on http", () => {
    expect(cookieName("haapi-login", HTTPS)).toBe("__Host-haapi-login");
    expect(cookieName("haapi-login", "https://as.example/tenant")).toBe("__Host-haapi-login");
    expect(cookieName("haapi-login", HTTP)).toBe("haapi-login");
    expect(cookieName("haapi-session", "http://localhost:8000")).toBe("haapi-session");
  });
});

describe("setCookie", () => {
  it("on https: __Host- name, Secure, Path=/ and no Domain, as the prefix requires; HttpOnly, SameSite=Lax", () => {
    const header = setCookie("haapi-login", HTTPS, "abc.DEF_-1", 600);
    expect(header).toBe("__Host-haapi-login=abc.DEF_-1; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure");
    const cookie = parseSetCookie(header);
    expect(cookie.name).toBe("__Host-haapi-login");
    expect(cookie.value).toBe("abc.DEF_-1");
    const attributes = new Map(cookie.attributes);
    expect(attributes.get("secure")).toBe("");
    expect(attributes.get("path")).toBe("/");
    expect(attributes.has("domain")).toBe(false);
    expect(attributes.get("httponly")).toBe("");
    expect(attributes.get("samesite")).toBe("Lax");
    expect(attributes.get("max-age")).toBe("600");
    // Each attribute once.
    expect(attributes.size).toBe(cookie.attributes.length);
  });

  it("on http: the plain name, without Secure (a browser would drop a Secure cookie set over http)", () => {
    const header = setCookie("haapi-session", HTTP, "v", 60);
    expect(header).toBe("haapi-session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
    const attributes = new Map(parseSetCookie(header).attributes);
    expect(attributes.has("secure")).toBe(false);
    expect(attributes.has("domain")).toBe(false);
    expect(attributes.get("httponly")).toBe("");
  });

  it("with Max-Age 0 clears the cookie, with the same name and attributes", () => {
    const cleared = parseSetCookie(setCookie("haapi-login", HTTPS, "", 0));
    expect(cleared.name).toBe("__Host-haapi-login");
    expect(cleared.value).toBe("");
    expect(new Map(cleared.attributes).get("max-age")).toBe("0");
    expect(cleared.attributes.map(([name]) => name)).toEqual(
      parseSetCookie(setCookie("haapi-login", HTTPS, "x", 600)).attributes.map(([name]) => name),
    );
  });

  it("is read back by readCookie under cookieName", () => {
    for (const issuer of [HTTPS, HTTP]) {
      const pair = setCookie("haapi-login", issuer, "token-value", 600).split(";")[0]!;
      expect(readCookie(`other=1; ${pair}`, cookieName("haapi-login", issuer))).toBe("token-value");
    }
  });
});

describe("readCookie", () => {
  it("finds a cookie anywhere in the header", () => {
    const header = "a=1; haapi-login=xyz; b=2";
    expect(readCookie(header, "haapi-login")).toBe("xyz");
    expect(readCookie("haapi-login=xyz", "haapi-login")).toBe("xyz");
    expect(readCookie("a=1; haapi-login=xyz", "haapi-login")).toBe("xyz");
    expect(readCookie("haapi-login=xyz; a=1", "haapi-login")).toBe("xyz");
  });

  it("tolerates missing or extra whitespace around the separators", () => {
    expect(readCookie("a=1;haapi-login=xyz;b=2", "haapi-login")).toBe("xyz");
    expect(readCookie("a=1;   haapi-login=xyz  ; b=2", "haapi-login")).toBe("xyz");
  });

  it("keeps '=' inside the value", () => {
    expect(readCookie("haapi-login=a=b==", "haapi-login")).toBe("a=b==");
  });

  it("reads an empty value as the empty string, not as absent", () => {
    expect(readCookie("haapi-login=; a=1", "haapi-login")).toBe("");
  });

  it("is undefined without a header, with an empty one, or without the cookie", () => {
    expect(readCookie(undefined, "haapi-login")).toBeUndefined();
    expect(readCookie("", "haapi-login")).toBeUndefined();
    expect(readCookie("a=1; b=2", "haapi-login")).toBeUndefined();
  });

  it("matches the whole name only, case-sensitively", () => {
    const name = "haapi-login";
    expect(readCookie("xhaapi-login=1", name)).toBeUndefined();
    expect(readCookie("haapi-login-old=1", name)).toBeUndefined();
    expect(readCookie("haapi-loginx=1", name)).toBeUndefined();
    expect(readCookie("HAAPI-LOGIN=1", name)).toBeUndefined();
    // A pair without '=' (a nameless cookie) is not the cookie named by its text.
    expect(readCookie("haapi-login", name)).toBeUndefined();
    // The plain name is not its __Host- form, nor the other way round.
    expect(readCookie("haapi-login=1", "__Host-haapi-login")).toBeUndefined();
    expect(readCookie("__Host-haapi-login=1", name)).toBeUndefined();
  });

  it("skips a malformed pair and reads the next", () => {
    expect(readCookie("garbage; ;=x; haapi-login=ok", "haapi-login")).toBe("ok");
  });

  it("takes the first of duplicate cookies", () => {
    // RFC 6265 §5.4 lists longer paths first, then older cookies first; the server keeps the first it is sent.
    expect(readCookie("haapi-login=first; other=1; haapi-login=second", "haapi-login")).toBe("first");
  });
});
