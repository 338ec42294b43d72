/**
 * client_secret_basic / client_secret_post: verifyClientSecret against plain and hashed stored secrets.
 */
import { describe, expect, it } from "vitest";
import { clientSchema } from "../../src/config/schema";
import { hashClientSecret, verifyClientSecret } from "../../src/verifiers/client-secret";

const SECRET = "s3cr3t-for-tests-only";
const HASH_SHAPE = clientSchema.shape.client_secret_hash;

describe("plain client_secret (development)", () => {
  it("accepts the same secret", async () => {
    expect(await verifyClientSecret(SECRET, { client_secret: SECRET })).toEqual({ ok: true, value: true });
  });

  it("rejects another secret as secret_mismatch", async () => {
    expect(await verifyClientSecret("wrong", { client_secret: SECRET })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });

  it("rejects a prefix and an extension of the secret as secret_mismatch", async () => {
    expect(await verifyClientSecret(SECRET.slice(0, -1), { client_secret: SECRET })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
    expect(await verifyClientSecret(`${SECRET}x`, { client_secret: SECRET })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });

  it("rejects an empty presented secret as secret_mismatch", async () => {
    expect(await verifyClientSecret("", { client_secret: SECRET })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });

  it("is case-sensitive", async () => {
    expect(await verifyClientSecret(SECRET.toUpperCase(), { client_secret: SECRET })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });
});

describe("sha256$<salt>$<digest>", () => {
  it("hashClientSecret produces the configured shape, salted (two hashes differ)", async () => {
    const a = await hashClientSecret(SECRET);
    const b = await hashClientSecret(SECRET, "sha256");
    expect(a).toMatch(/^sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(HASH_SHAPE.safeParse(a).success).toBe(true);
    expect(a).not.toBe(b);
  });

  it("accepts the secret it was made from", async () => {
    const hash = await hashClientSecret(SECRET, "sha256");
    expect(await verifyClientSecret(SECRET, { client_secret_hash: hash })).toEqual({ ok: true, value: true });
  });

  it("rejects another secret as secret_mismatch", async () => {
    const hash = await hashClientSecret(SECRET, "sha256");
    expect(await verifyClientSecret(`${SECRET}!`, { client_secret_hash: hash })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });

  it("rejects the hash itself presented as the secret", async () => {
    const hash = await hashClientSecret(SECRET, "sha256");
    expect(await verifyClientSecret(hash, { client_secret_hash: hash })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });

  it("rejects when the salt is swapped for another hash's salt", async () => {
    const [, , digest] = (await hashClientSecret(SECRET, "sha256")).split("$");
    const [, otherSalt] = (await hashClientSecret(SECRET, "sha256")).split("$");
    expect(await verifyClientSecret(SECRET, { client_secret_hash: `sha256$${otherSalt}$${digest}` })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });
});

describe("hashes made outside the server (npm run hash-secret format)", () => {
  const b64url = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  const salt = new TextEncoder().encode("salt");

  it("accepts sha256$<salt>$base64url(SHA-256(salt || secret)) computed independently", async () => {
    const joined = new Uint8Array([...salt, ...new TextEncoder().encode("password")]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
    const stored = `sha256$${b64url(salt)}$${b64url(digest)}`;
    expect(await verifyClientSecret("password", { client_secret_hash: stored })).toEqual({ ok: true, value: true });
    expect(await verifyClientSecret("passwore", { client_secret_hash: stored })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });

  it("accepts the published PBKDF2-HMAC-SHA256 vector (P=password, S=salt, c=1)", async () => {
    const hex = "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b";
    const digest = Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16));
    const stored = `pbkdf2-sha256$1$${b64url(salt)}$${b64url(digest)}`;
    expect(await verifyClientSecret("password", { client_secret_hash: stored })).toEqual({ ok: true, value: true });
    expect(await verifyClientSecret("Password", { client_secret_hash: stored })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });
});

describe("pbkdf2-sha256$<iterations>$<salt>$<digest>", () => {
  it("hashClientSecret produces the configured shape with the requested iterations", async () => {
    const hash = await hashClientSecret(SECRET, "pbkdf2-sha256", 1000);
    expect(hash).toMatch(/^pbkdf2-sha256\$1000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(HASH_SHAPE.safeParse(hash).success).toBe(true);
  });

  it("accepts the secret it was made from", async () => {
    const hash = await hashClientSecret(SECRET, "pbkdf2-sha256", 1000);
    expect(await verifyClientSecret(SECRET, { client_secret_hash: hash })).toEqual({ ok: true, value: true });
  });

  it("accepts the secret with the default iteration count", async () => {
    const hash = await hashClientSecret(SECRET, "pbkdf2-sha256");
    expect(hash.split("$")[1]).toBe("100000");
    expect(await verifyClientSecret(SECRET, { client_secret_hash: hash })).toEqual({ ok: true, value: true });
  });

  it("rejects another secret as secret_mismatch", async () => {
    const hash = await hashClientSecret(SECRET, "pbkdf2-sha256", 1000);
    expect(await verifyClientSecret("wrong", { client_secret_hash: hash })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });

  it("rejects when the iteration count was edited as secret_mismatch", async () => {
    const hash = await hashClientSecret(SECRET, "pbkdf2-sha256", 1000);
    expect(await verifyClientSecret(SECRET, { client_secret_hash: hash.replace("$1000$", "$1001$") })).toMatchObject({
      ok: false,
      reason: "secret_mismatch",
    });
  });
});

describe("unusable stored hash", () => {
  const digest = "A".repeat(43);
  const salt = "B".repeat(22);

  for (const [label, stored] of [
    ["an unknown scheme", `md5$${salt}$${digest}`],
    ["sha256 with a missing part", `sha256$${digest}`],
    ["sha256 with an extra part", `sha256$${salt}$${digest}$x`],
    ["pbkdf2 with a missing part", `pbkdf2-sha256$1000$${digest}`],
    ["pbkdf2 with zero iterations", `pbkdf2-sha256$0$${salt}$${digest}`],
    ["pbkdf2 with negative iterations", `pbkdf2-sha256$-5$${salt}$${digest}`],
    ["pbkdf2 with non-numeric iterations", `pbkdf2-sha256$many$${salt}$${digest}`],
    ["pbkdf2 with fractional iterations", `pbkdf2-sha256$1.5$${salt}$${digest}`],
    ["a salt that is not base64url", `sha256$!!not*base64!!$${digest}`],
    ["a bare secret in the hash field", "just-a-secret"],
    ["an empty hash", ""],
  ] as const) {
    it(`rejects ${label} as secret_hash_unusable`, async () => {
      expect(await verifyClientSecret(SECRET, { client_secret_hash: stored })).toMatchObject({
        ok: false,
        reason: "secret_hash_unusable",
      });
    });
  }

  it("rejects a client with neither client_secret nor client_secret_hash as secret_hash_unusable", async () => {
    expect(await verifyClientSecret(SECRET, {})).toMatchObject({ ok: false, reason: "secret_hash_unusable" });
  });
});
