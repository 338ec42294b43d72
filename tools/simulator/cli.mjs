#!/usr/bin/env node
// Device simulator CLI: `npm run simulate -- android|ios [options]`.
// Gets a CAT challenge, makes a DPoP key, builds an attestation signed by the local test CA,
// exchanges it for a CAT, then exchanges the CAT for a HAAPI access token (DPoP-bound).

import { parseArgs } from "node:util";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { makeAndroidAttestation } from "./android.mjs";
import { makeAppAttestation } from "./ios.mjs";
import { attestedChallengeBytes, createDpopProof, generateDpopKeyPair, jwkThumbprint } from "./dpop.mjs";
import { toBase64 } from "./x509.mjs";
import {
  CAT_ASSERTION_TYPE,
  DEFAULT_ANDROID_PACKAGE,
  DEFAULT_ANDROID_PACKAGE_VERSION,
  DEFAULT_ANDROID_SIGNATURE_DIGEST,
  DEFAULT_CLIENT_ID,
  DEFAULT_IOS_APP_ID,
  DEFAULT_IOS_ENVIRONMENT,
  DEFAULT_SERVER,
  HAAPI_SCOPE,
  SIMULATOR_SIGNING_CERTIFICATE_TEXT,
} from "./defaults.mjs";

const USAGE = `Usage: npm run simulate -- <android|ios> [options]

Simulates a device: gets a CAT challenge, attests a DPoP key with a real-format attestation
signed by the local development test CA (dev/test-ca/, NOT FOR PRODUCTION), gets a CAT, then a
DPoP-bound HAAPI access token. Prints the challenge, the CAT claims and the token response.

Common options:
  --server URL            issuer base URL (default ${DEFAULT_SERVER})
  --client-id ID          client_id (default ${DEFAULT_CLIENT_ID})
  --offline               only build and print the challenge_response for a random challenge
  --json                  human-readable output goes to stderr; stdout gets one JSON object at the
                          end: {platform, server, client_id, jkt, challenge, cat, cat_header,
                          cat_claims, token_response, access_token_header, access_token_claims}
                          (offline: {platform, jkt, challenge, challenge_response}); on failure
                          stdout stays empty and the exit status is 1
  -h, --help              this text

Android options:
  --package NAME          package name (default ${DEFAULT_ANDROID_PACKAGE})
  --package-version N     versionCode (default ${DEFAULT_ANDROID_PACKAGE_VERSION})
  --digest B64            signing certificate SHA-256, base64; repeatable
                          (default ${DEFAULT_ANDROID_SIGNATURE_DIGEST} =
                          base64(SHA-256(UTF-8("${SIMULATOR_SIGNING_CERTIFICATE_TEXT}"))))
  --security-level L      software | trusted-environment | strongbox (default trusted-environment)
  --boot-state S          verified | self-signed | unverified | failed (default verified)
  --unlocked              report an unlocked bootloader (deviceLocked false)
  --os-version N          e.g. 160000 (default 160000)
  --os-patch-level YYYYMM (default the current month)

iOS options:
  --app-id ID             <teamId>.<bundleId> (default ${DEFAULT_IOS_APP_ID})
  --environment E         development | production (default ${DEFAULT_IOS_ENVIRONMENT})
`;

class CliError extends Error {}

/** @param {string} msg @returns {never} */
function fail(msg) {
  throw new CliError(msg);
}

/**
 * @param {string} label
 * @param {string} url
 * @param {RequestInit} init
 * @returns {Promise<Response>}
 */
async function send(label, url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = /** @type {any} */ (e)?.cause?.code ?? /** @type {Error} */ (e).message;
    return fail(`${label}: cannot reach ${url} (${cause}). Is the server running (npm start)?`);
  }
}

/** @param {string} label @param {Response} res @returns {Promise<never>} */
async function refused(label, res) {
  const body = await res.text();
  const headers = ["www-authenticate", "dpop-nonce"]
    .map((h) => (res.headers.get(h) ? `\n  ${h}: ${res.headers.get(h)}` : ""))
    .join("");
  return fail(`${label} refused: HTTP ${res.status} ${res.statusText}${headers}\n  body: ${body || "(empty)"}`);
}

