/**
 * The login flow from an attested device: CAT, HAAPI token (cal by-policy), authorize, login, a code
 * bound to the device key, redeemed by the app with that key alone (no client secret), `cal` carried on.
 */
import { describe, expect, it } from "vitest";
import { androidResponse, catFor, claimsOf, haapiToken, newDevice } from "../helpers/attestation";
import { proof } from "../helpers/dpop";
import { actionOf, authorizeUrl, FlowClient, pkce } from "../helpers/flow";
import { jsonOf, tokenRequest } from "../helpers/server";

describe("attested device", () => {
  it("CAT, HAAPI token, login, token-bound code redeemed with the device key: cal by-policy", async () => {
    const device = await newDevice();
    const cat = await catFor("attested-flow-client", device, (challenge) => androidResponse(challenge, device));
    const haapi = await haapiToken(cat, device);
    const haapiBody = await jsonOf(haapi);
    expect(haapi.status, JSON.stringify(haapiBody)).toBe(200);
    expect(claimsOf(haapiBody.access_token as string).cal).toBe("by-policy");

    const flow = new FlowClient(haapiBody.access_token as string, device);
    const { verifier, challenge } = await pkce();
    const step = await jsonOf(await flow.request(authorizeUrl({ client_id: "attested-flow-client", response_type: "code", redirect_uri: "app://haapi", scope: "openid profile", code_challenge: challenge, code_challenge_method: "S256" })));
    const done = await jsonOf(await flow.request(actionOf(step, "login").model.href, { form: { userName: "demo", password: "demo-password" } }));
    expect(done.type).toBe("oauth-authorization-response");
    const code = (done.properties as Record<string, string>).code!;

    const body = { grant_type: "authorization_code", code, redirect_uri: "app://haapi", code_verifier: verifier, client_id: "attested-flow-client" };
    // Another key cannot redeem it; the device key can, with no client authentication.
    const stranger = await tokenRequest({ body, headers: { DPoP: await proof(await newDevice()) } });
    expect(stranger.status).toBe(400);
    expect((await jsonOf(stranger)).error).toBe("invalid_dpop_proof");
    const tokens = await tokenRequest({ body, headers: { DPoP: await proof(device) } });
    const tokenBody = await jsonOf(tokens);
    expect(tokens.status, JSON.stringify(tokenBody)).toBe(200);
    expect(claimsOf(tokenBody.access_token as string)).toMatchObject({ sub: "demo", cal: "by-policy", cnf: { jkt: device.jkt }, amr: ["pwd"] });
    expect(claimsOf(tokenBody.id_token as string)).toMatchObject({ sub: "demo", aud: "attested-flow-client", cal: "by-policy" });
  });
});
