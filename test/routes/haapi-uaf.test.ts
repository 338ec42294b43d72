import { base64url, decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { newDevice } from "../helpers/attestation";
import { proof } from "../helpers/dpop";
import { actionOf, authorizeUrl, FlowClient, haapiTokenFor, pkce } from "../helpers/flow";
import { basic, jsonOf, tokenRequest } from "../helpers/server";
import { Browser, formOf, linkOf, parse } from "../helpers/browser";
import { BASE, newAccount, readQrDataUri, registeredPhone, workerFetch } from "../helpers/uaf";
import { authenticationResponse, uafResponseString } from "../../tools/simulator/uaf-authenticator.mjs";
import { redeemOutOfBand } from "../../tools/simulator/uaf-client.mjs";
import type { UafPhone } from "../../tools/simulator/uaf-phone.mjs";

const CLIENT = "uaf-flow-client";
const SECRET = "uaf-flow-secret";
type Json = Record<string, any>;
const json = async (response: Response): Promise<Json> => (await jsonOf(response)) as Json;

async function startFlow() {
  const key = await newDevice();
  const flow = new FlowClient(await haapiTokenFor(CLIENT, SECRET, key), key);
  const { verifier, challenge } = await pkce();
  const selector = await json(
    await flow.request(
      authorizeUrl({
        client_id: CLIENT,
        response_type: "code",
        redirect_uri: "app://haapi",
        scope: "openid",
        state: "s1",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }),
    ),
  );
  expect(selector.actions[0].kind).toBe("authenticator-selector");
  const option = (type: string) =>
    (selector.actions[0].model.options as Json[]).find((candidate) => candidate.properties.authenticatorType === type)!;
  return { flow, key, verifier, option };
}

async function redeemCode(code: string, verifier: string, key: Awaited<ReturnType<typeof newDevice>>): Promise<Json> {
  const response = await tokenRequest({
    body: { grant_type: "authorization_code", code, redirect_uri: "app://haapi", code_verifier: verifier },
    headers: { Authorization: basic(CLIENT, SECRET), DPoP: await proof(key) },
  });
  const body = await json(response);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body;
}

/** The mobile approval's polling step for `username`. */
async function mobileApproval(username: string) {
  const started = await startFlow();
  const form = await json(await started.flow.request(started.option("uaf-mobile-approval").model.href));
  expect(form.type).toBe("authentication-step");
  const pending = await json(
    await started.flow.request(actionOf(form, "login").model.href, { form: { userName: username } }),
  );
  return { ...started, pending };
}

describe("uaf-mobile-approval in the HAAPI flow", () => {
  it("approves on the phone through the polling step: link and QR code, transaction text, then the code and UAF amr", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin"] });
    const { flow, key, verifier, pending } = await mobileApproval(username);
    expect(pending).toMatchObject({ type: "polling-step", properties: { status: "pending" } });
    const link = (pending.links as Json[]).find((candidate) => candidate.rel === "activation" && !candidate.type)!;
    const qr = (pending.links as Json[]).find((candidate) => candidate.type === "image/png")!;
    expect(link.href).toMatch(new RegExp(`^${BASE}/open\\?dispatchTokenResponse=[A-Za-z0-9_-]+$`));
    expect((await readQrDataUri(qr.href)).text).toBe(link.href);

    // Polling before the phone answers: still pending, and the same link is shown again.
    const stillPending = await json(await flow.request(actionOf(pending, "poll").model.href));
    expect(stillPending.properties.status).toBe("pending");
    expect(
      (stillPending.links as Json[]).find((candidate) => candidate.rel === "activation" && !candidate.type)!.href,
    ).toBe(link.href);

    const answered = await redeemOutOfBand({ payload: link.href, phone, fetch: workerFetch });
    expect(answered.serverResponse).toMatchObject({ statusCode: 1200 });
    expect(new TextDecoder().decode(base64url.decode(answered.request.transaction[0].content))).toBe(
      `Log in to ${CLIENT}`,
    );

    const done = await json(await flow.request(actionOf(stillPending, "poll").model.href));
    expect(done).toMatchObject({ type: "polling-step", properties: { status: "done" } });
    const response = await json(await flow.request(actionOf(done, "continue").model.href, { form: {} }));
    expect(response).toMatchObject({ type: "oauth-authorization-response", properties: { state: "s1" } });
    const tokens = await redeemCode(response.properties.code, verifier, key);
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({
      acr: "urn:se:curity:authentication:uaf-mobile-approval:mobile",
      amr: ["hwk", "pin", "mfa", "mca"],
    });
    expect(decodeJwt(tokens.id_token)).toMatchObject({
      acr: "urn:se:curity:authentication:uaf-mobile-approval:mobile",
    });
  });

  it("fails the polling step when the phone's answer is refused, and offers to start again", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin"] });
    const { flow, pending } = await mobileApproval(username);
    const link = (pending.links as Json[]).find((candidate) => candidate.rel === "activation" && !candidate.type)!;
    // The phone answers from another facet: the server refuses it (1491) and the transaction fails.
    const refused = await redeemOutOfBand({
      payload: link.href,
      phone,
      fetch: workerFetch,
      facetId: "android:apk-key-hash:AAAAAAAAAAAAAAAAAAAAAAAAAAA",
    }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ statusCode: 1491 });
    const failed = await json(await flow.request(actionOf(pending, "poll").model.href));
    expect(failed).toMatchObject({ type: "polling-step", properties: { status: "failed" } });
    const notApproved = await flow.request(`${BASE}/authn/authenticate/mobile/continue`, { form: {} });
    expect(notApproved.status).toBe(400);
    expect((await json(notApproved)).type).toBe("https://curity.se/problems/authentication-failed");
    expect(actionOf(failed, "cancel").model.href).toBe(`${BASE}/authn/authenticate/mobile/cancel`);
  });

  it("refuses a user without a registered phone with authentication-failed (and an unknown user the same way)", async () => {
    const account = await newAccount();
    for (const username of [account.username, "nobody-here"]) {
      const started = await startFlow();
      await started.flow.request(started.option("uaf-mobile-approval").model.href);
      const response = await started.flow.request(`${BASE}/authn/authenticate/mobile`, {
        form: { userName: username },
      });
      expect(response.status).toBe(400);
      expect(await json(response)).toMatchObject({ type: "https://curity.se/problems/authentication-failed" });
    }
  });
});

