/**
 * verifySoftwareStatement (src/verifiers/software-statement.ts): RFC 7591 §2.3 statements from approved
 * issuers. Every SoftwareStatementFailure is reached; every call passes a fixed `now`.
 */
import {
  base64url,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWTPayload,
} from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  verifySoftwareStatement,
  type SoftwareStatementFailure,
  type SoftwareStatementPolicy,
} from "../../src/verifiers/software-statement";
import { withOverrides } from "../helpers/dpop";

const NOW = 1_795_000_000;
const ISSUER = "https://statements.example.com";
const OTHER_ISSUER = "https://other-statements.example.com";
const KID = "statement-key-1";

let issuerKey: CryptoKey;
let otherIssuerKey: CryptoKey;
let strangerKey: CryptoKey;
let policy: SoftwareStatementPolicy;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  const other = await generateKeyPair("EdDSA", { extractable: true });
  issuerKey = pair.privateKey;
  otherIssuerKey = other.privateKey;
  strangerKey = (await generateKeyPair("ES256")).privateKey;
  policy = {
    issuers: [
      {
        issuer: ISSUER,
        keys: createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: KID, alg: "ES256" }] }),
      },
      { issuer: OTHER_ISSUER, keys: createLocalJWKSet({ keys: [await exportJWK(other.publicKey)] }) },
    ],
    clockSkew: 30,
  };
});

interface StatementOptions {
  /** Replace or add claims (undefined deletes one). */
  claims?: Record<string, unknown>;
  /** Replace or add protected header members (undefined deletes one). */
  header?: Record<string, unknown>;
  key?: CryptoKey | Uint8Array;
}

function statement({ claims, header, key = issuerKey }: StatementOptions = {}): Promise<string> {
  const payload = withOverrides(
    {
      iss: ISSUER,
      sub: "device-app",
      aud: "https://login.example.com",
      iat: NOW - 60,
      nbf: NOW - 60,
      exp: NOW + 3600,
      jti: "s-1",
      software_id: "haapi-template-client",
      client_name: "Signed app",
      software_version: "2.0",
    },
    claims,
  );
  const protectedHeader = withOverrides({ alg: "ES256", kid: KID }, header);
  return new SignJWT(payload as JWTPayload).setProtectedHeader(protectedHeader as { alg: string }).sign(key);
}

const encode = (value: unknown) => base64url.encode(new TextEncoder().encode(JSON.stringify(value)));

async function expectFailure(value: unknown, reason: SoftwareStatementFailure, at = NOW) {
  const result = await verifySoftwareStatement(value, policy, at);
  expect(result, JSON.stringify(result)).toMatchObject({ ok: false, reason });
  return result;
}

describe("approved statements", () => {
  it("returns the client metadata claims, without the registered JWT claims", async () => {
    const result = await verifySoftwareStatement(
      await statement({ claims: { scope: "openid", redirect_uris: ["app://haapi"] } }),
      policy,
      NOW,
    );
    expect(result).toEqual({
      ok: true,
      value: {
        software_id: "haapi-template-client",
        client_name: "Signed app",
        software_version: "2.0",
        scope: "openid",
        redirect_uris: ["app://haapi"],
      },
    });
  });

  it("finds the issuer among several, by iss", async () => {
    const result = await verifySoftwareStatement(
      await statement({ claims: { iss: OTHER_ISSUER }, header: { alg: "EdDSA", kid: undefined }, key: otherIssuerKey }),
      policy,
      NOW,
    );
    expect(result).toMatchObject({ ok: true, value: { software_id: "haapi-template-client" } });
  });

  it("needs no exp, nbf or iat", async () => {
    const result = await verifySoftwareStatement(
      await statement({ claims: { exp: undefined, nbf: undefined, iat: undefined } }),
      policy,
      NOW,
    );
    expect(result.ok).toBe(true);
  });

  it("accepts exp and nbf within the clock skew", async () => {
    expect((await verifySoftwareStatement(await statement({ claims: { exp: NOW - 20 } }), policy, NOW)).ok).toBe(true);
    expect((await verifySoftwareStatement(await statement({ claims: { nbf: NOW + 20 } }), policy, NOW)).ok).toBe(true);
  });
});

