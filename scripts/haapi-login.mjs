#!/usr/bin/env node
// Runs the whole HAAPI login flow against a running server, the way an app with a HAAPI SDK would:
//
//   node scripts/haapi-login.mjs [--issuer http://127.0.0.1:8787] [--client dev-client] [--secret dev-secret]
//                                [--user demo] [--password demo-password] [--redirect-uri app://haapi]
//                                [--scope "openid profile email"]
//
// 1. reads <issuer>/.well-known/openid-configuration;
// 2. makes a fresh ES256 DPoP key and gets a HAAPI access token (client_credentials, scope
//    urn:se:curity:scopes:haapi, client_secret_basic), retrying once with the server's DPoP nonce;
// 3. GET authorize with Accept: application/vnd.auth+json, the HAAPI token as DPoP, PKCE S256, state
//    and nonce; keeps the Set-Session-Id; picks the username/password form if a selector comes first;
// 4. follows the login action with the username and password: the oauth-authorization-response;
// 5. redeems the code at the token endpoint with DPoP (the same key: token-bound codes need it);
// 6. refreshes once;
// and prints every representation and every token response, with the tokens decoded (signatures checked
// against jwks_uri, the ID token's nonce and the access token's cnf.jkt checked too).
// Exits 1 with the server's answer (or the failed check) on stderr, 2 on a usage error.
import { base64url, createRemoteJWKSet, errors, jwtVerify } from "jose";
import { createDpopProof, generateDpopKeyPair, jwkThumbprint } from "../tools/simulator/dpop.mjs";
import { basicAuthorization, parseOptions } from "./cli-common.mjs";

const USAGE =
  "usage: node scripts/haapi-login.mjs [--issuer URL] [--client ID] [--secret SECRET] [--user NAME] [--password PASSWORD] [--redirect-uri URI] [--scope SCOPE]\n" +
  'defaults: --issuer http://127.0.0.1:8787 --client dev-client --secret dev-secret --user demo --password demo-password --redirect-uri app://haapi --scope "openid profile email"';
const OPTIONS = ["issuer", "client", "secret", "user", "password", "redirect-uri", "scope"];
const HAAPI = "application/vnd.auth+json";
const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";

class Failure extends Error {}

function parseArgs(argv) {
  return parseOptions(argv, {
    script: "haapi-login",
    usage: USAGE,
    names: OPTIONS,
    defaults: {
      issuer: "http://127.0.0.1:8787",
      client: "dev-client",
      secret: "dev-secret",
      user: "demo",
      password: "demo-password",
      "redirect-uri": "app://haapi",
      scope: "openid profile email",
    },
  });
}

function section(title, value) {
  console.log(`\n== ${title}`);
  if (value !== undefined) console.log(typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

async function readJson(response, what) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Failure(`${what}: HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`);
  }
}

/**
 * A client that signs a DPoP proof for every request with one key, keeps the server's latest nonce and
 * retries once when told to use it (400 use_dpop_nonce at the token endpoint, 401 at resources).
 */
class DpopClient {
  nonce = undefined;

  constructor(keyPair) {
    this.keyPair = keyPair;
  }

  async send(url, { method = "GET", headers = {}, form, accessToken } = {}, what = url) {
    for (let attempt = 1; ; attempt++) {
      const proof = await createDpopProof({
        keyPair: this.keyPair,
        htm: method,
        htu: url,
        ...(this.nonce ? { nonce: this.nonce } : {}),
        ...(accessToken ? { accessToken } : {}),
      });
      let response;
      try {
        response = await fetch(url, {
          method,
          headers: {
            ...headers,
            DPoP: proof,
            ...(accessToken ? { Authorization: `DPoP ${accessToken}` } : {}),
            ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
          },
          ...(form ? { body: new URLSearchParams(form) } : {}),
        });
      } catch (error) {
        throw new Failure(`${what}: cannot reach ${url}: ${error.cause?.message ?? error.message}`);
      }
      const fresh = response.headers.get("DPoP-Nonce");
      if (fresh) this.nonce = fresh;
      const challenge = response.headers.get("WWW-Authenticate") ?? "";
      const body = await readJson(response, what);
      const askedForNonce =
        (response.status === 401 && challenge.includes("use_dpop_nonce")) ||
        (response.status === 400 && body.error === "use_dpop_nonce");
      if (askedForNonce && fresh && attempt === 1) continue;
      if (!response.ok)
        throw new Failure(
          `${what}: HTTP ${response.status} ${JSON.stringify(body)}${challenge ? ` (WWW-Authenticate: ${challenge})` : ""}`,
        );
      return { response, body };
    }
  }
}