describe("uaf-mobile-approval: the session's state stays consistent", () => {
  it("a poll racing a cancel never revives the cancelled approval: no code without a new approval", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin"] });
    for (let round = 0; round < 4; round++) {
      const { flow, pending } = await mobileApproval(username);
      const link = (pending.links as Json[]).find((candidate) => candidate.rel === "activation" && !candidate.type)!;
      await redeemOutOfBand({ payload: link.href, phone, fetch: workerFetch });
      // The phone has approved; the app cancels while a poll (which would settle the approval) is in flight.
      const [, cancelled] = await Promise.all([
        flow.request(actionOf(pending, "poll").model.href),
        flow.request(actionOf(pending, "cancel").model.href, { form: {} }),
      ]);
      expect((await json(cancelled)).actions[0].kind).toBe("authenticator-selector");
      const resumed = await flow.request(`${BASE}/authn/authenticate/mobile/continue`, { form: {} });
      expect(resumed.status).toBe(400);
      expect((await json(resumed)).type).toBe("https://curity.se/problems/authentication-failed");
    }
  });

  it("limits approval requests per user: too-many-attempts with Retry-After (nobody floods a phone with prompts)", async () => {
    const { username } = await registeredPhone({ kinds: ["pin"] });
    const started = await startFlow();
    await started.flow.request(started.option("uaf-mobile-approval").model.href);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await started.flow.request(`${BASE}/authn/authenticate/mobile`, { form: { userName: username } });
      statuses.push(last.status);
    }
    // uaf.dispatch.rate_limit.per_user defaults to 5 per 300 s.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect((await json(last!)).type).toBe("https://curity.se/problems/too-many-attempts");
    expect(Number(last!.headers.get("Retry-After"))).toBeGreaterThan(0);
  });
});

