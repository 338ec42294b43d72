/**
 * PKCE verification (RFC 7636 §4.6) with S256 only: a `code_verifier` of 43 to 128 unreserved
 * characters (§4.1) whose base64url(SHA-256(ASCII(verifier))) (§4.2) equals the stored `code_challenge`.
 * The test vector is Appendix B's.
 */
import { describe, expect, it } from "vitest";
import { CODE_CHALLENGE, s256, verifyPkce } from "../../src/verifiers/pkce";

const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/** verifyPkce of `verifier` against its own S256 challenge. */
const againstOwnChallenge = async (verifier: string) => verifyPkce(verifier, await s256(verifier));

describe("s256", () => {
  it("computes RFC 7636 Appendix B's challenge", async () => {
    expect(await s256(VERIFIER)).toBe(CHALLENGE);
  });

  it("is base64url without padding: 43 characters that CODE_CHALLENGE accepts", async () => {
    for (const verifier of [VERIFIER, "a".repeat(43), UNRESERVED, "~".repeat(128)]) {
      const challenge = await s256(verifier);
      expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(CODE_CHALLENGE.test(challenge)).toBe(true);
    }
  });
});

describe("verifyPkce", () => {
  it("accepts Appendix B's verifier against its challenge", async () => {
    expect(await verifyPkce(VERIFIER, CHALLENGE)).toEqual({ ok: true, value: true });
  });

  it("refuses a missing verifier with verifier_missing", async () => {
    expect(await verifyPkce(undefined, CHALLENGE)).toEqual({ ok: false, reason: "verifier_missing" });
  });

  it("accepts 43 and 128 characters, refuses 42 and 129 with verifier_malformed", async () => {
    expect((await againstOwnChallenge("a".repeat(43))).ok).toBe(true);
    expect((await againstOwnChallenge("a".repeat(128))).ok).toBe(true);
    expect(await againstOwnChallenge("a".repeat(42))).toEqual({ ok: false, reason: "verifier_malformed" });
    expect(await againstOwnChallenge("a".repeat(129))).toEqual({ ok: false, reason: "verifier_malformed" });
    expect(await verifyPkce("", CHALLENGE)).toEqual({ ok: false, reason: "verifier_malformed" });
  });

  it("accepts every unreserved character: ALPHA / DIGIT / '-' / '.' / '_' / '~'", async () => {
    expect(UNRESERVED).toHaveLength(66);
    expect((await againstOwnChallenge(UNRESERVED)).ok).toBe(true);
    for (const character of "-._~") expect((await againstOwnChallenge(character.repeat(43))).ok).toBe(true);
  });

  it("refuses any other character with verifier_malformed", async () => {
    const base = "a".repeat(42);
    for (const character of ["+", "/", "=", "%", " ", "!", "*", "é", "\u0000", "\n"]) {
      expect(await againstOwnChallenge(`${base}${character}`)).toEqual({ ok: false, reason: "verifier_malformed" });
    }
    // A line end after 43 valid characters is not trimmed away.
    expect(await againstOwnChallenge(`${"a".repeat(43)}\n`)).toEqual({ ok: false, reason: "verifier_malformed" });
  });

  it("refuses a well-formed verifier of another challenge with mismatch", async () => {
    expect(await verifyPkce(`${VERIFIER.slice(0, -1)}l`, CHALLENGE)).toEqual({ ok: false, reason: "mismatch" });
    const flipped = `${CHALLENGE.slice(0, -1)}${CHALLENGE.endsWith("M") ? "N" : "M"}`;
    expect(await verifyPkce(VERIFIER, flipped)).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyPkce(VERIFIER, CHALLENGE.toLowerCase())).toEqual({ ok: false, reason: "mismatch" });
    // Challenges of another length, empty, or padded.
    expect(await verifyPkce(VERIFIER, CHALLENGE.slice(0, -1))).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyPkce(VERIFIER, `${CHALLENGE}=`)).toEqual({ ok: false, reason: "mismatch" });
    expect(await verifyPkce(VERIFIER, "")).toEqual({ ok: false, reason: "mismatch" });
  });

  it("has no plain method: a verifier equal to the challenge is a mismatch", async () => {
    // With `plain` (§4.2) the challenge would be the verifier itself; this server supports S256 only.
    expect(CODE_CHALLENGE.test(VERIFIER)).toBe(true);
    expect(await verifyPkce(VERIFIER, VERIFIER)).toEqual({ ok: false, reason: "mismatch" });
    // Nor is the S256 of the challenge taken as the verifier's: the comparison is one way.
    expect(await verifyPkce(CHALLENGE, VERIFIER)).toEqual({ ok: false, reason: "mismatch" });
  });
});

describe("CODE_CHALLENGE (what an authorization request's S256 code_challenge must look like)", () => {
  it("accepts 43 base64url characters", () => {
    expect(CODE_CHALLENGE.test(CHALLENGE)).toBe(true);
    expect(CODE_CHALLENGE.test(`${"A".repeat(21)}-_${"9".repeat(20)}`)).toBe(true);
  });

  it("refuses another length, padding, the base64 alphabet's '+' and '/', and a line end", () => {
    expect(CODE_CHALLENGE.test(CHALLENGE.slice(0, -1))).toBe(false);
    expect(CODE_CHALLENGE.test(`${CHALLENGE}A`)).toBe(false);
    expect(CODE_CHALLENGE.test(`${CHALLENGE}=`)).toBe(false);
    expect(CODE_CHALLENGE.test(`${CHALLENGE.slice(0, -1)}+`)).toBe(false);
    expect(CODE_CHALLENGE.test(`${CHALLENGE.slice(0, -1)}/`)).toBe(false);
    expect(CODE_CHALLENGE.test(`${CHALLENGE.slice(0, -1)}.`)).toBe(false);
    expect(CODE_CHALLENGE.test(`${CHALLENGE}\n`)).toBe(false);
    expect(CODE_CHALLENGE.test("")).toBe(false);
  });
});