async function verified(token, jwks, issuer, options, what) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, algorithms: ["ES256"], ...options });
    return { header: protectedHeader, claims: payload };
  } catch (error) {
    const detail = error instanceof errors.JOSEError ? `${error.code}: ${error.message}` : error.message;
    throw new Failure(`${what} does not verify: ${detail}`);
  }
}

/** A token response with its tokens decoded and checked. */
async function decodeTokens(body, { jwks, issuer, clientId, jkt, nonce }) {
  if (String(body.token_type).toLowerCase() !== "dpop")
    throw new Failure(`token_type is ${JSON.stringify(body.token_type)}, expected DPoP`);
  const access = await verified(body.access_token, jwks, issuer, { typ: "at+jwt", audience: issuer }, "access token");
  if (access.claims.cnf?.jkt !== jkt)
    throw new Failure(`access token cnf.jkt is ${JSON.stringify(access.claims.cnf?.jkt)}, expected ${jkt}`);
  const decoded = { access_token: access };
  if (body.id_token) {
    const id = await verified(body.id_token, jwks, issuer, { audience: clientId }, "ID token");
    if (nonce !== undefined && id.claims.nonce !== nonce)
      throw new Failure(`ID token nonce is ${JSON.stringify(id.claims.nonce)}, expected ${JSON.stringify(nonce)}`);
    decoded.id_token = id;
  }
  const short = (token) => (typeof token === "string" ? `${token.slice(0, 24)}...(${token.length} chars)` : token);
  return {
    response: {
      ...body,
      access_token: short(body.access_token),
      ...(body.id_token ? { id_token: short(body.id_token) } : {}),
      ...(body.refresh_token ? { refresh_token: short(body.refresh_token) } : {}),
    },
    decoded,
  };
}

