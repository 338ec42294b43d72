#!/usr/bin/env node
// Prints one fresh DPoP proof (RFC 9449, ES256) for a request, for use with curl:
//
//   node scripts/dpop-proof.mjs METHOD URL [--nonce N] [--ath ACCESS_TOKEN] [--key FILE]
//
//   curl -i -u dev-client:dev-secret \
//     -H "DPoP: $(node scripts/dpop-proof.mjs POST http://127.0.0.1:8787/oauth/v2/oauth-token)" \
//     -d grant_type=client_credentials -d scope=urn:se:curity:scopes:haapi \
//     http://127.0.0.1:8787/oauth/v2/oauth-token
//
// The first answer is 400 use_dpop_nonce with a DPoP-Nonce header; repeat with --nonce <that value>.
// The device key is kept in FILE (default .dpop-key.json in the current directory, created on first
// use), so every proof is made with the same key and the token stays bound to it. Test use only: the
// file holds a private key in plain text.
import { readFile, writeFile } from "node:fs/promises";
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT } from "jose";

const USAGE = "usage: node scripts/dpop-proof.mjs METHOD URL [--nonce N] [--ath ACCESS_TOKEN] [--key FILE]";

function parseArgs(argv) {
  const positional = [];
  const options = { key: ".dpop-key.json" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (!["nonce", "ath", "key"].includes(name)) fail(`unknown option --${name}`);
      const value = inline ?? argv[++i];
      if (value === undefined) fail(`--${name} needs a value`);
      options[name] = value;
    } else positional.push(arg);
  }
  if (positional.length !== 2) fail("METHOD and URL are required");
  const [method, url] = positional;
  let htu;
  try {
    htu = new URL(url);
  } catch {
    fail(`not an absolute URL: ${url}`);
  }
  htu.search = "";
  htu.hash = "";
  return { method: method.toUpperCase(), htu: htu.href, ...options };
}

function fail(message) {
  console.error(`dpop-proof: ${message}\n${USAGE}`);
  process.exit(2);
}

/** The device key from `file`, or a new ES256 key written there (mode 0600). */
async function deviceKey(file) {
  let privateJwk;
  try {
    privateJwk = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    if (error.code !== "ENOENT") fail(`cannot read key file ${file}: ${error.message}`);
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    privateJwk = await exportJWK(privateKey);
    try {
      await writeFile(file, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    } catch (writeError) {
      // Another invocation created it first: use that one so both proofs share a key.
      if (writeError.code !== "EEXIST") fail(`cannot write key file ${file}: ${writeError.message}`);
      privateJwk = JSON.parse(await readFile(file, "utf8"));
    }
  }
  if (privateJwk.kty !== "EC" || privateJwk.crv !== "P-256" || !privateJwk.d)
    fail(`${file}: not a private EC P-256 JWK`);
  const { kty, crv, x, y } = privateJwk;
  const publicJwk = { kty, crv, x, y };
  return {
    privateKey: await importJWK(privateJwk, "ES256"),
    publicJwk,
    jkt: await calculateJwkThumbprint(publicJwk, "sha256"),
  };
}

const args = parseArgs(process.argv.slice(2));
const key = await deviceKey(args.key);
const claims = { htm: args.method, htu: args.htu, ...(args.nonce ? { nonce: args.nonce } : {}) };
if (args.ath) {
  claims.ath = base64url.encode(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(args.ath))),
  );
}
const proof = await new SignJWT(claims)
  .setProtectedHeader({ typ: "dpop+jwt", alg: "ES256", jwk: key.publicJwk })
  .setJti(crypto.randomUUID())
  .setIssuedAt()
  .sign(key.privateKey);
process.stdout.write(`${proof}\n`);
