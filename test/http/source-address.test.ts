import { describe, expect, it } from "vitest";
import { sourceHeaderProblem, withSourceAddress } from "../../src/http/source-address";

const request = (headers: Record<string, string> = {}) =>
  new Request("https://as.example/oauth/v2/oauth-authorize", { method: "POST", headers, body: "userName=a" });

describe("withSourceAddress (the Deno entry's client address)", () => {
  it("takes the connection's peer and drops the address a client claims", async () => {
    const rewritten = withSourceAddress(request({ "CF-Connecting-IP": "203.0.113.9" }), "198.51.100.7");
    expect(rewritten.headers.get("CF-Connecting-IP")).toBe("198.51.100.7");
    expect(await rewritten.text()).toBe("userName=a");
    expect(rewritten.method).toBe("POST");
  });

  it("takes the last entry of a trusted proxy's header, and the peer when the proxy sent none", () => {
    const forwarded = () => request({ "X-Forwarded-For": "203.0.113.9, 192.0.2.44", "CF-Connecting-IP": "10.9.9.9" });
    expect(withSourceAddress(forwarded(), "10.0.0.2", "X-Forwarded-For").headers.get("CF-Connecting-IP")).toBe(
      "192.0.2.44",
    );
    expect(
      withSourceAddress(request({ "X-Real-IP": "2001:db8::1" }), "10.0.0.2", "x-real-ip").headers.get(
        "CF-Connecting-IP",
      ),
    ).toBe("2001:db8::1");
    expect(withSourceAddress(request(), "10.0.0.2", "X-Real-IP").headers.get("CF-Connecting-IP")).toBe("10.0.0.2");
    // Without a configured proxy header, a forwarded address counts for nothing.
    expect(withSourceAddress(forwarded(), "10.0.0.2").headers.get("CF-Connecting-IP")).toBe("10.0.0.2");
  });

  it("refuses proxy header names that are not names, or are the header it sets", () => {
    expect(sourceHeaderProblem("X-Real-IP")).toBeNull();
    expect(sourceHeaderProblem("X Real IP")).toMatch(/not a header name/);
    expect(sourceHeaderProblem("cf-connecting-ip")).toMatch(/is what this header sets/);
  });
});
