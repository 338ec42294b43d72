/**
 * The HAAPI login flow through HTTP, as an app runs it: HAAPI token, authorize, login form, code, tokens.
 */
import { describe, expect, it } from "vitest";
import { claimsOf, newDevice } from "../helpers/attestation";
import { proof } from "../helpers/dpop";
import { actionOf, authorizeUrl, FlowClient, haapiTokenFor, HAAPI, pkce } from "../helpers/flow";
import { basic, jsonOf, tokenRequest } from "../helpers/server";

describe("login with username and password", () => {
  it("authorize, login form, code, tokens, refresh", async () => {
    const device = await newDevice();
    const flow = new FlowClient(await haapiTokenFor("flow-client", "flow-secret", device), device);
    const { verifier, challenge } = await pkce();
    const start = await flow.request(
      authorizeUrl({
        client_id: "flow-client",
        response_type: "code",
        redirect_uri: "app://haapi",
        scope: "openid profile email",
        state: "s1",
        nonce: "n1",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }),
    );
    const step = await jsonOf(start);
    expect(start.status, JSON.stringify(step)).toBe(200);
    expect(start.headers.get("Content-Type")).toBe(HAAPI);
    expect(flow.sessionId).toMatch(/^[0-9a-f]{64}$/);
    expect(step).toMatchObject({
      type: "authentication-step",
      metadata: { viewName: "authenticator/html-form/authenticate/get" },
    });
    const login = actionOf(step, "login");
    const done = await flow.request(login.model.href, { form: { userName: "demo", password: "demo-password" } });
    const response = await jsonOf(done);
    expect(done.status, JSON.stringify(response)).toBe(200);
    expect(response.type).toBe("oauth-authorization-response");
    const code = (response.properties as Record<string, string>).code!;
    expect(response.properties).toMatchObject({ state: "s1" });

    const tokens = await tokenRequest({
      body: { grant_type: "authorization_code", code, redirect_uri: "app://haapi", code_verifier: verifier },
      headers: { Authorization: basic("flow-client", "flow-secret"), DPoP: await proof(device) },
    });
    const body = await jsonOf(tokens);
    expect(tokens.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ token_type: "DPoP", scope: "openid profile email" });
    expect(claimsOf(body.access_token as string)).toMatchObject({
      sub: "demo",
      client_id: "flow-client",
      amr: ["pwd"],
      cal: "none",
      cnf: { jkt: device.jkt },
    });
    expect(claimsOf(body.id_token as string)).toMatchObject({
      sub: "demo",
      aud: "flow-client",
      nonce: "n1",
      cal: "none",
      amr: ["pwd"],
    });

    const refreshed = await tokenRequest({
      body: { grant_type: "refresh_token", refresh_token: body.refresh_token as string },
      headers: { Authorization: basic("flow-client", "flow-secret"), DPoP: await proof(device) },
    });
    const rbody = await jsonOf(refreshed);
    expect(refreshed.status, JSON.stringify(rbody)).toBe(200);
    expect(rbody.refresh_token).not.toBe(body.refresh_token);
  });
});