function randomString(bytes = 32) {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const { issuer, client: clientId, secret } = options;

  // 1. Metadata.
  let metadataResponse;
  try {
    metadataResponse = await fetch(`${issuer}/.well-known/openid-configuration`, {
      headers: { Accept: "application/json" },
    });
  } catch (error) {
    throw new Failure(
      `metadata: cannot reach ${issuer}: ${error.cause?.message ?? error.message} (is the server running? npm start)`,
    );
  }
  const metadata = await readJson(metadataResponse, "metadata");
  if (!metadataResponse.ok) throw new Failure(`metadata: HTTP ${metadataResponse.status}: ${JSON.stringify(metadata)}`);
  if (metadata.issuer !== issuer)
    throw new Failure(`metadata: issuer is ${JSON.stringify(metadata.issuer)}, expected ${JSON.stringify(issuer)}`);
  for (const field of ["token_endpoint", "authorization_endpoint", "jwks_uri"]) {
    if (typeof metadata[field] !== "string") throw new Failure(`metadata: no ${field}`);
  }
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));

  // 2. The device's DPoP key and a HAAPI access token.
  const keyPair = await generateDpopKeyPair();
  const jkt = await jwkThumbprint(keyPair.publicKey);
  const dpop = new DpopClient(keyPair);
  const authorization = basicAuthorization(clientId, secret);
  const haapi = await dpop.send(
    metadata.token_endpoint,
    {
      method: "POST",
      headers: { Authorization: authorization, Accept: "application/json" },
      form: { grant_type: "client_credentials", scope: HAAPI_SCOPE },
    },
    "HAAPI token",
  );
  const haapiToken = haapi.body.access_token;
  const haapiDecoded = await verified(
    haapiToken,
    jwks,
    issuer,
    { typ: "at+jwt", audience: issuer },
    "HAAPI access token",
  );
  section(`1. HAAPI access token (client_credentials, DPoP key ${jkt})`, {
    scope: haapi.body.scope,
    expires_in: haapi.body.expires_in,
    claims: haapiDecoded.claims,
  });

  // 3. The authorization request, through HAAPI.
  let sessionId;
  const haapiRequest = async (url, init, what) => {
    const result = await dpop.send(
      url,
      {
        ...init,
        accessToken: haapiToken,
        headers: { Accept: HAAPI, ...(sessionId ? { "Session-Id": sessionId } : {}) },
      },
      what,
    );
    sessionId = result.response.headers.get("Set-Session-Id") ?? sessionId;
    return result.body;
  };
  const verifier = randomString();
  const challenge = base64url.encode(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  const state = randomString(16);
  const nonce = randomString(16);
  const authorize = new URL(metadata.authorization_endpoint);
  for (const [name, value] of Object.entries({
    client_id: clientId,
    response_type: "code",
    redirect_uri: options["redirect-uri"],
    scope: options.scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  })) {
    authorize.searchParams.set(name, value);
  }
  let representation = await haapiRequest(authorize.href, {}, "authorize");
  section(
    `2. GET ${authorize.origin}${authorize.pathname}?... -> ${representation.type} (Session-Id ${sessionId?.slice(0, 16)}...)`,
    representation,
  );

  const actionOf = (kind) => (representation.actions ?? []).find((action) => action.kind === kind);
  const selector = actionOf("authenticator-selector");
  if (selector) {
    const option = selector.model.options.find((candidate) => candidate.properties?.authenticatorType === "html-form");
    if (!option) throw new Failure("the selector offers no username/password authenticator");
    representation = await haapiRequest(option.model.href, { method: option.model.method }, "select authenticator");
    section(`2b. ${option.model.method} ${option.model.href} -> ${representation.type}`, representation);
  }

  // 4. The login form.
  const login = actionOf("login");
  if (!login) throw new Failure(`no login action in ${JSON.stringify(representation)}`);
  representation = await haapiRequest(
    login.model.href,
    { method: login.model.method, form: { userName: options.user, password: options.password } },
    "login",
  );
  section(`3. ${login.model.method} ${login.model.href} -> ${representation.type}`, representation);
  if (representation.type !== "oauth-authorization-response")
    throw new Failure(`expected oauth-authorization-response, got ${representation.type}`);
  const { code, state: returnedState, iss } = representation.properties ?? {};
  if (returnedState !== state)
    throw new Failure(`state is ${JSON.stringify(returnedState)}, expected ${JSON.stringify(state)}`);
  if (iss !== issuer) throw new Failure(`iss is ${JSON.stringify(iss)}, expected ${JSON.stringify(issuer)} (RFC 9207)`);

  // 5. The code, redeemed with DPoP.
  const checks = { jwks, issuer, clientId, jkt, nonce };
  const tokens = await dpop.send(
    metadata.token_endpoint,
    {
      method: "POST",
      headers: { Authorization: authorization, Accept: "application/json" },
      form: { grant_type: "authorization_code", code, redirect_uri: options["redirect-uri"], code_verifier: verifier },
    },
    "authorization_code",
  );
  const redeemed = await decodeTokens(tokens.body, checks);
  section("4. POST token endpoint, grant_type=authorization_code", redeemed);

  // 6. One refresh (the refresh token rotates).
  if (!tokens.body.refresh_token) throw new Failure("no refresh_token (does the client have the refresh_token grant?)");
  const refreshed = await dpop.send(
    metadata.token_endpoint,
    {
      method: "POST",
      headers: { Authorization: authorization, Accept: "application/json" },
      form: { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token },
    },
    "refresh_token",
  );
  if (refreshed.body.refresh_token === tokens.body.refresh_token)
    throw new Failure("the refresh token was not rotated");
  section(
    "5. POST token endpoint, grant_type=refresh_token (rotated)",
    await decodeTokens(refreshed.body, { ...checks, nonce: undefined }),
  );
  section(
    `done: ${options.user} logged in to ${clientId} (sub ${redeemed.decoded.access_token.claims.sub}, cal ${redeemed.decoded.access_token.claims.cal})`,
  );
}

main().catch((error) => {
  console.error(`haapi-login: ${error instanceof Failure ? error.message : (error.stack ?? error)}`);
  process.exit(1);
});
