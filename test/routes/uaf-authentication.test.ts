/**
 * In-app FIDO UAF authentication through HTTP: the simulated phone answers AuthenticationRequests
 * (docs/uaf.md), and the server checks the signature, the sign counter (stored; a regression is
 * refused, the cloned-authenticator rule), the shown transaction (authenticationMode 2 and the content
 * hash), single-use challenges, unknown keys, and that a request issued for one user cannot be answered
 * with another user's key.
 */
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import {
  authenticationResponse,
  registrationResponse,
  uafResponseString,
  type UafCredential,
} from "../../tools/simulator/uaf-authenticator.mjs";
import { authenticate } from "../../tools/simulator/uaf-client.mjs";
import { BASE, expectRefused, getUafRequest, post, readUafUser, registeredPhone, workerFetch } from "../helpers/uaf";

const AUTH = {
  _app: { request: "/_app/uaf/1.1/request/authentication", response: "/_app/uaf/1.1/authentication" },
  nevisfido: { request: "/auth/fidouaf", response: "/auth/fidouaf/authenticationresponse" },
} as const;

/** An AuthenticationRequest for `username` (with a transaction text to show). */
async function authenticationRequest(
  username: string,
  options: { transaction?: string; family?: keyof typeof AUTH } = {},
): Promise<any> {
  const transaction =
    options.transaction === undefined
      ? {}
      : { transaction: [{ contentType: "text/plain", content: base64url.encode(options.transaction) }] };
  const answer = await post(
    AUTH[options.family ?? "_app"].request,
    getUafRequest("Auth", { username, ...transaction }),
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body).toMatchObject({ statusCode: 1200, op: "Auth" });
  return JSON.parse(answer.body.uafRequest as string)[0];
}

function sendResponse(response: unknown, family: keyof typeof AUTH = "_app") {
  return post(AUTH[family].response, { uafResponse: uafResponseString([response as never]) });
}

async function storedCounter(username: string, keyId: string): Promise<number | undefined> {
  return (await readUafUser(username))?.authenticators.find((authenticator) => authenticator.keyId === keyId)
    ?.signCounter;
}

