/**
 * A production-shaped configuration (environment production, hashed passwords, no plain secret
 * anywhere) with the two clients that have no secret: an attested mobile app (attest_jwt_client_auth,
 * Android Key Attestation under the operator's own device CA) and a public SPA (none, web attestation
 * through the web driver's iframe). The configuration loads, and both clients get tokens through the
 * Worker's HTTP application with the real Durable Objects, as a deployment with this CONFIG would.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { workerApp } from "../helpers/runtime";
import { parseConfig } from "../../src/config/load";
import { hashPassword } from "../../src/verifiers/password";
import { makeAndroidAttestation } from "../../tools/simulator/android.mjs";
import { attestedChallengeBytes } from "../../tools/simulator/dpop.mjs";
import { generateTestCa, loadTestCa, type TestCa } from "../../tools/simulator/test-ca.mjs";
import { CAT_ASSERTION_TYPE, claimsOf, HAAPI_SCOPE, newDevice, type Device } from "../helpers/attestation";
import { proof } from "../helpers/dpop";
import { pkce } from "../helpers/flow";

/** The issuer of the production configuration (loopback is allowed over http). */
const ISSUER = "http://127.0.0.1:8790";
const TOKEN_URL = `${ISSUER}/oauth/v2/oauth-token`;
const CAT_URL = `${ISSUER}/oauth/v2/oauth-token/cat`;
const HAAPI = "application/vnd.auth+json";
const SPA_ORIGIN = "https://spa.example.com";

let ca: TestCa;
let productionEnv: typeof env;
const app = workerApp();

function call(url: string, init: RequestInit = {}): Promise<Response> {
  return Promise.resolve(app.fetch(new Request(url, init), productionEnv));
}

async function json(response: Response): Promise<Record<string, any>> {
  return (await response.json()) as Record<string, any>;
}

beforeAll(async () => {
  // The operator's own device CA (a device farm's, say): trusted by name in this configuration.
  const material = await generateTestCa({ rootCommonName: "Example Corp device attestation root" });
  ca = await loadTestCa(material);
  const config = {
    issuer: ISSUER,
    environment: "production",
    logging: { level: "silent" },
    attestation_policies: { android: { corp: { trust_anchors: [material.root.certificatePem], revocation: "off" } } },
    clients: [
      {
        client_id: "mobile",
        token_endpoint_auth_method: "attest_jwt_client_auth",
        grant_types: ["client_credentials", "authorization_code", "refresh_token"],
        scope: `${HAAPI_SCOPE} openid`,
        capabilities: { haapi: { issue_token_bound_authorization_code: true } },
        attestation: {
          android: {
            package_names: ["io.haapiedge.simulator"],
            signature_digests: ["SToUXwL1tR58I8+YfRrcvCxNp9pB1h7kPt1AYC9x4gY="],
            policy: "corp",
          },
        },
        redirect_uris: ["com.example.app:/callback"],
      },
      {
        client_id: "spa",
        token_endpoint_auth_method: "none",
        grant_types: ["client_credentials", "authorization_code", "refresh_token"],
        scope: `${HAAPI_SCOPE} openid`,
        capabilities: { haapi: {} },
        attestation: { web: { allowed_origins: [SPA_ORIGIN] } },
        redirect_uris: [`${SPA_ORIGIN}/callback`],
      },
    ],
    users: [
      { username: "alice", password_hash: await hashPassword("correct horse battery"), claims: { name: "Alice" } },
    ],
  };
  expect(parseConfig(config).environment).toBe("production");
  productionEnv = { ...env, CONFIG: JSON.stringify(config) };
}, 60_000);

/** The token endpoint, retried once with the server's nonce. */
async function tokenWithNonce(
  device: Device,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const send = async (nonce?: string) =>
    call(TOKEN_URL, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        DPoP: await proof(device, { htu: TOKEN_URL, ...(nonce ? { nonce } : {}) }),
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    });
  const first = await send();
  if (first.status === 400 && ((await first.clone().json()) as { error?: string }).error === "use_dpop_nonce")
    return send(first.headers.get("DPoP-Nonce")!);
  return first;
}

async function cat(
  clientId: string,
  device: Device,
  response: (challenge: string) => Promise<Record<string, unknown>>,
  headers: Record<string, string> = {},
): Promise<string> {
  const { challenge } = await json(
    await call(`${CAT_URL}?client_id=${clientId}`, { headers: { Accept: "application/json" } }),
  );
  const issued = await call(CAT_URL, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      DPoP: await proof(device, { htu: CAT_URL }),
      ...headers,
    },
    body: new URLSearchParams({ challenge, challenge_response: JSON.stringify(await response(challenge)) }).toString(),
  });
  const body = await json(issued);
  expect(issued.status, JSON.stringify(body)).toBe(200);
  return body.cat as string;
}

