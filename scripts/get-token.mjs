#!/usr/bin/env node
// Gets a DPoP-bound access token with client_credentials, the way a client would, and verifies it:
//
//   node scripts/get-token.mjs [--issuer http://127.0.0.1:8787] [--client dev-client]
//                              [--secret dev-secret | --private-key-jwt FILE] [--scope urn:se:curity:scopes:haapi]
//
// 1. reads the server metadata at <issuer>/.well-known/oauth-authorization-server (RFC 8414);
// 2. makes a fresh ES256 DPoP key and proof (RFC 9449);
// 3. posts grant_type=client_credentials to the token endpoint, authenticated with client_secret_basic,
//    or with an RFC 7523 client assertion signed by the private JWK in FILE when --private-key-jwt is given;
// 4. on 400 use_dpop_nonce, retries once with the DPoP-Nonce the server returned;
// 5. verifies the access token against the server's jwks_uri: signature, typ at+jwt, iss, and that
//    cnf.jkt is the thumbprint of the DPoP key;
// 6. prints {"token_response": ..., "header": ..., "claims": ...} as JSON.
// Exits 1 with the server's error (or the failed check) on stderr, 2 on a usage error.
import { readFile } from "node:fs/promises";
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
} from "jose";
import { basicAuthorization, parseOptions } from "./cli-common.mjs";

const USAGE =
  "usage: node scripts/get-token.mjs [--issuer URL] [--client ID] [--secret SECRET | --private-key-jwt FILE] [--scope SCOPE]\n" +
  "defaults: --issuer http://127.0.0.1:8787 --client dev-client --secret dev-secret --scope urn:se:curity:scopes:haapi";
const OPTIONS = ["issuer", "client", "secret", "scope", "private-key-jwt"];
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

class Failure extends Error {}

function parseArgs(argv) {
  return parseOptions(argv, {
    script: "get-token",
    usage: USAGE,
    names: OPTIONS,
    defaults: {
      issuer: "http://127.0.0.1:8787",
      client: "dev-client",
      secret: "dev-secret",
      scope: "urn:se:curity:scopes:haapi",
    },
  });
}

/** The JWS alg for a private JWK: its own `alg`, else the usual one for its key type. */
function algorithmFor(jwk) {
  if (typeof jwk.alg === "string") return jwk.alg;
  if (jwk.kty === "EC") return { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" }[jwk.crv];
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "RSA") return "RS256";
  return undefined;
}

async function loadAssertionKey(file) {
  let jwk;
  try {
    jwk = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new Failure(`cannot read private JWK ${file}: ${error.message}`);
  }
  if (!jwk || typeof jwk !== "object" || !("d" in jwk)) throw new Failure(`${file}: not a private JWK (no "d")`);
  const alg = algorithmFor(jwk);
  if (!alg) throw new Failure(`${file}: cannot tell the signing alg; add "alg" to the JWK`);
  return { alg, kid: jwk.kid, key: await importJWK(jwk, alg) };
}

/** RFC 7523 §3 client assertion: iss = sub = client_id, aud = issuer, short-lived, single-use jti. */
async function clientAssertion(assertionKey, clientId, audience) {
  return new SignJWT({})
    .setProtectedHeader({ alg: assertionKey.alg, ...(assertionKey.kid ? { kid: assertionKey.kid } : {}) })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime("60s")
    .setJti(crypto.randomUUID())
    .sign(assertionKey.key);
}

async function dpopProof(dpopKey, method, url, nonce) {
  return new SignJWT({ htm: method, htu: url, ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ typ: "dpop+jwt", alg: "ES256", jwk: dpopKey.publicJwk })
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .sign(dpopKey.privateKey);
}

async function readJson(response, what) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Failure(`${what}: HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`);
  }
}

async function fetchOrFail(url, init, what) {
  try {
    return await fetch(url, init);
  } catch (error) {
    throw new Failure(`${what}: cannot reach ${url}: ${error.cause?.message ?? error.message}`);
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const assertionKey = options["private-key-jwt"] ? await loadAssertionKey(options["private-key-jwt"]) : undefined;

  // 1. Metadata.
  const metadataUrl = `${options.issuer}/.well-known/oauth-authorization-server`;
  const metadataResponse = await fetchOrFail(metadataUrl, { headers: { Accept: "application/json" } }, "metadata");
  const metadata = await readJson(metadataResponse, "metadata");
  if (!metadataResponse.ok) throw new Failure(`metadata: HTTP ${metadataResponse.status}: ${JSON.stringify(metadata)}`);
  if (metadata.issuer !== options.issuer)
    throw new Failure(
      `metadata: issuer is ${JSON.stringify(metadata.issuer)}, expected ${JSON.stringify(options.issuer)} (RFC 8414 §3.3)`,
    );
  for (const field of ["token_endpoint", "jwks_uri"]) {
    if (typeof metadata[field] !== "string") throw new Failure(`metadata: no ${field}`);
  }

  // 2. A fresh DPoP key.
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const publicJwk = await exportJWK(publicKey);
  const dpopKey = { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, "sha256") };

  // 3-4. The token request, retried once with the server's nonce.
  let nonce;
  let response;
  let body;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (options.scope) form.set("scope", options.scope);
    const headers = {
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
      DPoP: await dpopProof(dpopKey, "POST", metadata.token_endpoint, nonce),
    };
    if (assertionKey) {
      form.set("client_id", options.client);
      form.set("client_assertion_type", JWT_BEARER);
      form.set("client_assertion", await clientAssertion(assertionKey, options.client, metadata.issuer));
    } else {
      headers.Authorization = basicAuthorization(options.client, options.secret);
    }
    response = await fetchOrFail(metadata.token_endpoint, { method: "POST", headers, body: form }, "token request");
    body = await readJson(response, "token request");
    const serverNonce = response.headers.get("DPoP-Nonce");
    if (response.status === 400 && body.error === "use_dpop_nonce" && serverNonce && attempt === 1) {
      nonce = serverNonce;
      continue;
    }
    break;
  }
  if (!response.ok) {
    const description = body.error_description ? `: ${body.error_description}` : "";
    throw new Failure(`token request: HTTP ${response.status} ${body.error ?? JSON.stringify(body)}${description}`);
  }
  if (typeof body.access_token !== "string")
    throw new Failure(`token request: no access_token in ${JSON.stringify(body)}`);
  if (String(body.token_type).toLowerCase() !== "dpop")
    throw new Failure(`token request: token_type is ${JSON.stringify(body.token_type)}, expected DPoP`);

  // 5. Verify the access token with the server's published keys.
  let verified;
  try {
    verified = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(metadata.jwks_uri)), {
      typ: "at+jwt",
      issuer: metadata.issuer,
    });
  } catch (error) {
    const detail = error instanceof errors.JOSEError ? `${error.code}: ${error.message}` : error.message;
    throw new Failure(`access token does not verify against ${metadata.jwks_uri}: ${detail}`);
  }
  const jkt = verified.payload.cnf?.jkt;
  if (jkt !== dpopKey.jkt)
    throw new Failure(
      `access token cnf.jkt is ${JSON.stringify(jkt)}, expected the DPoP key thumbprint ${dpopKey.jkt}`,
    );

  // 6. Output.
  console.log(
    JSON.stringify({ token_response: body, header: verified.protectedHeader, claims: verified.payload }, null, 2),
  );
}

main().catch((error) => {
  console.error(`get-token: ${error instanceof Failure ? error.message : (error.stack ?? error)}`);
  process.exit(1);
});