describe("uaf-device in the HAAPI flow", () => {
  async function operation(username: string) {
    const started = await startFlow();
    await started.flow.request(started.option("uaf-device").model.href);
    const step = await json(
      await started.flow.request(`${BASE}/authn/authenticate/device`, { form: { userName: username } }),
    );
    expect(step.actions[0]).toMatchObject({
      template: "client-operation",
      model: { name: "fido-uaf-authentication", arguments: { op: "Auth" } },
    });
    const request = JSON.parse(step.actions[0].model.arguments.uafRequest)[0];
    return { ...started, step, request };
  }

  async function answer(phone: UafPhone, request: Json, options: { signCounter?: number } = {}) {
    const { response, credential } = await authenticationResponse(request, phone.credentials[0]!, options);
    phone.credentials[0] = credential;
    return uafResponseString([response]);
  }

  it("authenticates in-app with the registered key: client-operation, uafResponse, code, amr", async () => {
    const { username, phone } = await registeredPhone({ platform: "ios", kinds: ["biometric"] });
    const { flow, key, verifier, step, request } = await operation(username);
    expect(request.policy.accepted).toEqual([[{ aaid: ["F1D0#1003"], keyIDs: [phone.credentials[0]!.keyId] }]]);
    const continueAction = step.actions[0].model.continueActions[0];
    expect(continueAction.model.fields).toEqual([{ name: "uafResponse", type: "hidden", required: true }]);
    const done = await json(
      await flow.request(continueAction.model.href, { form: { uafResponse: await answer(phone, request) } }),
    );
    expect(done.type).toBe("oauth-authorization-response");
    const tokens = await redeemCode(done.properties.code, verifier, key);
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      acr: "urn:se:curity:authentication:uaf-device:device",
      amr: ["hwk", "face", "mfa"],
    });
  });

  it("refuses a counter regression, a replayed response and a response to another request, each as authentication-failed", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin"] });
    // A counter that does not move forward (possibly a cloned authenticator): after a login at counter 1, 1 again.
    const warmUp = await operation(username);
    const counted = await warmUp.flow.request(`${BASE}/authn/authenticate/device/uaf-response`, {
      form: { uafResponse: await answer(phone, warmUp.request) },
    });
    expect((await json(counted)).type).toBe("oauth-authorization-response");
    const first = await operation(username);
    const stale = await answer(phone, first.request, { signCounter: phone.credentials[0]!.signCounter });
    const regressed = await first.flow.request(`${BASE}/authn/authenticate/device/uaf-response`, {
      form: { uafResponse: stale },
    });
    expect(regressed.status).toBe(400);
    expect((await json(regressed)).type).toBe("https://curity.se/problems/authentication-failed");

    // A good answer finishes; the same answer again (another flow's request) is refused.
    const second = await operation(username);
    const good = await answer(phone, second.request);
    const third = await operation(username);
    const crossed = await third.flow.request(`${BASE}/authn/authenticate/device/uaf-response`, {
      form: { uafResponse: good },
    });
    expect(crossed.status).toBe(400);
    expect((await json(crossed)).type).toBe("https://curity.se/problems/authentication-failed");
    const ok = await json(
      await second.flow.request(`${BASE}/authn/authenticate/device/uaf-response`, { form: { uafResponse: good } }),
    );
    expect(ok.type).toBe("oauth-authorization-response");

    // The same answer once more, to a fresh request of the same shape: a replay (its challenge is spent).
    const fourth = await operation(username);
    const replayed = await fourth.flow.request(`${BASE}/authn/authenticate/device/uaf-response`, {
      form: { uafResponse: good },
    });
    expect(replayed.status).toBe(400);
    expect((await json(replayed)).type).toBe("https://curity.se/problems/authentication-failed");
  });

  it("answers a malformed uafResponse with a problem, never a 500", async () => {
    const { username } = await registeredPhone({ kinds: ["pin"] });
    const { flow } = await operation(username);
    const cases: [string, string][] = [
      ["not json", "authentication-failed"],
      ["[]", "authentication-failed"],
      ['[{"header":{}}]', "authentication-failed"],
      // Longer than the form allows (limits.max_body_bytes): the form itself is refused.
      ["x".repeat(70_000), "invalid-input"],
    ];
    for (const [uafResponse, problem] of cases) {
      const response = await flow.request(`${BASE}/authn/authenticate/device/uaf-response`, { form: { uafResponse } });
      expect(response.status, uafResponse.slice(0, 20)).toBe(400);
      expect((await json(response)).type, uafResponse.slice(0, 20)).toBe(`https://curity.se/problems/${problem}`);
    }
  });
});