describe("refusals", () => {
  it("an issuer that is not approved is unapproved, before any signature check", async () => {
    const result = await expectFailure(
      await statement({ claims: { iss: "https://unknown.example" }, key: strangerKey }),
      "unapproved",
    );
    expect(result.ok === false && result.detail).toEqual({ iss: "https://unknown.example" });
  });

  it("a statement signed by another key is signature", async () => {
    await expectFailure(await statement({ key: strangerKey }), "signature");
    await expectFailure(await statement({ key: strangerKey, header: { kid: "unknown-kid" } }), "signature");
  });

  it("a statement signed by another approved issuer's key is signature", async () => {
    await expectFailure(
      await statement({ claims: { iss: ISSUER }, header: { alg: "EdDSA", kid: undefined }, key: otherIssuerKey }),
      "signature",
    );
  });

  it("a tampered payload is signature", async () => {
    const [header, , signature] = (await statement()).split(".");
    await expectFailure(
      `${header}.${encode({ iss: ISSUER, software_id: "other-template" })}.${signature}`,
      "signature",
    );
  });

  it("an expired statement (beyond the skew)", async () => {
    await expectFailure(await statement({ claims: { exp: NOW - 31 } }), "expired");
    await expectFailure(await statement(), "expired", NOW + 3600 + 31);
  });

  it("nbf in the future (beyond the skew) is not_yet_valid", async () => {
    await expectFailure(await statement({ claims: { nbf: NOW + 31 } }), "not_yet_valid");
    await expectFailure(await statement(), "not_yet_valid", NOW - 91);
  });

  it('alg "none" is alg_not_allowed', async () => {
    const unsigned = `${encode({ alg: "none" })}.${encode({ iss: ISSUER, software_id: "haapi-template-client" })}.`;
    const result = await expectFailure(unsigned, "alg_not_allowed");
    expect(result.ok === false && result.detail).toEqual({ alg: "none" });
  });

  it("HS256 is alg_not_allowed, even when keyed with something the server knows", async () => {
    await expectFailure(
      await statement({ header: { alg: "HS256" }, key: new TextEncoder().encode("a-shared-secret-of-32-bytes-long!") }),
      "alg_not_allowed",
    );
  });

  it("a header without alg is alg_not_allowed", async () => {
    await expectFailure(`${encode({ kid: KID })}.${encode({ iss: ISSUER, software_id: "x" })}.AAAA`, "alg_not_allowed");
  });

  it("not a string is malformed", async () => {
    for (const value of [undefined, null, 7, { iss: ISSUER }, [await statement()]])
      await expectFailure(value, "malformed");
  });

  it("a string over 16384 characters is malformed, even when validly signed", async () => {
    const padded = await statement({ claims: { padding: "x".repeat(16_384) } });
    expect(padded.length).toBeGreaterThan(16_384);
    await expectFailure(padded, "malformed");
  });

  it("garbage is malformed", async () => {
    for (const value of [
      "",
      "not-a-jwt",
      "a.b.c",
      `${encode({ alg: "ES256" })}.not-json.AAAA`,
      `${encode({ alg: "ES256" })}.${base64url.encode("[1]")}.AAAA`,
    ]) {
      await expectFailure(value, "malformed");
    }
  });

  it("an ES256 header with an empty signature is signature", async () => {
    await expectFailure(
      `${encode({ alg: "ES256", kid: KID })}.${encode({ iss: ISSUER, software_id: "x" })}.`,
      "signature",
    );
  });

  it("a missing or non-string iss is claims_invalid", async () => {
    await expectFailure(await statement({ claims: { iss: undefined } }), "claims_invalid");
    await expectFailure(await statement({ claims: { iss: 7 } }), "claims_invalid");
  });

  it("a missing or non-string software_id is claims_invalid", async () => {
    const result = await expectFailure(await statement({ claims: { software_id: undefined } }), "claims_invalid");
    expect(result.ok === false && result.detail).toEqual({ claim: "software_id" });
    await expectFailure(await statement({ claims: { software_id: ["haapi-template-client"] } }), "claims_invalid");
  });

  it("a non-numeric exp is claims_invalid", async () => {
    await expectFailure(await statement({ claims: { exp: "tomorrow" } }), "claims_invalid");
  });
});
