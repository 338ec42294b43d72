/**
 * Who may ask for a registration (or deregistration) request (src/routes/uaf/authorize.ts), through
 * HTTP: nothing, a cookie that is not the browser session's, a client's own token or a broken token is
 * 401/1401 with a challenge; a valid token of another user is 403/1403. Nothing is stored for the user in
 * any of these cases. (The browser session cookie itself: uaf-cookie.test.ts.)
 */
import { env } from "cloudflare:workers";
import { decodeJwt, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { configFor } from "../../src/config/load";
import { testKeys } from "../helpers/runtime";
import { signIdToken } from "../../src/tokens/grant-tokens";
import { newDevice } from "../helpers/attestation";
import { proof } from "../helpers/dpop";
import { haapiTokenFor } from "../helpers/flow";
import { basic, tokenRequest } from "../helpers/server";
import {
  BASE,
  dpopHeaders,
  expectRefused,
  getUafRequest,
  newAccount,
  newUsername,
  post,
  readUafUser,
} from "../helpers/uaf";

const REG_REQUEST = "/_app/uaf/1.1/request/registration";
const DEREG_REQUEST = "/nevisfido/uaf/1.1/request/deregistration";

function registrationRequest(username: string, headers: Record<string, string>) {
  return post(REG_REQUEST, getUafRequest("Reg", { username }), headers);
}

describe("authorization of the registration and deregistration request services", { timeout: 30_000 }, () => {
  it("no authorization: 401/1401 with a WWW-Authenticate challenge for DPoP and Bearer", async () => {
    const username = newUsername();
    for (const [path, op] of [
      [REG_REQUEST, "Reg"],
      [DEREG_REQUEST, "Dereg"],
    ] as const) {
      const answer = await post(path, getUafRequest(op, { username }));
      expectRefused(answer, 1401);
      expect(answer.headers.get("www-authenticate")).toMatch(/^DPoP .*Bearer/);
    }
    expect(await readUafUser(username)).toBeNull();
  });

  it("a cookie that is not the browser session cookie: 401/1401 (only haapi-session authorizes, for its own user)", async () => {
    const account = await newAccount();
    expectRefused(await registrationRequest(account.username, { cookie: "session=anything" }), 1401);
    expect(await readUafUser(account.username)).toBeNull();
  });

  it("an ID token of the user, but older than uaf.id_token_max_age (300 s): 401/1401; a fresh one is accepted", async () => {
    const account = await newAccount();
    const config = configFor(env.CONFIG);
    const now = Math.floor(Date.now() / 1000);
    const keys = await testKeys(now);
    const { sub, gid } = decodeJwt(account.idToken) as { sub: string; gid: string };
    const claims = {
      issuer: config.issuer,
      clientId: "flow-client",
      subject: sub,
      ttl: 3600,
      authTime: now - 400,
      acr: "urn:test",
      amr: ["pwd"],
      cal: "none" as const,
      grantId: gid,
    };
    const stale = await signIdToken(keys, claims, now - 301);
    expectRefused(await registrationRequest(account.username, { authorization: `Bearer ${stale}` }), 1401);
    const fresh = await signIdToken(keys, claims, now - 5);
    expect((await registrationRequest(account.username, { authorization: `Bearer ${fresh}` })).body).toMatchObject({
      statusCode: 1200,
      op: "Reg",
    });
  });

  it("a fresh ID token is refused unless it names a live grant of its own client and user: 401/1401", async () => {
    const [alice, bob] = await Promise.all([newAccount(), newAccount()]);
    const config = configFor(env.CONFIG);
    const now = Math.floor(Date.now() / 1000);
    const keys = await testKeys(now);
    const { sub, gid } = decodeJwt(alice.idToken) as { sub: string; gid: string };
    const claims = {
      issuer: config.issuer,
      clientId: "flow-client",
      subject: sub,
      ttl: 3600,
      authTime: now - 10,
      acr: "urn:test",
      amr: ["pwd"],
      cal: "none" as const,
    };
    // No gid at all: signed by the server, but nothing to check revocation against.
    const { gid: _, ...withoutGid } = decodeJwt(await signIdToken(keys, { ...claims, grantId: gid }, now));
    const unnamed = await new SignJWT(withoutGid)
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: keys.kid })
      .sign(keys.signingKey);
    expectRefused(await registrationRequest(alice.username, { authorization: `Bearer ${unnamed}` }), 1401);
    // Bob's grant under Alice's name, a grant that was never issued, and Alice's grant for another client.
    const { gid: bobsGrant } = decodeJwt(bob.idToken) as { gid: string };
    for (const forged of [
      { ...claims, grantId: bobsGrant },
      { ...claims, grantId: "ab".repeat(32) },
      { ...claims, clientId: "browser-client", grantId: gid },
    ]) {
      expectRefused(
        await registrationRequest(alice.username, { authorization: `Bearer ${await signIdToken(keys, forged, now)}` }),
        1401,
      );
    }
    expect(await readUafUser(alice.username)).toBeNull();
    expect(
      (
        await registrationRequest(alice.username, {
          authorization: `Bearer ${await signIdToken(keys, { ...claims, grantId: gid }, now)}`,
        })
      ).body,
    ).toMatchObject({ statusCode: 1200 });
  });

  it("a valid token of another user: 403/1403, the ID token and the DPoP access token alike", async () => {
    const [alice, bob] = await Promise.all([newAccount(), newAccount()]);
    expectRefused(await registrationRequest(bob.username, { authorization: `Bearer ${alice.idToken}` }), 1403);
    expectRefused(await registrationRequest(bob.username, await dpopHeaders(alice, `${BASE}${REG_REQUEST}`)), 1403);
    // A username nobody has is someone else's too.
    const nobody = newUsername("nobody");
    expectRefused(await registrationRequest(nobody, { authorization: `Bearer ${alice.idToken}` }), 1403);
    expectRefused(
      await post(DEREG_REQUEST, getUafRequest("Dereg", { username: bob.username }), {
        authorization: `Bearer ${alice.idToken}`,
      }),
      1403,
    );
    expect(await readUafUser(bob.username)).toBeNull();
    expect(await readUafUser(nobody)).toBeNull();
    // The same tokens are good for their own user.
    expect((await registrationRequest(alice.username, { authorization: `Bearer ${alice.idToken}` })).status).toBe(200);
  });

  it("a client_credentials token has no user: 401/1401", async () => {
    const response = await tokenRequest({
      body: { grant_type: "client_credentials", scope: "read" },
      headers: { Authorization: basic("plain-client", "plain-secret") },
    });
    const { access_token: clientToken } = (await response.json()) as { access_token: string };
    const answer = await registrationRequest("plain-client", { authorization: `Bearer ${clientToken}` });
    expectRefused(answer, 1401);
    expect(answer.body.description).toBe("The token does not belong to a user");
  });

  it("a DPoP-bound client_credentials token (HAAPI, nonce required): the nonce is offered, then 401/1401 for want of a user", async () => {
    const key = await newDevice();
    const token = await haapiTokenFor("flow-client", "flow-secret", key);
    const url = `${BASE}${REG_REQUEST}`;
    const first = await registrationRequest("flow-client", {
      authorization: `DPoP ${token}`,
      dpop: await proof(key, { htu: url, accessToken: token }),
    });
    expectRefused(first, 1401);
    // The client can only retry with a nonce if the refusal tells it one (RFC 9449 §9).
    const nonce = first.headers.get("dpop-nonce");
    expect(nonce).toBeTruthy();
    expect(first.headers.get("www-authenticate")).toContain("use_dpop_nonce");
    const second = await registrationRequest("flow-client", {
      authorization: `DPoP ${token}`,
      dpop: await proof(key, { htu: url, accessToken: token, nonce: nonce! }),
    });
    expectRefused(second, 1401);
    expect(second.body.description).toBe("The token does not belong to a user");
  });

  it("broken tokens: 401/1401", async () => {
    const account = await newAccount();
    const url = `${BASE}${REG_REQUEST}`;
    const [head, payload, signature] = account.idToken.split(".");
    const forged = `${head}.${payload}.${signature!.startsWith("A") ? "B" : "A"}${signature!.slice(1)}`;
    expectRefused(await registrationRequest(account.username, { authorization: `Bearer ${forged}` }), 1401);
    // A DPoP-bound access token as Bearer (no downgrade), or with a proof for another URL.
    expectRefused(
      await registrationRequest(account.username, { authorization: `Bearer ${account.accessToken}` }),
      1401,
    );
    expectRefused(
      await registrationRequest(account.username, await dpopHeaders(account, `${BASE}/_app/uaf/1.1/registration`)),
      1401,
    );
    expectRefused(await registrationRequest(account.username, { authorization: "Basic Zm9vOmJhcg==" }), 1401);
    expect((await registrationRequest(account.username, await dpopHeaders(account, url))).status).toBe(200);
  });
});
