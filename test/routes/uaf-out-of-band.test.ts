/**
 * Out-of-band UAF through HTTP (docs/uaf.md; Nevis out-of-band operations): the relying party's backend
 * dispatches a token (access key) as a link or a real PNG QR code, the phone reads it and redeems it for
 * the UAF request, answers it, and the backend polls the status service:
 * tokenCreated -> clientRegistering / clientAuthenticating -> succeeded | failed.
 * Tokens are single use, expire, and only redeem at their own operation's path.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import type { UafTransactionRecord } from "../../src/kv/uaf-transaction";
import type { UafTransaction } from "../../src/kv/workers/classes";
import { RECORD } from "../../src/kv/workers/host";
import {
  authenticationResponse,
  registrationResponse,
  uafResponseString,
} from "../../tools/simulator/uaf-authenticator.mjs";
import { redeemOutOfBand } from "../../tools/simulator/uaf-client.mjs";
import { decodeBase64UrlJson } from "../../tools/simulator/uaf-out-of-band.mjs";
import { deviceContext, newPhone } from "../../tools/simulator/uaf-phone.mjs";
import {
  BASE,
  credentialOf,
  dispatchToken,
  expectRefused,
  getUafRequest,
  post,
  readQrDataUri,
  readUafUser,
  registeredPhone,
  sessionStatus,
  workerFetch,
} from "../helpers/uaf";

type Json = Record<string, any>;

function registrationDispatch(username: string, dispatcher: string): Json {
  return { dispatcher, getUafRequest: getUafRequest("Reg", { username }) };
}

/** The simulator's fetch, noting the session's status right after the token is redeemed (before the answer). */
function watchingRedeem(sessionId: string, seen: Json[]) {
  return async (url: string, init: RequestInit) => {
    const response = await workerFetch(url, init);
    if (/\/token\/redeem\//.test(url)) seen.push(await sessionStatus(sessionId));
    return response;
  };
}

/** Redeem a token as the phone does, without answering: the ReturnUAFRequest. */
function redeem(token: string, operation = "registration", family = "_app") {
  return post(`/${family}/token/redeem/${operation}`, { token }, {}, "application/json");
}

describe("out-of-band registration", { timeout: 30_000 }, () => {
  it("png-qr-code: the QR code holds the base64url payload; redeem; status tokenCreated -> clientRegistering -> succeeded", async () => {
    const username = `oob-${crypto.randomUUID().slice(0, 12)}`;
    const dispatched = await dispatchToken("registration", registrationDispatch(username, "png-qr-code"));
    expect(dispatched.status, JSON.stringify(dispatched.body)).toBe(200);
    expect(dispatched.body).toMatchObject({
      token: expect.any(String),
      sessionId: expect.stringMatching(/^[0-9a-f]{64}$/),
      dispatchResult: "dispatched",
      dispatcherInformation: { name: "png-qr-code" },
    });
    const { token, sessionId } = dispatched.body;

    const qr = await readQrDataUri(dispatched.body.dispatcherInformation.response as string);
    expect(qr.text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeBase64UrlJson(qr.text)).toEqual({
      nma_data: { token, redeem_url: `${BASE}/_app/token/redeem/registration` },
      nma_data_content_type: "application/json",
      nma_data_version: "1",
    });
    expect(await sessionStatus(sessionId)).toMatchObject({ status: "tokenCreated", authenticators: [] });

    const phone = await newPhone({ platform: "ios" });
    const seen: Json[] = [];
    const done = await redeemOutOfBand({
      payload: qr.text,
      phone,
      kind: "biometric",
      fetch: watchingRedeem(sessionId, seen),
    });
    expect(done.serverResponse).toEqual({ statusCode: 1200 });
    expect(seen).toEqual([
      expect.objectContaining({ status: "clientRegistering", tokenInformation: { tokenResult: "tokenRedeemed" } }),
    ]);

    const keyId = credentialOf(done).keyId;
    for (const family of ["nevisfido", "_app"] as const) {
      expect(await sessionStatus(sessionId, family)).toEqual({
        status: "succeeded",
        uafStatusCode: 1200,
        authenticators: [{ aaid: "F1D0#1003", keyId }],
        tokenInformation: { tokenResult: "tokenRedeemed" },
      });
    }
    expect((await readUafUser(username))!.authenticators).toEqual([
      expect.objectContaining({ aaid: "F1D0#1003", keyId, deviceId: phone.deviceId }),
    ]);
  });

  it("link and link-png-qr-code: the app link (as is, or in the QR code) carries the same payload", async () => {
    for (const dispatcher of ["link", "link-png-qr-code"]) {
      const username = `oob-${crypto.randomUUID().slice(0, 12)}`;
      const dispatched = await dispatchToken("registration", registrationDispatch(username, dispatcher), {
        family: "_app",
      });
      expect(dispatched.body).toMatchObject({
        dispatchResult: "dispatched",
        dispatcherInformation: { name: dispatcher },
      });
      const response = dispatched.body.dispatcherInformation.response as string;
      const link = dispatcher === "link" ? response : (await readQrDataUri(response)).text;
      const url = new URL(link);
      expect(`${url.origin}${url.pathname}`).toBe(`${BASE}/open`);
      expect(decodeBase64UrlJson(url.searchParams.get("dispatchTokenResponse")!).nma_data.token).toBe(
        dispatched.body.token,
      );

      const phone = await newPhone({ platform: "android" });
      const done = await redeemOutOfBand({ payload: link, phone, kind: "pin", fetch: workerFetch });
      expect(done.serverResponse).toEqual({ statusCode: 1200 });
      expect(await sessionStatus(dispatched.body.sessionId)).toMatchObject({
        status: "succeeded",
        authenticators: [{ aaid: "F1D0#0001" }],
      });
    }
  });

  it("a token redeems once; an unknown token is refused", async () => {
    const dispatched = await dispatchToken(
      "registration",
      registrationDispatch(`oob-${crypto.randomUUID().slice(0, 12)}`, "link"),
    );
    const first = await redeem(dispatched.body.token);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ statusCode: 1200, op: "Reg" });
    expectRefused(await redeem(dispatched.body.token), 1400);
    expectRefused(await redeem(dispatched.body.token, "registration", "nevisfido"), 1400);

    const [id, secret] = (dispatched.body.token as string).split(".");
    expectRefused(await redeem(`${id}.${secret!.startsWith("A") ? "B" : "A"}${secret!.slice(1)}`), 1400);
    expectRefused(await redeem(`${"0".repeat(64)}.${secret}`), 1400);
    expectRefused(await redeem("not-a-token"), 1400);
    expectRefused(await post("/_app/token/redeem/registration", {}, {}, "application/json"), 1400);
  });

  it("an expired token: refused, and the status reports it timed out", async () => {
    const dispatched = await dispatchToken(
      "registration",
      registrationDispatch(`oob-${crypto.randomUUID().slice(0, 12)}`, "link"),
    );
    const { sessionId, token } = dispatched.body;
    // Its redeem deadline moved into the past (waiting out the TTL is not a test).
    await runInDurableObject(
      env.UAF_TRANSACTIONS.get(env.UAF_TRANSACTIONS.idFromString(sessionId)),
      (_instance: UafTransaction, state) => {
        const record = state.storage.kv.get<UafTransactionRecord>(RECORD)!;
        state.storage.kv.put(RECORD, { ...record, expires_at: record.created_at - 1 });
      },
    );
    expectRefused(await redeem(token), 1400);
    expect(await sessionStatus(sessionId)).toMatchObject({
      status: "failed",
      tokenInformation: { tokenResult: "tokenTimedOut" },
    });
  });

  it("a token redeemed at another operation's path: refused before anything changes, so it still redeems at its own; an unknown operation is 404", async () => {
    const dispatched = await dispatchToken(
      "registration",
      registrationDispatch(`oob-${crypto.randomUUID().slice(0, 12)}`, "link"),
    );
    expectRefused(await redeem(dispatched.body.token, "authentication"), 1400);
    expect(await sessionStatus(dispatched.body.sessionId)).toMatchObject({ status: "tokenCreated" });
    expectRefused(await redeem(dispatched.body.token, "enrollment"), 1404, 404);
    expect((await redeem(dispatched.body.token)).body).toMatchObject({ statusCode: 1200, op: "Reg" });
    expect(await sessionStatus(dispatched.body.sessionId)).toMatchObject({ status: "clientRegistering" });
    expectRefused(await redeem(dispatched.body.token), 1400);
  });

  it("two answers racing for one session: one is taken, and the status says what happened to the record", async () => {
    for (let round = 0; round < 4; round++) {
      const username = `oob-${crypto.randomUUID().slice(0, 12)}`;
      const dispatched = await dispatchToken("registration", registrationDispatch(username, "link"));
      const [request] = JSON.parse((await redeem(dispatched.body.token)).body.uafRequest as string);
      const { response } = await registrationResponse(request, { aaid: "F1D0#0001" });
      const good = {
        uafResponse: uafResponseString([response]),
        context: JSON.stringify(deviceContext(await newPhone({ platform: "android" }))),
      };
      const answers = await Promise.all([
        post("/_app/uaf/1.1/registration", good),
        post("/_app/uaf/1.1/registration", { uafResponse: good.uafResponse }),
      ]);
      const stored = (await readUafUser(username))?.authenticators ?? [];
      const status = await sessionStatus(dispatched.body.sessionId);
      // Exactly one answer was processed; the other was refused as the request was taken (1491).
      expect(answers.filter((answer) => answer.body.statusCode === 1491)).toHaveLength(1);
      if (answers[0]!.body.statusCode === 1200) {
        expect(stored).toHaveLength(1);
        expect(status).toMatchObject({ status: "succeeded" });
      } else {
        expect(stored).toEqual([]);
        expect(status).toMatchObject({ status: "failed" });
      }
    }
  });

  it("a redeemed operation the device never answers: failed with 1408 once the answer deadline passes, and a late answer is refused", async () => {
    const username = `oob-${crypto.randomUUID().slice(0, 12)}`;
    const dispatched = await dispatchToken("registration", registrationDispatch(username, "link"));
    const [request] = JSON.parse((await redeem(dispatched.body.token)).body.uafRequest as string);
    const stub = env.UAF_TRANSACTIONS.get(env.UAF_TRANSACTIONS.idFromString(dispatched.body.sessionId as string));
    await runInDurableObject(stub, async (_instance, state) => {
      const record = state.storage.kv.get<Record<string, number>>(RECORD)!;
      state.storage.kv.put(RECORD, { ...record, answer_by: Math.floor(Date.now() / 1000) - 1 });
    });
    expect(await sessionStatus(dispatched.body.sessionId)).toMatchObject({ status: "failed", uafStatusCode: 1408 });
    const { response } = await registrationResponse(request, { aaid: "F1D0#0001" });
    expectRefused(
      await post("/_app/uaf/1.1/registration", {
        uafResponse: uafResponseString([response]),
        context: JSON.stringify(deviceContext(await newPhone({ platform: "android" }))),
      }),
      1491,
    );
    expect((await readUafUser(username))?.authenticators ?? []).toEqual([]);
  });

  it("once the session failed, a later answer to its request is refused: nothing is registered behind a failed status", async () => {
    const username = `oob-${crypto.randomUUID().slice(0, 12)}`;
    const dispatched = await dispatchToken("registration", registrationDispatch(username, "link"));
    const [request] = JSON.parse((await redeem(dispatched.body.token)).body.uafRequest as string);
    const phone = await newPhone({ platform: "android" });
    const { response } = await registrationResponse(request, { aaid: "F1D0#0001" });
    // The first answer lacks the device: refused, and the session fails.
    expectRefused(await post("/_app/uaf/1.1/registration", { uafResponse: uafResponseString([response]) }), 1400);
    expect(await sessionStatus(dispatched.body.sessionId)).toMatchObject({ status: "failed", uafStatusCode: 1400 });

    expectRefused(
      await post("/_app/uaf/1.1/registration", {
        uafResponse: uafResponseString([response]),
        context: JSON.stringify(deviceContext(phone)),
      }),
      1491,
    );
    expect((await readUafUser(username))?.authenticators).toEqual([]);
    expect(await sessionStatus(dispatched.body.sessionId)).toMatchObject({ status: "failed", uafStatusCode: 1400 });
  });

  it("the dispatch services need the access key: 401 without it or with another, and nothing is created", async () => {
    const username = `oob-${crypto.randomUUID().slice(0, 12)}`;
    for (const accessKey of [null, "wrong-access-key-0123456789", ""]) {
      for (const family of ["_app", "nevisfido"] as const) {
        const answer = await dispatchToken("registration", registrationDispatch(username, "link"), {
          family,
          accessKey,
        });
        expect(answer.status).toBe(401);
        expect(answer.body.error).toBe("invalid_token");
        expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer /);
      }
    }
    expect(await readUafUser(username)).toBeNull();
  });

  it("dispatch refusals: wrong op for the path, unknown dispatcher, bad context: 400; an unknown operation: 404", async () => {
    const username = `oob-${crypto.randomUUID().slice(0, 12)}`;
    const refused = async (operation: string, body: Json, status = 400) => {
      const answer = await dispatchToken(operation, body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(status);
      return answer.body;
    };
    expect(await refused("registration", { getUafRequest: getUafRequest("Auth", { username }) })).toMatchObject({
      error: "invalid_request",
      error_description: "getUafRequest.op must be Reg",
    });
    expect(
      (
        await refused("registration", {
          dispatcher: "carrier-pigeon",
          getUafRequest: getUafRequest("Reg", { username }),
        })
      ).error,
    ).toBe("invalid_request");
    expect((await refused("registration", { getUafRequest: { op: "Reg", context: "{not json" } })).error).toBe(
      "invalid_request",
    );
    expect(
      (await refused("registration", { getUafRequest: getUafRequest("Reg", { username: "no spaces allowed" }) })).error,
    ).toBe("invalid_request");
    await refused("enrollment", { getUafRequest: getUafRequest("Reg", { username }) }, 404);
    expect(await readUafUser(username)).toBeNull();
  });
});