/** The HAAPI login of alice: the code and its verifier. */
async function login(
  clientId: string,
  redirectUri: string,
  haapiToken: string,
  device: Device,
): Promise<{ code: string; verifier: string }> {
  let sessionId: string | undefined;
  let nonce: string | undefined;
  const haapi = async (url: string, form?: Record<string, string>): Promise<Record<string, any>> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const method = form ? "POST" : "GET";
      const response = await call(url, {
        method,
        headers: {
          Accept: HAAPI,
          Authorization: `DPoP ${haapiToken}`,
          DPoP: await proof(device, {
            htm: method,
            htu: url.split("?")[0]!,
            accessToken: haapiToken,
            ...(nonce ? { nonce } : {}),
          }),
          ...(sessionId ? { "Session-Id": sessionId } : {}),
          ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      });
      nonce = response.headers.get("DPoP-Nonce") ?? nonce;
      sessionId = response.headers.get("Set-Session-Id") ?? sessionId;
      if (response.status === 401 && (response.headers.get("WWW-Authenticate") ?? "").includes("use_dpop_nonce"))
        continue;
      return json(response);
    }
    throw new Error("no nonce");
  };
  const { verifier, challenge } = await pkce();
  const step = await haapi(
    `${ISSUER}/oauth/v2/oauth-authorize?${new URLSearchParams({ client_id: clientId, response_type: "code", redirect_uri: redirectUri, scope: "openid", code_challenge: challenge, code_challenge_method: "S256" })}`,
  );
  const action = (step.actions as Array<Record<string, any>>).find((candidate) => candidate.kind === "login")!;
  const done = await haapi(new URL(action.model.href, ISSUER).href, {
    userName: "alice",
    password: "correct horse battery",
  });
  expect(done.type, JSON.stringify(done)).toBe("oauth-authorization-response");
  return { code: done.properties.code as string, verifier };
}

describe("a production-shaped configuration with secret-less clients", { timeout: 60_000 }, () => {
  it("the attested mobile app gets a HAAPI token with its CAT alone, logs alice in, and redeems the bound code with its key", async () => {
    const device = await newDevice();
    const catToken = await cat("mobile", device, async (challenge) => ({
      platform: "android",
      certificate_chain: await makeAndroidAttestation({
        challenge: await attestedChallengeBytes(challenge, device.jkt),
        deviceKey: device.pair,
        ca,
      }),
    }));
    const issued = await tokenWithNonce(device, {
      grant_type: "client_credentials",
      scope: HAAPI_SCOPE,
      client_id: "mobile",
      client_assertion_type: CAT_ASSERTION_TYPE,
      client_assertion: catToken,
    });
    const haapi = await json(issued);
    expect(issued.status, JSON.stringify(haapi)).toBe(200);
    expect(claimsOf(haapi.access_token)).toMatchObject({ client_id: "mobile", cal: "by-policy" });
    const { code, verifier } = await login("mobile", "com.example.app:/callback", haapi.access_token, device);
    const redeemed = await tokenWithNonce(device, {
      grant_type: "authorization_code",
      code,
      redirect_uri: "com.example.app:/callback",
      code_verifier: verifier,
      client_id: "mobile",
    });
    const tokens = await json(redeemed);
    expect(redeemed.status, JSON.stringify(tokens)).toBe(200);
    expect(claimsOf(tokens.access_token)).toMatchObject({
      sub: "alice",
      client_id: "mobile",
      cnf: { jkt: device.jkt },
    });
  });

  it("the public SPA gets a HAAPI token through the iframe's web attestation, and redeems its code with PKCE from its page", async () => {
    const device = await newDevice();
    const catToken = await cat("spa", device, async () => ({ platform: "web", origin: SPA_ORIGIN }), {
      Origin: ISSUER,
      "Sec-Fetch-Site": "same-origin",
    });
    const issued = await tokenWithNonce(device, {
      grant_type: "client_credentials",
      scope: HAAPI_SCOPE,
      client_id: "spa",
      client_assertion_type: CAT_ASSERTION_TYPE,
      client_assertion: catToken,
    });
    const haapi = await json(issued);
    expect(issued.status, JSON.stringify(haapi)).toBe(200);
    const { code, verifier } = await login("spa", `${SPA_ORIGIN}/callback`, haapi.access_token, device);
    const redeemed = await call(TOKEN_URL, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: SPA_ORIGIN },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: `${SPA_ORIGIN}/callback`,
        code_verifier: verifier,
        client_id: "spa",
      }).toString(),
    });
    const tokens = await json(redeemed);
    expect(redeemed.status, JSON.stringify(tokens)).toBe(200);
    expect(redeemed.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(claimsOf(tokens.access_token)).toMatchObject({ sub: "alice", client_id: "spa" });
    // Without the CAT, the public client gets nothing by client_credentials.
    const refused = await tokenWithNonce(device, {
      grant_type: "client_credentials",
      scope: HAAPI_SCOPE,
      client_id: "spa",
    });
    expect(refused.status).toBe(401);
  });
});
