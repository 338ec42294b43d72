#!/usr/bin/env node
// Device simulator CLI: `npm run simulate -- android|ios [options]`.
// Attested (the default): gets a CAT challenge, makes a DPoP key, builds an attestation signed by the
// local test CA, exchanges it for a CAT, then the CAT for a HAAPI access token (DPoP-bound).
// Attestation fallback (--no-attestation, or --fallback after a refused attestation): registers a
// dynamic client from a template with the main client's credential, then gets the HAAPI token with it.
// `uaf <command>`: the FIDO UAF phone simulator (uaf-cli.mjs).

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildChallengeResponse, getCat, haapiTokenWithCat } from "./attestation-flow.mjs";
import { clientSecretBasic, privateKeyJwt } from "./client-auth.mjs";
import { CliError, decoded, fail, RefusedError, show, textToStderr } from "./cli-io.mjs";
import { generateDpopKeyPair, jwkThumbprint } from "./dpop.mjs";
import { runFallback } from "./fallback-flow.mjs";
import { runUafCli } from "./uaf-cli.mjs";
import {
  DEFAULT_ANDROID_PACKAGE,
  DEFAULT_ANDROID_PACKAGE_VERSION,
  DEFAULT_ANDROID_SIGNATURE_DIGEST,
  DEFAULT_CLIENT_ID,
  DEFAULT_IOS_APP_ID,
  DEFAULT_IOS_ENVIRONMENT,
  DEFAULT_MAIN_CLIENT_ID,
  DEFAULT_MAIN_CLIENT_SECRET,
  DEFAULT_SERVER,
  DEFAULT_TEMPLATE_ID,
  JWT_MAIN_CLIENT_ID,
  JWT_MAIN_CLIENT_KEY_FILE,
  JWT_TEMPLATE_ID,
  SIMULATOR_SIGNING_CERTIFICATE_TEXT,
} from "./defaults.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const USAGE = `Usage: npm run simulate -- <android|ios> [options]
       npm run simulate -- uaf <register|authenticate|deregister|redeem|device|show> [options]   (uaf --help)

Simulates a device: gets a CAT challenge, attests a DPoP key with a real-format attestation
signed by the local development test CA (dev/test-ca/, NOT FOR PRODUCTION), gets a CAT, then a
DPoP-bound HAAPI access token. Prints the challenge, the CAT claims and the token response.

With --no-attestation or --fallback it plays a device that cannot attest, as a HAAPI SDK does in
its attestation fallback: the main client gets an initial access token (scope dcr), registers a
dynamic client from a template (POST /token-service/oauth-registration), and that client gets the
HAAPI token with its own id and secret. Prints the registration response, the token response and
the access token claims (cal: none for a secret main client, by-provisioned-key for private_key_jwt).

Common options:
  --server URL            issuer base URL (default ${DEFAULT_SERVER})
  --client-id ID          client that attests (default ${DEFAULT_CLIENT_ID}; with --fallback: the main client)
  --offline               only build and print the challenge_response for a random challenge
  --json                  human-readable output goes to stderr; stdout gets one JSON object at the
                          end (on failure stdout stays empty and the exit status is 1):
                          attested: {mode, platform, server, client_id, jkt, challenge, cat,
                          cat_header, cat_claims, token_response, access_token_header,
                          access_token_claims} (with --fallback also fell_back: false);
                          fallback: {mode, platform, server, fell_back (with --fallback),
                          attestation_error, main_client_id, main_client_auth_method, template,
                          credentials_file, registered, initial_access_token_claims, registration,
                          client_id, jkt, token_response, access_token_header, access_token_claims};
                          offline: {platform, jkt, challenge, challenge_response}
  -h, --help              this text

Attestation fallback (dynamic client registration):
  --no-attestation        skip attestation: register (or reuse) a dynamic client and use it
  --fallback              attest first (as --client-id); if the server refuses the attestation or
                          the CAT, print why and fall back as --no-attestation does.
                          Provoke it with --boot-state unverified (Android) or another --app-id (iOS)
  --main-client ID        main client (default ${DEFAULT_MAIN_CLIENT_ID})
  --main-secret S         its secret, client_secret_basic (default ${DEFAULT_MAIN_CLIENT_SECRET})
  --main-key FILE         its private JWK, private_key_jwt instead of a secret (default for
                          ${JWT_MAIN_CLIENT_ID}: ${JWT_MAIN_CLIENT_KEY_FILE}, publicly known)
  --template ID           software_id: the template to register from (default ${DEFAULT_TEMPLATE_ID};
                          ${JWT_TEMPLATE_ID} when the main client is ${JWT_MAIN_CLIENT_ID})
  --credentials FILE      keep the dynamic client's credentials in FILE (mode 0600), as the SDK keeps
                          them on the device; when FILE exists, reuse them and do not register.
                          Without it every run registers a new client

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

/** Options that only mean something in the fallback. */
const FALLBACK_OPTIONS = /** @type {const} */ (["main-client", "main-secret", "main-key", "template", "credentials"]);

/**
 * The access token's header and claims, shown and returned (nulls when it is not a JWT).
 * @param {Record<string, any>} tokenBody
 */
function showToken(tokenBody) {
  show("token response", tokenBody);
  const at = typeof tokenBody?.access_token === "string" ? decoded(tokenBody.access_token) : undefined;
  if (at) show("access token (decoded)", at);
  return { access_token_header: at?.header ?? null, access_token_claims: at?.claims ?? null };
}

/**
 * How the main client authenticates: private_key_jwt with --main-key (or the development key of
 * haapi-jwt-client), else client_secret_basic.
 * @param {string} clientId
 * @param {string | undefined} secret
 * @param {string | undefined} keyFile
 * @returns {Promise<import("./client-auth.mjs").ClientAuth>}
 */
