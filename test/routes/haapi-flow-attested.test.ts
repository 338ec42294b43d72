/**
 * The whole login, as an app runs it, through HTTP: simulated attested device, HAAPI token, authorize,
 * login form, code, tokens, userinfo, refresh, revoke. Then again with a DCR fallback client.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { androidResponse, catFor, claimsOf, haapiToken, newDevice, type Device } from "../helpers/attestation";
import { proof } from "../helpers/dpop";
import { actionOf, authorizeUrl, FlowClient, haapiTokenFor, pkce } from "../helpers/flow";
import { initialAccessToken, registerClient } from "../helpers/registration";
import { basic, BASE, jsonOf, tokenRequest } from "../helpers/server";

const USERINFO_URL = `${BASE}/oauth/v2/oauth-userinfo`;
const REVOKE_URL = `${BASE}/oauth/v2/oauth-revoke`;

async function userinfo(accessToken: string, device: Device): Promise<Response> {
  return exports.default.fetch(USERINFO_URL, {
    headers: {
      Authorization: `DPoP ${accessToken}`,
      DPoP: await proof(device, { htm: "GET", htu: USERINFO_URL, accessToken }),
    },
  });
}

/** Steps 3 to 9, for a client whose app holds `haapiAccessToken` (bound to `device`). */
async function loginAndUseTokens(
  clientId: string,
  haapiAccessToken: string,
  device: Device,
  credentials: Record<string, string>,
  authorization?: string,
) {
  const flow = new FlowClient(haapiAccessToken, device);
  const { verifier, challenge } = await pkce();
  // 3. authorize
  let step = await jsonOf(
    await flow.request(
      authorizeUrl({
        client_id: clientId,
        response_type: "code",
        redirect_uri: "app://haapi",
        scope: "openid profile",
        state: "st",
        nonce: "nn",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }),
    ),
  );
  if (step.actions && (step.actions as Array<Record<string, unknown>>)[0]?.template === "selector") {
    const options = (step.actions as Array<Record<string, any>>)[0]!.model.options as Array<Record<string, any>>;
    step = await jsonOf(
      await flow.request(options.find((option) => option.properties.authenticatorType === "html-form")!.model.href),
    );
  }
  expect(step.type).toBe("authentication-step");
  // 4. login form
  const done = await jsonOf(
    await flow.request(actionOf(step, "login").model.href, { form: { userName: "demo", password: "demo-password" } }),
  );
  expect(done).toMatchObject({ type: "oauth-authorization-response", properties: { state: "st", iss: BASE } });
  // 5. code -> 6. tokens
  const code = (done.properties as Record<string, string>).code!;
  const headers = (extra: Record<string, string>) => ({
    ...(authorization ? { Authorization: authorization } : {}),
    ...extra,
  });
  const tokens = await tokenRequest({
    body: {
      grant_type: "authorization_code",
      code,
      redirect_uri: "app://haapi",
      code_verifier: verifier,
      ...credentials,
    },
    headers: headers({ DPoP: await proof(device) }),
  });
  const tokenBody = await jsonOf(tokens);
  expect(tokens.status, JSON.stringify(tokenBody)).toBe(200);
  // 7. userinfo
  const info = await userinfo(tokenBody.access_token as string, device);
  expect(info.status).toBe(200);
  expect(await jsonOf(info)).toMatchObject({ sub: "demo", name: "Demo User", preferred_username: "demo" });
  // 8. refresh
  const refreshed = await tokenRequest({
    body: { grant_type: "refresh_token", refresh_token: tokenBody.refresh_token as string, ...credentials },
    headers: headers({ DPoP: await proof(device) }),
  });
  const refreshedBody = await jsonOf(refreshed);
  expect(refreshed.status, JSON.stringify(refreshedBody)).toBe(200);
  // 9. revoke: the grant ends, its tokens stop working
  const revoke = await exports.default.fetch(REVOKE_URL, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers({}) },
    body: new URLSearchParams({ token: refreshedBody.refresh_token as string, ...credentials }).toString(),
  });
  expect(revoke.status).toBe(200);
  expect((await userinfo(refreshedBody.access_token as string, device)).status).toBe(401);
  const after = await tokenRequest({
    body: { grant_type: "refresh_token", refresh_token: refreshedBody.refresh_token as string, ...credentials },
    headers: headers({ DPoP: await proof(device) }),
  });
  expect((await jsonOf(after)).error).toBe("invalid_grant");
  return { tokens: tokenBody, refreshed: refreshedBody };
}

describe("the whole login, as an app runs it", () => {
  it("attested device: CAT, HAAPI token (cal by-policy), login, a token-bound code redeemed with the device key alone", async () => {
    // 1. simulated attested device, 2. HAAPI token
    const device = await newDevice();
    const cat = await catFor("attested-flow-client", device, (challenge) => androidResponse(challenge, device));
    const haapi = await jsonOf(await haapiToken(cat, device));
    expect(claimsOf(haapi.access_token as string).cal).toBe("by-policy");
    // The code is bound to the device key: the app redeems it with no client secret.
    const { tokens } = await loginAndUseTokens("attested-flow-client", haapi.access_token as string, device, {
      client_id: "attested-flow-client",
    });
    expect(claimsOf(tokens.access_token as string)).toMatchObject({
      sub: "demo",
      cal: "by-policy",
      cnf: { jkt: device.jkt },
      amr: ["pwd"],
    });
    expect(claimsOf(tokens.id_token as string)).toMatchObject({
      sub: "demo",
      aud: "attested-flow-client",
      nonce: "nn",
      cal: "by-policy",
    });
  });

  it("a stranger's key cannot redeem a token-bound code", async () => {
    const device = await newDevice();
    const cat = await catFor("attested-flow-client", device, (challenge) => androidResponse(challenge, device));
    const flow = new FlowClient((await jsonOf(await haapiToken(cat, device))).access_token as string, device);
    const { verifier, challenge } = await pkce();
    const step = await jsonOf(
      await flow.request(
        authorizeUrl({
          client_id: "attested-flow-client",
          response_type: "code",
          redirect_uri: "app://haapi",
          scope: "openid",
          code_challenge: challenge,
          code_challenge_method: "S256",
        }),
      ),
    );
    const done = await jsonOf(
      await flow.request(actionOf(step, "login").model.href, { form: { userName: "demo", password: "demo-password" } }),
    );
    const body = {
      grant_type: "authorization_code",
      code: (done.properties as Record<string, string>).code!,
      redirect_uri: "app://haapi",
      code_verifier: verifier,
      client_id: "attested-flow-client",
    };
    const stranger = await tokenRequest({ body, headers: { DPoP: await proof(await newDevice()) } });
    expect(stranger.status).toBe(400);
    expect((await jsonOf(stranger)).error).toBe("invalid_dpop_proof");
  });

  it("DCR fallback client: the same login, with cal none", async () => {
    const device = await newDevice();
    const client = await registerClient(await initialAccessToken("dcr-main", "dcr-main-secret"), {
      software_id: "dcr-template",
    });
    const haapi = await haapiTokenFor(client.client_id, client.client_secret, device);
    const { tokens } = await loginAndUseTokens(
      client.client_id,
      haapi,
      device,
      {},
      basic(client.client_id, client.client_secret),
    );
    expect(claimsOf(tokens.access_token as string)).toMatchObject({
      sub: "demo",
      client_id: client.client_id,
      cal: "none",
    });
    expect(claimsOf(tokens.id_token as string)).toMatchObject({ aud: client.client_id, cal: "none" });
  });
});