describe("in-app authentication", { timeout: 30_000 }, () => {
  it("under both families: 1200, and each sign counter is stored", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin", "biometric"] });
    const first = await authenticate({ baseUrl: BASE, username, kind: "pin", phone, fetch: workerFetch });
    expect(first.serverResponse).toEqual({ statusCode: 1200 });
    expect(first.request.policy.accepted).toEqual(
      expect.arrayContaining([[{ aaid: ["F1D0#0001"], keyIDs: [first.credential.keyId] }]]),
    );
    expect(await storedCounter(username, first.credential.keyId)).toBe(1);

    const second = await authenticate({
      baseUrl: BASE,
      family: "nevisfido",
      username,
      kind: "pin",
      phone,
      fetch: workerFetch,
    });
    expect(second.serverResponse).toEqual({ statusCode: 1200 });
    const stored = (await readUafUser(username))!.authenticators;
    expect(stored.find((authenticator) => authenticator.aaid === "F1D0#0001")).toMatchObject({
      signCounter: 2,
      last_used_at: expect.any(Number),
    });
    expect(stored.find((authenticator) => authenticator.aaid === "F1D0#0003")).toMatchObject({
      signCounter: 0,
      last_used_at: null,
    });
  });

  it("a transaction text is shown and signed for (mode 2, content hash); a tampered or unshown one is refused", async () => {
    const { username, phone } = await registeredPhone();
    const credential = phone.credentials[0]!;
    const request = await authenticationRequest(username, { transaction: "Pay 100 EUR to Bob" });
    expect(request.transaction).toEqual([
      { contentType: "text/plain", content: base64url.encode("Pay 100 EUR to Bob") },
    ]);

    // The phone showed (and hashed) another text than the server asked for.
    const tampered = {
      ...request,
      transaction: [{ contentType: "text/plain", content: base64url.encode("Pay 9999 EUR to Eve") }],
    };
    expectRefused(await sendResponse((await authenticationResponse(tampered, credential)).response), 1498);
    // The phone did not show the text at all (mode 1, no content hash).
    const { transaction: _shown, ...unshown } = await authenticationRequest(username, {
      transaction: "Pay 100 EUR to Bob",
    });
    expectRefused(await sendResponse((await authenticationResponse(unshown, credential)).response), 1498);
    expect(await storedCounter(username, credential.keyId)).toBe(0);

    // A refusal spends nothing: the honest answer to the first request still completes it, once.
    const honest = await authenticationResponse(request, credential);
    expect((await sendResponse(honest.response)).body).toEqual({ statusCode: 1200 });
    expect(await storedCounter(username, credential.keyId)).toBe(1);
    expectRefused(await sendResponse(honest.response), 1491);

    // And in-app through the simulator, under the other family (the phone's counter moved on).
    phone.credentials[0] = honest.credential;
    const viaClient = await authenticate({
      baseUrl: BASE,
      family: "nevisfido",
      username,
      phone,
      transaction: "Log in to the bank",
      fetch: workerFetch,
    });
    expect(viaClient.serverResponse).toEqual({ statusCode: 1200 });
  });

  it("counter regression (a possibly cloned authenticator): 1492, the stored counter unchanged", async () => {
    const { username, phone } = await registeredPhone();
    await authenticate({ baseUrl: BASE, username, phone, fetch: workerFetch });
    await authenticate({ baseUrl: BASE, username, phone, fetch: workerFetch });
    const credential = phone.credentials[0]!;
    expect(await storedCounter(username, credential.keyId)).toBe(2);
    for (const signCounter of [2, 1]) {
      const { response } = await authenticationResponse(await authenticationRequest(username), credential, {
        signCounter,
      });
      expectRefused(await sendResponse(response), 1492);
      expect(await storedCounter(username, credential.keyId)).toBe(2);
    }
    // The next counter is fine.
    const { response } = await authenticationResponse(await authenticationRequest(username), credential, {
      signCounter: 3,
    });
    expect((await sendResponse(response)).body).toEqual({ statusCode: 1200 });
  });

  it("a replayed response (the same challenge twice): refused, the counter moves once", async () => {
    const { username, phone } = await registeredPhone();
    const { response } = await authenticationResponse(await authenticationRequest(username), phone.credentials[0]!);
    expect((await sendResponse(response)).body).toEqual({ statusCode: 1200 });
    expectRefused(await sendResponse(response, "nevisfido"), 1491);
    expectRefused(await sendResponse(response), 1491);
    expect(await storedCounter(username, phone.credentials[0]!.keyId)).toBe(1);
  });

  it("a key the server does not know: 1481", async () => {
    const { username, phone } = await registeredPhone();
    const request = await authenticationRequest(username);
    // A PIN key of the same app that was never registered (the phone's policy check set aside).
    const registrationRequest = {
      header: { ...request.header, op: "Reg" },
      challenge: request.challenge,
      username,
      policy: { accepted: [[{ aaid: ["F1D0#0001"] }]] },
    };
    const { credential: stranger } = await registrationResponse(registrationRequest, { aaid: "F1D0#0001" });
    const { response } = await authenticationResponse(
      { ...request, policy: { accepted: [[{ aaid: ["F1D0#0001"] }]] } },
      stranger,
    );
    expectRefused(await sendResponse(response), 1481);
    expect(await storedCounter(username, phone.credentials[0]!.keyId)).toBe(0);
  });

  it("a request issued for one user cannot be answered with another user's key", async () => {
    const [alice, bob] = await Promise.all([registeredPhone(), registeredPhone()]);
    const forAlice = await authenticationRequest(alice.username);
    const bobsKey: UafCredential = bob.phone.credentials[0]!;
    const { response } = await authenticationResponse(
      { ...forAlice, policy: { accepted: [[{ aaid: [bobsKey.aaid], keyIDs: [bobsKey.keyId] }]] } },
      bobsKey,
    );
    expectRefused(await sendResponse(response), 1481);
    expect(await storedCounter(alice.username, alice.phone.credentials[0]!.keyId)).toBe(0);
    expect(await storedCounter(bob.username, bobsKey.keyId)).toBe(0);
  });

  it("a user without authenticators gets no request: 1481", async () => {
    const { username } = await registeredPhone({ kinds: [] });
    expectRefused(await post(AUTH._app.request, getUafRequest("Auth", { username })), 1481);
  });
});