async function mainClientAuth(clientId, secret, keyFile) {
  if (secret !== undefined && keyFile !== undefined)
    fail("--main-secret and --main-key exclude each other: a main client authenticates one way");
  const file =
    keyFile ??
    (secret === undefined && clientId === JWT_MAIN_CLIENT_ID ? resolve(ROOT, JWT_MAIN_CLIENT_KEY_FILE) : undefined);
  if (file === undefined) return clientSecretBasic(clientId, secret ?? DEFAULT_MAIN_CLIENT_SECRET);
  let jwk;
  try {
    jwk = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    return fail(`--main-key ${file}: cannot read a JWK (${/** @type {Error} */ (e).message})`);
  }
  try {
    return privateKeyJwt(clientId, jwk);
  } catch (e) {
    return fail(`--main-key ${file}: ${/** @type {Error} */ (e).message}`);
  }
}

async function main() {
  if (process.argv[2] === "uaf") return runUafCli(process.argv.slice(3));
  const { values: v, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      server: { type: "string", default: DEFAULT_SERVER },
      "client-id": { type: "string" },
      offline: { type: "boolean" },
      json: { type: "boolean" },
      "no-attestation": { type: "boolean" },
      fallback: { type: "boolean" },
      "main-client": { type: "string" },
      "main-secret": { type: "string" },
      "main-key": { type: "string" },
      template: { type: "string" },
      credentials: { type: "string" },
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
  if (v.json) textToStderr();
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
  const device = /** @type {import("./attestation-flow.mjs").DeviceOptions} */ (v);

  const mode = v["no-attestation"] ? "no-attestation" : v.fallback ? "fallback" : "attestation";
  if (v["no-attestation"] && v.fallback)
    fail("--no-attestation and --fallback exclude each other (skip attestation, or try it first)");
  const misplaced = FALLBACK_OPTIONS.find((name) => v[name] !== undefined);
  if (mode === "attestation" && misplaced)
    fail(`--${misplaced} is an attestation fallback option: add --no-attestation or --fallback`);
  if (mode !== "attestation" && v.offline)
    fail(`--offline only builds an attestation; it does not combine with --${mode}`);
  if (mode === "no-attestation" && v["client-id"] !== undefined)
    fail("--client-id names the client that attests; with --no-attestation, name the main client with --main-client");

  const dpopKey = await generateDpopKeyPair();

  if (v.offline) {
    const challenge = crypto.randomUUID();
    show("challenge (random, offline)", challenge);
    const challengeResponse = await buildChallengeResponse(platform, device, challenge, dpopKey);
    show("challenge_response", challengeResponse);
    if (v.json) {
      const jkt = await jwkThumbprint(dpopKey.publicKey);
      console.log(JSON.stringify({ platform, jkt, challenge, challenge_response: challengeResponse }));
    }
    return;
  }

  const base = /** @type {string} */ (v.server).replace(/\/+$/, "");
  const mainClientId = v["main-client"] ?? DEFAULT_MAIN_CLIENT_ID;
  const clientId = v["client-id"] ?? (mode === "fallback" ? mainClientId : DEFAULT_CLIENT_ID);
  const mainAuth =
    mode === "attestation" ? undefined : await mainClientAuth(mainClientId, v["main-secret"], v["main-key"]);

  /** @type {string | null} */
  let attestationError = null;
  if (mode !== "no-attestation") {
    /** @type {import("./attestation-flow.mjs").CatResult | undefined} */
    let attested;
    try {
      attested = await getCat({ platform, device, base, clientId, dpopKey });
    } catch (e) {
      // Only a refusal is an attestation failure; an unreachable server is not a reason to register.
      if (mode !== "fallback" || !(e instanceof RefusedError)) throw e;
      attestationError = e.message;
      show("attestation failed: falling back to dynamic client registration, as a HAAPI SDK does", e.message);
    }
    if (attested) {
      const tokenBody = await haapiTokenWithCat({ base, clientId, cat: attested.cat, dpopKey });
      const at = showToken(tokenBody);
      if (v.json) {
        console.log(
          JSON.stringify({
            mode,
            ...(mode === "fallback" ? { fell_back: false } : {}),
            platform,
            server: base,
            client_id: clientId,
            jkt: await jwkThumbprint(dpopKey.publicKey),
            challenge: attested.challenge,
            cat: attested.cat,
            cat_header: attested.catDecoded?.header ?? null,
            cat_claims: attested.catDecoded?.claims ?? null,
            token_response: tokenBody,
            ...at,
          }),
        );
      }
      return;
    }
  }

  const credentialsFile = v.credentials === undefined ? undefined : resolve(v.credentials);
  const template = v.template ?? (mainClientId === JWT_MAIN_CLIENT_ID ? JWT_TEMPLATE_ID : DEFAULT_TEMPLATE_ID);
  const result = await runFallback({
    base,
    mainAuth: /** @type {import("./client-auth.mjs").ClientAuth} */ (mainAuth),
    template,
    credentialsFile,
    dpopKey,
  });
  const at = showToken(result.token_response);
  if (v.json) {
    console.log(
      JSON.stringify({
        mode,
        ...(mode === "fallback" ? { fell_back: true } : {}),
        platform,
        server: base,
        attestation_error: attestationError,
        main_client_id: result.main_client_id,
        main_client_auth_method: result.main_client_auth_method,
        template: result.registration.software_id ?? template,
        credentials_file: credentialsFile ?? null,
        registered: result.registered,
        initial_access_token_claims: result.initial_access_token_claims,
        registration: result.registration,
        client_id: result.registration.client_id,
        jkt: await jwkThumbprint(dpopKey.publicKey),
        token_response: result.token_response,
        ...at,
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
