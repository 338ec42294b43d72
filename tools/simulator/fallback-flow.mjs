// The attestation fallback of the simulator CLI (Node only), what a HAAPI SDK does when the device
// cannot attest (templatized dynamic client registration, RFC 7591):
//   1. the main client gets an initial access token: client_credentials, scope dcr, with its own
//      credential (a secret, or a private_key_jwt assertion);
//   2. POST /token-service/oauth-registration {"software_id": <template>} with that token as Bearer
//      -> 201 with a per-device client_id and client_secret, stored like the SDK stores them;
//   3. a DPoP-bound HAAPI token with the dynamic client's id and secret (Basic), nonce retry included.
// With stored credentials, steps 1 and 2 are skipped: that is every later run on the same "device".

import { basicAuthorization } from "./client-auth.mjs";
import { DCR_SCOPE, HAAPI_SCOPE } from "./defaults.mjs";
import { decoded, fail, jsonBody, postWithDpop, refused, say, send, show } from "./cli-io.mjs";
import { loadClient, saveClient } from "./credential-store.mjs";

/** Path of the registration endpoint (the SDK is configured with the full URL). */
export const REGISTRATION_PATH = "/token-service/oauth-registration";

/**
 * @typedef {object} FallbackOptions
 * @property {string} base issuer base URL, no trailing slash
 * @property {import("./client-auth.mjs").ClientAuth} mainAuth how the main client authenticates
 * @property {string} template the template's client_id, sent as `software_id`
 * @property {string} [credentialsFile] where the dynamic client is stored; reused when it exists
 * @property {CryptoKeyPair} dpopKey the device's DPoP key
 */

/**
 * @typedef {object} FallbackResult
 * @property {boolean} registered false when stored credentials were reused
 * @property {string} main_client_id
 * @property {string | null} main_client_auth_method null when nothing was registered in this run
 * @property {import("jose").JWTPayload | null} initial_access_token_claims null when nothing was registered in this run
 * @property {Record<string, any> & { client_id: string, client_secret: string }} registration the registration response
 * @property {Record<string, any>} token_response
 */

/**
 * Step 1: the main client's initial access token (a Bearer token: no DPoP proof is sent).
 * @param {string} base
 * @param {import("./client-auth.mjs").ClientAuth} auth
 * @returns {Promise<{ token: string, claims: import("jose").JWTPayload | null }>}
 */
async function initialAccessToken(base, auth) {
  const tokenUrl = `${base}/oauth/v2/oauth-token`;
  const form = new URLSearchParams({ grant_type: "client_credentials", scope: DCR_SCOPE });
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  await auth.apply(form, headers, base);
  const res = await send("initial access token", tokenUrl, { method: "POST", headers, body: form.toString() });
  if (!res.ok) await refused(`POST ${tokenUrl} (initial access token for ${auth.clientId}, ${auth.method})`, res);
  const body = await jsonBody(`POST ${tokenUrl}`, res);
  if (typeof body?.access_token !== "string")
    fail(`POST ${tokenUrl}: no access_token in response: ${JSON.stringify(body)}`);
  const claims = decoded(body.access_token)?.claims ?? null;
  show(
    `initial access token for ${auth.clientId} (${auth.method}, scope ${DCR_SCOPE}; single use), decoded`,
    claims ?? body.access_token,
  );
  return { token: body.access_token, claims };
}

/**
 * Step 2: register a dynamic client from the template.
 * @param {string} base
 * @param {string} token the initial access token
 * @param {string} template
 * @returns {Promise<FallbackResult["registration"]>}
 */
async function register(base, token, template) {
  const url = `${base}${REGISTRATION_PATH}`;
  const res = await send("registration", url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ software_id: template }),
  });
  if (res.status !== 201) await refused(`POST ${url} (software_id ${template})`, res);
  const body = await jsonBody(`POST ${url}`, res);
  if (typeof body?.client_id !== "string" || typeof body?.client_secret !== "string") {
    fail(`POST ${url}: no client_id and client_secret in the registration response: ${JSON.stringify(body)}`);
  }
  show(
    "registration response (HTTP 201). client_secret and registration_access_token are shown only this once: keep them",
    body,
  );
  return body;
}

/**
 * Step 3: a HAAPI token with the dynamic client's credentials.
 * @param {string} base
 * @param {{ client_id: string, client_secret: string }} client
 * @param {CryptoKeyPair} dpopKey
 * @param {string} [storedIn] the credentials file, when the credentials came from it (for the hint on a refusal)
 * @returns {Promise<Record<string, any>>}
 */
async function haapiTokenWithSecret(base, client, dpopKey, storedIn) {
  const tokenUrl = `${base}/oauth/v2/oauth-token`;
  const res = await postWithDpop(
    "HAAPI token",
    tokenUrl,
    new URLSearchParams({ grant_type: "client_credentials", scope: HAAPI_SCOPE }),
    dpopKey,
    { authorization: basicAuthorization(client.client_id, client.client_secret) },
  );
  if (!res.ok) {
    const hint =
      storedIn && res.status === 401
        ? `the dynamic client stored in ${storedIn} was refused (deleted, its secret expired, or left unused too long?): delete the file to register a new one`
        : undefined;
    await refused(`POST ${tokenUrl} (HAAPI token for dynamic client ${client.client_id})`, res, hint);
  }
  return jsonBody(`POST ${tokenUrl}`, res);
}

/**
 * Register (or reuse) a dynamic client and get a HAAPI token with it.
 * @param {FallbackOptions} o
 * @returns {Promise<FallbackResult>}
 */
export async function runFallback(o) {
  const stored = o.credentialsFile ? await loadClient(o.credentialsFile) : undefined;
  if (stored) {
    if (stored.server !== o.base) {
      fail(
        `--credentials ${o.credentialsFile}: that client was registered at ${stored.server}, not ${o.base}; use another file or delete it`,
      );
    }
    const { client_id, software_id } = stored.registration;
    show(
      `reusing the dynamic client stored in ${o.credentialsFile}: no registration`,
      `client_id ${client_id} (template ${software_id ?? "?"}, main client ${stored.main_client_id}, registered ${stored.registered_at})`,
    );
    const token_response = await haapiTokenWithSecret(o.base, stored.registration, o.dpopKey, o.credentialsFile);
    return {
      registered: false,
      main_client_id: stored.main_client_id,
      main_client_auth_method: null,
      initial_access_token_claims: null,
      registration: stored.registration,
      token_response,
    };
  }

  const initial = await initialAccessToken(o.base, o.mainAuth);
  const registration = await register(o.base, initial.token, o.template);
  if (o.credentialsFile) {
    await saveClient(o.credentialsFile, {
      server: o.base,
      main_client_id: o.mainAuth.clientId,
      registered_at: new Date().toISOString(),
      registration,
    });
    say(
      `\n(dynamic client stored in ${o.credentialsFile}; the next run with --credentials ${o.credentialsFile} reuses it)`,
    );
  } else {
    say(
      "\n(dynamic client not stored: pass --credentials FILE to keep it, as the SDK does, and reuse it on the next run)",
    );
  }
  const token_response = await haapiTokenWithSecret(o.base, registration, o.dpopKey);
  return {
    registered: true,
    main_client_id: o.mainAuth.clientId,
    main_client_auth_method: o.mainAuth.method,
    initial_access_token_claims: initial.claims,
    registration,
    token_response,
  };
}
