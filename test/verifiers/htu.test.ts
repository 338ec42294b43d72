/**
 * normalizeHtu: the comparable form of a DPoP `htu` / request URL (RFC 9449 §4.3 (9)).
 */
import { describe, expect, it } from "vitest";
import { normalizeHtu } from "../../src/verifiers/htu";

const TOKEN = "https://as.example.com/oauth/v2/oauth-token";

describe("normalizeHtu: query and fragment are ignored", () => {
  it("drops the query", () => {
    expect(normalizeHtu(`${TOKEN}?a=1&b=2`)).toBe(TOKEN);
  });

  it("drops the fragment", () => {
    expect(normalizeHtu(`${TOKEN}#section`)).toBe(TOKEN);
  });

  it("drops an empty query and an empty fragment", () => {
    expect(normalizeHtu(`${TOKEN}?#`)).toBe(TOKEN);
  });
});

describe("normalizeHtu: scheme and host are case-insensitive", () => {
  it("lower-cases the scheme", () => {
    expect(normalizeHtu("HTTPS://as.example.com/oauth/v2/oauth-token")).toBe(TOKEN);
  });

  it("lower-cases the host", () => {
    expect(normalizeHtu("https://AS.Example.COM/oauth/v2/oauth-token")).toBe(TOKEN);
  });

  it("keeps the path case", () => {
    expect(normalizeHtu("https://as.example.com/OAuth/v2/oauth-token")).toBe(
      "https://as.example.com/OAuth/v2/oauth-token",
    );
    expect(normalizeHtu("https://as.example.com/OAuth/v2/oauth-token")).not.toBe(TOKEN);
  });
});

describe("normalizeHtu: default ports", () => {
  it("drops :443 for https", () => {
    expect(normalizeHtu("https://as.example.com:443/oauth/v2/oauth-token")).toBe(TOKEN);
  });

  it("drops :80 for http", () => {
    expect(normalizeHtu("http://as.example.com:80/oauth/v2/oauth-token")).toBe(
      "http://as.example.com/oauth/v2/oauth-token",
    );
  });

  it("keeps :80 for https (not its default port)", () => {
    expect(normalizeHtu("https://as.example.com:80/x")).toBe("https://as.example.com:80/x");
  });

  it("keeps :443 for http (not its default port)", () => {
    expect(normalizeHtu("http://as.example.com:443/x")).toBe("http://as.example.com:443/x");
  });

  it("keeps a non-default port", () => {
    expect(normalizeHtu("http://127.0.0.1:8787/oauth/v2/oauth-token")).toBe(
      "http://127.0.0.1:8787/oauth/v2/oauth-token",
    );
  });

  it("keeps http and https apart", () => {
    expect(normalizeHtu("http://as.example.com/oauth/v2/oauth-token")).not.toBe(TOKEN);
  });
});

describe("normalizeHtu: path", () => {
  it("gives a bare origin the path /", () => {
    expect(normalizeHtu("https://as.example.com")).toBe("https://as.example.com/");
    expect(normalizeHtu("https://as.example.com")).toBe(normalizeHtu("https://as.example.com/"));
  });

  it("removes dot segments (RFC 3986 syntax-based normalisation)", () => {
    expect(normalizeHtu("https://as.example.com/oauth/v1/../v2/./oauth-token")).toBe(TOKEN);
  });

  it("keeps a trailing slash significant", () => {
    expect(normalizeHtu(`${TOKEN}/`)).not.toBe(TOKEN);
  });
});

describe("normalizeHtu: only absolute http(s) URLs", () => {
  it("rejects a relative URL", () => {
    expect(normalizeHtu("/oauth/v2/oauth-token")).toBeNull();
  });

  it("rejects a string that is not a URL", () => {
    expect(normalizeHtu("not a url")).toBeNull();
    expect(normalizeHtu("")).toBeNull();
  });

  it("rejects other schemes", () => {
    expect(normalizeHtu("ftp://as.example.com/oauth/v2/oauth-token")).toBeNull();
    expect(normalizeHtu("urn:example:token")).toBeNull();
    expect(normalizeHtu("javascript:alert(1)")).toBeNull();
  });

  it("rejects a URL with user info", () => {
    expect(normalizeHtu("https://user:pass@as.example.com/oauth/v2/oauth-token")).toBeNull();
    expect(normalizeHtu("https://user@as.example.com/oauth/v2/oauth-token")).toBeNull();
  });
});

describe("normalizeHtu: RFC 3986 §6.2.2 percent-encoding normalisation (RFC 9449 §4.3 SHOULD)", () => {
  // WHATWG URL parsing does neither of these; normalizeHtu does.
  it("treats a percent-encoded unreserved character as the character itself (%2D = -)", () => {
    expect(normalizeHtu("https://as.example.com/oauth/v2/oauth%2Dtoken")).toBe(TOKEN);
  });

  it("compares percent-encoding hex digits case-insensitively (%7e = %7E)", () => {
    expect(normalizeHtu("https://as.example.com/a%7eb")).toBe(normalizeHtu("https://as.example.com/a%7Eb"));
  });
});
