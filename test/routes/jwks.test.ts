/**
 * GET /oauth/v2/oauth-jwks
 */
import { exports } from "cloudflare:workers";
import type { JWK } from "jose";
import { describe, expect, it } from "vitest";
import { BASE } from "../helpers/server";

describe("JWKS", () => {
  it("publishes public ES256 keys only (current and next), cacheable", async () => {
    const response = await exports.default.fetch(`${BASE}/oauth/v2/oauth-jwks`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toContain("max-age");
    const { keys } = (await response.json()) as { keys: JWK[] };
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(typeof key.kid).toBe("string");
      expect(key.d).toBeUndefined();
    }
  });

  it("is the same set on every call (one key manager for all isolates)", async () => {
    const a = await (await exports.default.fetch(`${BASE}/oauth/v2/oauth-jwks`)).text();
    const b = await (await exports.default.fetch(`${BASE}/oauth/v2/oauth-jwks`)).text();
    expect(a).toBe(b);
  });

  it("POST is 405", async () => {
    const response = await exports.default.fetch(`${BASE}/oauth/v2/oauth-jwks`, { method: "POST" });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("GET");
  });
});