/** Where the human-readable output goes: stdout, or stderr with --json (stdout is then the JSON result). */
let say = (/** @type {string} */ text) => console.log(text);

/** @param {string} title @param {unknown} value */
function show(title, value) {
  say(`\n== ${title}`);
  say(typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

/** @param {string} jwt */
function decoded(jwt) {
  try {
    return { header: decodeProtectedHeader(jwt), claims: decodeJwt(jwt) };
  } catch {
    return undefined;
  }
}

/**
 * POST a form with a DPoP proof; retry once with the server's nonce on use_dpop_nonce.
 * @param {string} label
 * @param {string} url
 * @param {URLSearchParams} form
 * @param {CryptoKeyPair} keyPair
 * @returns {Promise<Response>}
 */
async function postWithDpop(label, url, form, keyPair) {
  /** @param {string} [nonce] */
  const attempt = async (nonce) =>
    send(label, url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        DPoP: await createDpopProof({ keyPair, htm: "POST", htu: url, nonce }),
      },
      body: form.toString(),
    });
  let res = await attempt();
  const nonce = res.headers.get("dpop-nonce");
  if ((res.status === 400 || res.status === 401) && nonce) {
    const body = await res.clone().text();
    const wantsNonce = body.includes("use_dpop_nonce") || (res.headers.get("www-authenticate") ?? "").includes("use_dpop_nonce");
    if (wantsNonce) {
      say(`(${label}: server asked for a DPoP nonce; retrying with it)`);
      res = await attempt(nonce);
    }
  }
  return res;
}

/**
 * @param {"android" | "ios"} platform
 * @param {Record<string, any>} v parsed options
 * @param {string} challenge
 * @param {CryptoKeyPair} dpopKey
 * @returns {Promise<Record<string, unknown>>} challenge_response object
 */
async function buildChallengeResponse(platform, v, challenge, dpopKey) {
  const jkt = await jwkThumbprint(dpopKey.publicKey);
  const bytes = await attestedChallengeBytes(challenge, jkt);
  show("DPoP key thumbprint (jkt)", jkt);
  show("attested bytes = SHA-256(challenge + \".\" + jkt), base64", toBase64(bytes));
  if (platform === "android") {
    const chain = await makeAndroidAttestation({
      challenge: bytes,
      deviceKey: dpopKey, // the simulator attests the DPoP key itself
      packageName: v.package,
      packageVersion: v["package-version"] === undefined ? undefined : Number(v["package-version"]),
      signatureDigests: v.digest?.length ? v.digest : undefined,
      securityLevel: v["security-level"],
      bootState: v["boot-state"],
      deviceLocked: !v.unlocked,
      osVersion: v["os-version"] === undefined ? undefined : Number(v["os-version"]),
      osPatchLevel: v["os-patch-level"] === undefined ? undefined : Number(v["os-patch-level"]),
    });
    return { platform: "android", certificate_chain: chain };
  }
  const att = await makeAppAttestation({ clientDataHash: bytes, appId: v["app-id"], environment: v.environment });
  return { platform: "ios", key_id: att.keyId, attestation_object: att.attestationObject };
}

