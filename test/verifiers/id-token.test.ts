/**
 * verifyIdToken (src/verifiers/id-token.ts): an ID token of this server presented as UAF authorization.
 * Valid tokens come from signIdToken (the issuer's own code), broken ones from SignJWT. Fixed `now`.
 */
import { SignJWT, type JWTVerifyGetKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { signIdToken, type IdTokenClaims } from "../../src/tokens/grant-tokens";
import type { ServerKeys } from "../../src/tokens/server-keys";
import { verifyIdToken } from "../../src/verifiers/id-token";
import { testServerKeys } from "../helpers/server-keys";

const NOW = 1_795_000_000;
const ISSUER = "https://login.example.com";
const KID = "server-key-1";
const GRANT = "ab".repeat(32);
const EXPECTED = { issuer: ISSUER, maxAge: 300 };

let server: ServerKeys;
let keySet: JWTVerifyGetKey;

beforeAll(async () => {
  ({ server, keySet } = await testServerKeys(KID, NOW + 3600));
});

const claims: IdTokenClaims = {
  issuer: ISSUER,
  clientId: "flow-client",
  subject: "user-1",
  ttl: 3600,
  authTime: NOW - 10,
  acr: "urn:test",
  amr: ["pwd"],
  cal: "none",
  grantId: GRANT,
};

function handmade(payload: Record<string, unknown>): Promise<string> {
  return new SignJWT({
    iss: ISSUER,
    aud: "flow-client",
    sub: "user-1",
    iat: NOW,
    exp: NOW + 3600,
    auth_time: NOW - 10,
    ...payload,
  })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: KID })
    .sign(server.signingKey);
}

describe("verifyIdToken", () => {
  it("names the user, the client and the grant it was issued from", async () => {
    expect(await verifyIdToken(await signIdToken(server, claims, NOW - 5), keySet, EXPECTED, NOW)).toEqual({
      ok: true,
      value: { sub: "user-1", aud: "flow-client", gid: GRANT },
    });
  });

  it("an ID token without gid verifies without one (the caller refuses it as authorization)", async () => {
    expect(await verifyIdToken(await handmade({}), keySet, EXPECTED, NOW)).toEqual({
      ok: true,
      value: { sub: "user-1", aud: "flow-client" },
    });
  });

  it("older than maxAge: id_token_stale; exactly maxAge old is still fresh", async () => {
    expect(await verifyIdToken(await signIdToken(server, claims, NOW - 301), keySet, EXPECTED, NOW)).toMatchObject({
      ok: false,
      reason: "id_token_stale",
    });
    expect((await verifyIdToken(await signIdToken(server, claims, NOW - 300), keySet, EXPECTED, NOW)).ok).toBe(true);
  });

  it("refuses a gid that is not a string, another issuer, an access token and a forged signature", async () => {
    expect(await verifyIdToken(await handmade({ gid: 42 }), keySet, EXPECTED, NOW)).toMatchObject({
      ok: false,
      reason: "id_token_invalid",
    });
    expect(
      await verifyIdToken(await handmade({ iss: "https://elsewhere.example" }), keySet, EXPECTED, NOW),
    ).toMatchObject({ ok: false, reason: "id_token_invalid" });
    const accessToken = await new SignJWT({
      iss: ISSUER,
      aud: ISSUER,
      sub: "user-1",
      iat: NOW,
      exp: NOW + 60,
      auth_time: NOW,
    })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: KID })
      .sign(server.signingKey);
    expect(await verifyIdToken(accessToken, keySet, EXPECTED, NOW)).toMatchObject({
      ok: false,
      reason: "id_token_invalid",
    });
    const token = await signIdToken(server, claims, NOW);
    const forged = `${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    expect(await verifyIdToken(forged, keySet, EXPECTED, NOW)).toMatchObject({ ok: false, reason: "id_token_invalid" });
  });
});
