/**
 * Production keys: with the SIGNING_KEYS and SERVER_SECRET secrets set, tokens are signed with the
 * first configured key, every configured key is published, and the key manager is never consulted.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet, decodeProtectedHeader, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { workerApp } from "../helpers/runtime";
import { basic, BASE, TOKEN_URL } from "../helpers/server";

async function privateJwk(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid };
}

describe("SIGNING_KEYS secret", () => {
  it("signs with the first key and publishes all of them without private members", async () => {
    const signing = await privateJwk("prod-2026-11");
    const previous = await privateJwk("prod-2026-10");
    // KEY_MANAGER absent: any attempt to use it would fail the request.
    const secretEnv = {
      ...env,
      KEY_MANAGER: undefined as never,
      SIGNING_KEYS: JSON.stringify({ keys: [signing, previous] }),
      SERVER_SECRET: "s".repeat(40),
    };
    const app = workerApp();
    const call = (input: string, init?: RequestInit) =>
      app.fetch(new Request(input, init), secretEnv, createExecutionContext());

    const published = (await (await call(`${BASE}/oauth/v2/oauth-jwks`)).json()) as { keys: JWK[] };
    expect(published.keys.map((key) => key.kid)).toEqual(["prod-2026-11", "prod-2026-10"]);
    expect(published.keys.every((key) => key.d === undefined)).toBe(true);

    const response = await call(TOKEN_URL, {
      method: "POST",
      headers: {
        Authorization: basic("plain-client", "plain-secret"),
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    expect(response.status).toBe(200);
    const token = ((await response.json()) as { access_token: string }).access_token;
    expect(decodeProtectedHeader(token).kid).toBe("prod-2026-11");
    await expect(jwtVerify(token, createLocalJWKSet(published), { issuer: BASE, typ: "at+jwt" })).resolves.toBeTruthy();
  });
});