async function main() {
  const { values: v, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      server: { type: "string", default: DEFAULT_SERVER },
      "client-id": { type: "string", default: DEFAULT_CLIENT_ID },
      offline: { type: "boolean" },
      json: { type: "boolean" },
      package: { type: "string" },
      "package-version": { type: "string" },
      digest: { type: "string", multiple: true },
      "security-level": { type: "string" },
      "boot-state": { type: "string" },
      unlocked: { type: "boolean" },
      "os-version": { type: "string" },
      "os-patch-level": { type: "string" },
      "app-id": { type: "string" },
      environment: { type: "string" },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return;
  }
  if (v.json) say = (text) => console.error(text);
  const platform = positionals[0];
  if (platform !== "android" && platform !== "ios") {
    console.error(USAGE);
    fail(platform ? `unknown platform "${platform}" (android or ios)` : "missing platform (android or ios)");
  }
  if (v["security-level"] && !["software", "trusted-environment", "strongbox"].includes(v["security-level"]))
    fail(`--security-level must be software, trusted-environment or strongbox`);
  if (v["boot-state"] && !["verified", "self-signed", "unverified", "failed"].includes(v["boot-state"]))
    fail(`--boot-state must be verified, self-signed, unverified or failed`);
  if (v.environment && !["development", "production"].includes(v.environment))
    fail(`--environment must be development or production`);

  const dpopKey = await generateDpopKeyPair();

  if (v.offline) {
    const challenge = crypto.randomUUID();
    show("challenge (random, offline)", challenge);
    const challengeResponse = await buildChallengeResponse(platform, v, challenge, dpopKey);
    show("challenge_response", challengeResponse);
    if (v.json) {
      const jkt = await jwkThumbprint(dpopKey.publicKey);
      console.log(JSON.stringify({ platform, jkt, challenge, challenge_response: challengeResponse }));
    }
    return;
  }

  const base = /** @type {string} */ (v.server).replace(/\/+$/, "");
  const clientId = /** @type {string} */ (v["client-id"]);
  const catUrl = `${base}/oauth/v2/oauth-token/cat`;
  const tokenUrl = `${base}/oauth/v2/oauth-token`;

  // 1. challenge
  const challengeRes = await send("CAT challenge", `${catUrl}?client_id=${encodeURIComponent(clientId)}`, {
    headers: { accept: "application/json" },
  });
  if (!challengeRes.ok) await refused(`GET ${catUrl}`, challengeRes);
  const challengeText = (await challengeRes.text()).trim();
  let challenge = challengeText;
  if ((challengeRes.headers.get("content-type") ?? "").includes("json") || challengeText.startsWith("{")) {
    try {
      challenge = JSON.parse(challengeText).challenge;
    } catch {
      fail(`GET ${catUrl}: response is not JSON: ${challengeText}`);
    }
  }
  if (typeof challenge !== "string" || !challenge) fail(`GET ${catUrl}: no challenge in response: ${challengeText}`);
  show("challenge", challenge);

  // 2. attestation + CAT
  const challengeResponse = await buildChallengeResponse(platform, v, challenge, dpopKey);
  const catRes = await postWithDpop(
    "CAT issuance",
    catUrl,
    new URLSearchParams({ challenge, challenge_response: JSON.stringify(challengeResponse) }),
    dpopKey,
  );
  if (!catRes.ok) await refused(`POST ${catUrl}`, catRes);
  const catBody = await catRes.json().catch(() => fail(`POST ${catUrl}: response is not JSON`));
  const cat = catBody?.cat;
  if (typeof cat !== "string") fail(`POST ${catUrl}: no "cat" in response: ${JSON.stringify(catBody)}`);
  const catDecoded = decoded(cat);
  show("CAT (decoded)", catDecoded ?? cat);

  // 3. HAAPI access token
  const tokenRes = await postWithDpop(
    "HAAPI token",
    tokenUrl,
    new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_assertion_type: CAT_ASSERTION_TYPE,
      client_assertion: cat,
      scope: HAAPI_SCOPE,
    }),
    dpopKey,
  );
  if (!tokenRes.ok) await refused(`POST ${tokenUrl}`, tokenRes);
  const tokenBody = await tokenRes.json().catch(() => fail(`POST ${tokenUrl}: response is not JSON`));
  show("token response", tokenBody);
  const at = typeof tokenBody?.access_token === "string" ? decoded(tokenBody.access_token) : undefined;
  if (at) show("access token (decoded)", at);
  if (v.json) {
    console.log(
      JSON.stringify({
        platform,
        server: base,
        client_id: clientId,
        jkt: await jwkThumbprint(dpopKey.publicKey),
        challenge,
        cat,
        cat_header: catDecoded?.header ?? null,
        cat_claims: catDecoded?.claims ?? null,
        token_response: tokenBody,
        access_token_header: at?.header ?? null,
        access_token_claims: at?.claims ?? null,
      }),
    );
  }
}

main().catch((e) => {
  if (e instanceof CliError) {
    console.error(`\nsimulate: ${e.message}`);
  } else {
    console.error(e);
  }
  process.exitCode = 1;
});