describe("out-of-band authentication and deregistration", { timeout: 30_000 }, () => {
  it("dispatch with a transaction text -> QR -> redeem -> the phone signs the text -> status succeeded", async () => {
    const { username, phone } = await registeredPhone();
    const text = "Approve the login at Example Bank";
    const dispatched = await dispatchToken("authentication", {
      dispatcher: "png-qr-code",
      getUafRequest: getUafRequest("Auth", {
        username,
        transaction: [{ contentType: "text/plain", content: base64url.encode(text) }],
      }),
    });
    expect(dispatched.body.dispatchResult).toBe("dispatched");
    const { sessionId } = dispatched.body;
    const qr = await readQrDataUri(dispatched.body.dispatcherInformation.response as string);

    const seen: Json[] = [];
    const done = await redeemOutOfBand({ payload: qr.text, phone, fetch: watchingRedeem(sessionId, seen) });
    expect(seen).toEqual([expect.objectContaining({ status: "clientAuthenticating" })]);
    expect(done.request.transaction).toEqual([{ contentType: "text/plain", content: base64url.encode(text) }]);
    expect(done.serverResponse).toEqual({ statusCode: 1200 });
    expect(await sessionStatus(sessionId)).toEqual({
      status: "succeeded",
      uafStatusCode: 1200,
      authenticators: [{ aaid: "F1D0#0001", keyId: phone.credentials[0]!.keyId }],
      tokenInformation: { tokenResult: "tokenRedeemed" },
    });
    expect((await readUafUser(username))!.authenticators[0]!.signCounter).toBe(1);
  });

  it("the device's answer refused (a tampered transaction, then a regressed counter): status failed with the UAF code", async () => {
    const { username, phone } = await registeredPhone();
    const credential = phone.credentials[0]!;
    const transaction = [{ contentType: "text/plain", content: base64url.encode("Pay 10 EUR") }];
    const dispatched = await dispatchToken("authentication", {
      dispatcher: "link",
      getUafRequest: getUafRequest("Auth", { username, transaction }),
    });
    const returned = await redeem(dispatched.body.token, "authentication", "nevisfido");
    const [request] = JSON.parse(returned.body.uafRequest as string);
    const tampered = {
      ...request,
      transaction: [{ contentType: "text/plain", content: base64url.encode("Pay 10000 EUR") }],
    };
    const { response } = await authenticationResponse(tampered, credential);
    expectRefused(
      await post("/auth/fidouaf/authenticationresponse", { uafResponse: uafResponseString([response]) }),
      1498,
    );
    expect(await sessionStatus(dispatched.body.sessionId)).toMatchObject({ status: "failed", uafStatusCode: 1498 });

    // Counter: the phone authenticated once in-app (counter 1), then answers with a stale counter.
    const inApp = await authenticationResponse(
      JSON.parse(
        (await post("/_app/uaf/1.1/request/authentication", getUafRequest("Auth", { username }))).body
          .uafRequest as string,
      )[0],
      credential,
    );
    expect(
      (await post("/_app/uaf/1.1/authentication", { uafResponse: uafResponseString([inApp.response]) })).body,
    ).toEqual({ statusCode: 1200 });
    const second = await dispatchToken("authentication", {
      dispatcher: "link",
      getUafRequest: getUafRequest("Auth", { username }),
    });
    const [again] = JSON.parse((await redeem(second.body.token, "authentication")).body.uafRequest as string);
    const stale = await authenticationResponse(again, credential, { signCounter: 1 });
    expectRefused(
      await post("/_app/uaf/1.1/authentication", { uafResponse: uafResponseString([stale.response]) }),
      1492,
    );
    expect(await sessionStatus(second.body.sessionId)).toMatchObject({ status: "failed", uafStatusCode: 1492 });
  });

  it("authentication of a user without authenticators is not dispatched (userNotFound)", async () => {
    const { username } = await registeredPhone({ kinds: [] });
    const dispatched = await dispatchToken("authentication", {
      dispatcher: "link",
      getUafRequest: getUafRequest("Auth", { username }),
    });
    expect(dispatched.status).toBe(200);
    expect(dispatched.body).toEqual({ dispatchResult: "userNotFound", dispatcherInformation: { name: "link" } });
  });

  it("deregistration by link: the redeem removes the user's authenticators and their device", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin", "biometric"] });
    const dispatched = await dispatchToken("deregistration", {
      dispatcher: "link",
      getUafRequest: getUafRequest("Dereg", { username }),
    });
    const done = await redeemOutOfBand({
      payload: dispatched.body.dispatcherInformation.response as string,
      phone,
      fetch: workerFetch,
    });
    expect(done.op).toBe("Dereg");
    expect(phone.credentials).toEqual([]);
    expect(await readUafUser(username)).toMatchObject({ authenticators: [], devices: [] });
    expect(await sessionStatus(dispatched.body.sessionId)).toMatchObject({
      status: "succeeded",
      authenticators: [{ aaid: "F1D0#0001" }, { aaid: "F1D0#0003" }],
    });
  });
});