describe("uaf-mobile-approval in a browser", () => {
  /** The QR image and the app link of a polling page. */
  function approvalOf(page: Awaited<ReturnType<typeof parse>>) {
    const img = /<img class="qr" alt="[^"]*" src="(data:image\/png;base64,[A-Za-z0-9+/=]+)"/.exec(page.html);
    expect(img, page.html).not.toBeNull();
    return { qr: img![1]!, link: linkOf(page, "activation") };
  }

  it("the polling page shows the QR code of the app link and keeps showing it while it refreshes; the approval ends in a 303 with a code", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin"] });
    const browser = new Browser();
    const query = new URLSearchParams({
      client_id: "uaf-browser-client",
      response_type: "code",
      redirect_uri: "https://app.example/cb",
      scope: "openid",
      state: "b1",
      code_challenge: (await pkce()).challenge,
      code_challenge_method: "S256",
    });
    const first = await parse(await browser.fetch(`${BASE}/oauth/v2/oauth-authorize?${query}`));
    expect(first.response.headers.get("Content-Security-Policy")).toMatch(
      /^default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action /,
    );
    const polling = await parse(await browser.submit(formOf(first, "login"), { userName: username }));
    expect(polling.response.status).toBe(200);
    expect(polling.refresh).toBe(`2;url=${BASE}/authn/authenticate/mobile/poll`);
    const shown = approvalOf(polling);
    expect((await readQrDataUri(shown.qr)).text).toBe(shown.link);

    // The refresh re-renders the same link and code (derived, not stored), still pending.
    const refreshed = await parse(await browser.fetch(`${BASE}/authn/authenticate/mobile/poll`));
    expect(approvalOf(refreshed)).toEqual(shown);

    await redeemOutOfBand({ payload: shown.link, phone, fetch: workerFetch });
    const done = await parse(await browser.fetch(`${BASE}/authn/authenticate/mobile/poll`));
    expect(done.refresh).toBeNull();
    const finished = await browser.submit(formOf(done, "continue"));
    expect(finished.status).toBe(303);
    const location = new URL(finished.headers.get("Location")!);
    expect(`${location.origin}${location.pathname}`).toBe("https://app.example/cb");
    expect(location.searchParams.get("state")).toBe("b1");
    expect(location.searchParams.get("code")).toMatch(/^[0-9a-f]{64}\./);
  });

  it("a browser is not offered uaf-device (a client operation it cannot run): mobile approval alone, or a 400 page when nothing is left", async () => {
    const query = (clientId: string) =>
      new URLSearchParams({
        client_id: clientId,
        response_type: "code",
        redirect_uri: "https://app.example/cb",
        scope: "openid",
        code_challenge: "x".repeat(43),
        code_challenge_method: "S256",
      });
    // uaf-browser-client offers mobile and device: the browser gets mobile's first step, not a selector.
    const offered = await parse(
      await new Browser().fetch(`${BASE}/oauth/v2/oauth-authorize?${query("uaf-browser-client")}`),
    );
    expect(offered.response.status).toBe(200);
    expect(offered.forms.map((form) => form.action)).toEqual([`${BASE}/authn/authenticate/mobile`]);
    const nothing = await parse(
      await new Browser().fetch(`${BASE}/oauth/v2/oauth-authorize?${query("uaf-device-browser-client")}`),
    );
    expect(nothing.response.status).toBe(400);
    expect(nothing.response.headers.get("Location")).toBeNull();
  });
});
