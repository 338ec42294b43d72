// The attested path of the simulator CLI (Node only): CAT challenge, attestation signed by the local
// test CA, CAT, then a DPoP-bound HAAPI access token with the CAT as client assertion.

import { makeAndroidAttestation } from "./android.mjs";
import { makeAppAttestation } from "./ios.mjs";
import { attestedChallengeBytes, jwkThumbprint } from "./dpop.mjs";
import { toBase64 } from "./x509.mjs";
import { CAT_ASSERTION_TYPE, HAAPI_SCOPE } from "./defaults.mjs";
import { decoded, fail, jsonBody, postWithDpop, refused, send, show } from "./cli-io.mjs";

/**
 * @typedef {object} DeviceOptions the CLI's Android and iOS options, as parsed (strings)
 * @property {string} [package]
 * @property {string} [package-version]
 * @property {string[]} [digest]
 * @property {"software" | "trusted-environment" | "strongbox"} [security-level]
 * @property {"verified" | "self-signed" | "unverified" | "failed"} [boot-state]
 * @property {boolean} [unlocked]
 * @property {string} [os-version]
 * @property {string} [os-patch-level]
 * @property {string} [app-id]
 * @property {"development" | "production"} [environment]
 */

/**
 * The challenge_response for a challenge: the device attests SHA-256(challenge + "." + jkt).
 * @param {"android" | "ios"} platform
 * @param {DeviceOptions} v
 * @param {string} challenge
 * @param {CryptoKeyPair} dpopKey
 * @returns {Promise<Record<string, unknown>>}
 */
export async function buildChallengeResponse(platform, v, challenge, dpopKey) {
  const jkt = await jwkThumbprint(dpopKey.publicKey);
  const bytes = await attestedChallengeBytes(challenge, jkt);
  show("DPoP key thumbprint (jkt)", jkt);
  show('attested bytes = SHA-256(challenge + "." + jkt), base64', toBase64(bytes));
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

/**
 * @typedef {object} CatResult
 * @property {string} challenge
 * @property {string} cat
 * @property {ReturnType<typeof decoded>} catDecoded
 */

/**
 * Steps 1 and 2: challenge, attestation, CAT. A refusal by the server is a RefusedError (the point
 * where a HAAPI SDK gives up on attestation and falls back to dynamic client registration).
 * @param {{ platform: "android" | "ios", device: DeviceOptions, base: string, clientId: string, dpopKey: CryptoKeyPair }} o
 * @returns {Promise<CatResult>}
 */
export async function getCat({ platform, device, base, clientId, dpopKey }) {
  const catUrl = `${base}/oauth/v2/oauth-token/cat`;
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

  const challengeResponse = await buildChallengeResponse(platform, device, challenge, dpopKey);
  const catRes = await postWithDpop(
    "CAT issuance",
    catUrl,
    new URLSearchParams({ challenge, challenge_response: JSON.stringify(challengeResponse) }),
    dpopKey,
  );
  if (!catRes.ok) await refused(`POST ${catUrl}`, catRes);
  const catBody = await jsonBody(`POST ${catUrl}`, catRes);
  const cat = catBody?.cat;
  if (typeof cat !== "string") fail(`POST ${catUrl}: no "cat" in response: ${JSON.stringify(catBody)}`);
  const catDecoded = decoded(cat);
  show("CAT (decoded)", catDecoded ?? cat);
  return { challenge, cat, catDecoded };
}

/**
 * Step 3: the HAAPI access token, with the CAT as client assertion and a proof by the attested key.
 * @param {{ base: string, clientId: string, cat: string, dpopKey: CryptoKeyPair }} o
 * @returns {Promise<Record<string, unknown>>} the token response
 */
export async function haapiTokenWithCat({ base, clientId, cat, dpopKey }) {
  const tokenUrl = `${base}/oauth/v2/oauth-token`;
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
  return jsonBody(`POST ${tokenUrl}`, tokenRes);
}
