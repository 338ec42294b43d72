#!/usr/bin/env node
// Prints a client_secret_hash for the configuration: npm run hash-secret -- <secret> [--pbkdf2 [iterations]]
// Format (verified by src/verifiers/client-secret.ts):
//   sha256$<salt>$<base64url SHA-256(salt || UTF-8 secret)>          generated, high-entropy secrets
//   pbkdf2-sha256$<iterations>$<salt>$<base64url PBKDF2-SHA-256>     human-chosen secrets (slower per request)
const [secret, flag, iterationsArg] = process.argv.slice(2);
if (!secret) {
  console.error("usage: npm run hash-secret -- <secret> [--pbkdf2 [iterations]]");
  process.exit(2);
}
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const salt = crypto.getRandomValues(new Uint8Array(16));
const secretBytes = new TextEncoder().encode(secret);
if (flag === "--pbkdf2") {
  const iterations = Number(iterationsArg ?? 100000);
  const key = await crypto.subtle.importKey("raw", secretBytes, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  console.log(`pbkdf2-sha256$${iterations}$${b64url(salt)}$${b64url(new Uint8Array(bits))}`);
} else {
  const digest = await crypto.subtle.digest("SHA-256", Buffer.concat([salt, secretBytes]));
  console.log(`sha256$${b64url(salt)}$${b64url(new Uint8Array(digest))}`);
}
