/**
 * End to end: mobile approval by FCM push (src/dispatch/fcm.ts, src/routes/uaf/out-of-band.ts) against
 * the server on each runtime (test/e2e/runtimes.ts) serving the development configuration with only the
 * issuer and the FCM URLs changed, and a local stub in the place of Google (test/e2e/fcm-stub.ts), one
 * per runtime, that checks what it is sent.
 *
 * The service account is made here (RSA-2048, PKCS#8 PEM) and given to the server as the
 * FCM_SERVICE_ACCOUNT secret (`--var` to wrangler dev, an environment variable to Deno). A simulated
 * phone with an FCM registration token enrolls out of band; an approval by push then reaches the stub as
 * a real FCM HTTP v1 message whose `nma_data` is a JWE only that phone can open; the phone redeems it,
 * is shown the message as the transaction text, and approves; the status service reports success. Also: the Identity Suite dispatch service by push
 * (the access token is reused, not fetched again), a registration token FCM no longer knows, and FCM
 * dropping the connection.
 *
 * On each runtime the tests share one server and one stub and run in order: enrollment first, and the
 * access token cached by the first push is the one later pushes must reuse.
 */
import { base64url, decodeProtectedHeader, exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { redeemOutOfBand } from "../../tools/simulator/uaf-client.mjs";
import { openOutOfBandPayload } from "../../tools/simulator/uaf-out-of-band.mjs";
import { newPhone, type UafPhone } from "../../tools/simulator/uaf-phone.mjs";
import { FCM_SCOPE, JWT_BEARER, startFcmStub, type FcmStub, type SendRequest } from "./fcm-stub";
import { perRuntime, RUNTIMES, SERVER_NAME, startServer, type DevServer } from "./runtimes";
import { readDevelopmentConfig } from "./simulator-cli";
import { developmentAccessKey, uafApi, type Json, type UafApi } from "./uaf-cloud-api";

const PROJECT_ID = "haapi-edge-e2e";
const CLIENT_EMAIL = `fcm-sender@${PROJECT_ID}.iam.gserviceaccount.com`;
const ALICE_FCM_TOKEN = "fcm-alice:APA91bH-e2e-alice-registration-token";
const BOB_FCM_TOKEN = "fcm-bob:APA91bH-e2e-bob-registration-token";
const CAROL_FCM_TOKEN = "fcm-carol:APA91bH-e2e-carol-registration-token";
const MESSAGE = "Log in to Example from Firefox on Linux?";
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const development = await readDevelopmentConfig();
const keys = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
const publicKey: CryptoKey = keys.publicKey;
const serviceAccount = {
  type: "service_account",
  project_id: PROJECT_ID,
  client_email: CLIENT_EMAIL,
  private_key: await exportPKCS8(keys.privateKey),
};

/** A stub of its own for each runtime's server, so that what each stub saw is that server's doing. */
const setups = perRuntime(async (runtime) => {
  const stub = await startFcmStub({ project_id: PROJECT_ID, client_email: CLIENT_EMAIL, publicKey });
  const server = await startServer(
    runtime,
    (issuer) => ({
      ...development,
      issuer,
      uaf: { ...(development.uaf as object), dispatch: { fcm: { endpoint: stub.endpoint, token_uri: stub.tokenUri } } },
    }),
    { tempPrefix: "haapi-edge-e2e-uaf-push-", vars: { FCM_SERVICE_ACCOUNT: JSON.stringify(serviceAccount) } },
  ).catch(async (error: unknown) => {
    await stub.close();
    throw error;
  });
  return { stub, server, stop: () => Promise.all([server.stop(), stub.close()]).then(() => undefined) };
});

describe.each(RUNTIMES)("FCM push approval on %s, with a stub in the place of Google", (runtime) => {
  let stub: FcmStub;
  let server: DevServer;
  let api: UafApi;
  let alice: UafPhone;

  const explain = () =>
    `stub saw: ${JSON.stringify({ tokenRequests: stub.tokenRequests, sends: stub.sends }, null, 2)}\n${SERVER_NAME[runtime]} output:\n${server.output()}`;

  beforeAll(async () => {
    ({ stub, server } = await setups.get(runtime));
    api = uafApi(server.issuer, developmentAccessKey(development), explain);
  });

  /** Enroll `username` out of band with a new phone that has `fcmToken`; the enrollment must succeed. */
  async function enrollPhone(username: string, fcmToken: string): Promise<UafPhone> {
    const phone = await newPhone({ platform: "android", name: `${username}'s Pixel`, fcmRegistrationToken: fcmToken });
    const enrolled = await api.enroll(username);
    const registered = await redeemOutOfBand({ payload: enrolled.enrollment.appLinkUri, phone });
    expect(registered.op).toBe("Reg");
    expect(await api.status(enrolled.enrollment.statusToken)).toMatchObject({ status: "succeeded", username });
    return phone;
  }

  /** The push the stub received last; it must have passed every check. */
  function lastPush(): SendRequest {
    const send = stub.sends.at(-1);
    expect(send, explain()).toBeDefined();
    expect(send!.problems, explain()).toEqual([]);
    return send!;
  }

  it("enrolls a phone out of band: nothing is pushed, no access token is fetched", async () => {
    alice = await enrollPhone("alice", ALICE_FCM_TOKEN);
    expect(stub.tokenRequests).toEqual([]);
    expect(stub.sends).toEqual([]);
  });

  it("approval by push: a JWT bearer grant, then an FCM v1 message encrypted to the phone, which approves the message shown", async () => {
    const approval = await api.post("/api/v1/approval", { username: "alice", channel: "push", message: MESSAGE });
    expect(approval.status, explain()).toBe(200);
    expect(approval.body).toEqual({
      transactionId: expect.any(String),
      userId: expect.stringMatching(/^[0-9a-f]{64}$/),
      statusToken: expect.any(String),
    });
    expect(await api.status(approval.body.statusToken)).toMatchObject({
      status: "pending",
      transactionId: approval.body.transactionId,
      username: "alice",
    });

    // The token request: RFC 7523 with the service account's assertion.
    expect(stub.tokenRequests, explain()).toHaveLength(1);
    const [grant] = stub.tokenRequests;
    expect(grant!.problems).toEqual([]);
    expect(grant!.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.keys(grant!.form).sort()).toEqual(["assertion", "grant_type"]);
    expect(grant!.form.grant_type).toBe(JWT_BEARER);
    expect(decodeProtectedHeader(grant!.form.assertion!)).toEqual({ alg: "RS256", typ: "JWT" });
    const { payload: claims } = await jwtVerify(grant!.form.assertion!, publicKey, {
      algorithms: ["RS256"],
      issuer: CLIENT_EMAIL,
      subject: CLIENT_EMAIL,
      audience: stub.tokenUri,
    });
    expect(claims).toEqual({
      iss: CLIENT_EMAIL,
      sub: CLIENT_EMAIL,
      aud: stub.tokenUri,
      scope: FCM_SCOPE,
      iat: expect.any(Number),
      exp: claims.iat! + 3600,
    });
    expect(grant!.issued).toMatch(/^ya29\.stub-/);

    // The push: FCM HTTP v1 with that access token, to the phone's registration token, data values strings.
    expect(stub.sends).toHaveLength(1);
    const push = lastPush();
    expect(push.status).toBe(200);
    expect(push.path).toBe(`/v1/projects/${PROJECT_ID}/messages:send`);
    expect(push.authorization).toBe(`Bearer ${grant!.issued}`);
    expect(push.contentType).toMatch(/^application\/json/);
    const message = push.body.message as Json;
    expect(message.token).toBe(ALICE_FCM_TOKEN);
    expect(message.notification).toEqual({ title: "Login request", body: MESSAGE });
    const data = message.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(["nma_data", "nma_data_content_type", "nma_data_version"]);
    expect(data).toEqual({
      nma_data: expect.stringMatching(COMPACT_JWE),
      nma_data_content_type: "application/jose",
      nma_data_version: "1",
    });
    expect(decodeProtectedHeader(data.nma_data!)).toMatchObject({
      alg: "ECDH-ES+A256KW",
      enc: "A256GCM",
      cty: "application/json",
      epk: { kty: "EC", crv: "P-256" },
    });

    // Only this phone can open it, and the token is not in the clear anywhere in the message.
    const stranger = await newPhone({ platform: "android" });
    await expect(openOutOfBandPayload(data, stranger)).rejects.toThrow(
      /does not decrypt with this phone's encryption key/,
    );
    const opened = await openOutOfBandPayload(data, alice);
    expect(opened.redeemUrl).toBe(`${server.issuer}/_app/token/redeem/authentication`);
    expect(JSON.stringify(push.body)).not.toContain(opened.token);

    // The phone redeems the pushed data, is shown the message, and approves.
    const approved = await redeemOutOfBand({ payload: data, phone: alice });
    expect(approved.op).toBe("Auth");
    expect(approved.request.transaction).toEqual([{ contentType: "text/plain", content: expect.any(String) }]);
    expect(new TextDecoder().decode(base64url.decode(approved.request.transaction[0].content))).toBe(MESSAGE);
    expect(approved.serverResponse).toMatchObject({ statusCode: 1200 });
    expect(await api.status(approval.body.statusToken)).toMatchObject({
      status: "succeeded",
      transactionId: approval.body.transactionId,
      userId: approval.body.userId,
      username: "alice",
    });
  });

  it("the Identity Suite dispatch service pushes to the device named, reusing the cached access token", async () => {
    const [grant] = stub.tokenRequests;
    expect(grant?.issued, "the previous test fetched the access token").toBeDefined();
    const sendsBefore = stub.sends.length;
    const dispatched = await api.post("/nevisfido/token/dispatch/authentication", {
      dispatcher: "firebase-cloud-messaging",
      dispatchTargetId: alice.deviceId,
      getUafRequest: { op: "Auth", context: JSON.stringify({ username: "alice" }) },
    });
    expect(dispatched.status, explain()).toBe(200);
    expect(stub.sends).toHaveLength(sendsBefore + 1);
    const push = lastPush();
    expect(dispatched.body).toEqual({
      token: expect.any(String),
      sessionId: expect.any(String),
      dispatchResult: "dispatched",
      dispatcherInformation: { name: "firebase-cloud-messaging", response: (push.answer as Json).name },
    });
    expect((push.answer as Json).name).toMatch(new RegExp(`^projects/${PROJECT_ID}/messages/`));

    // No second token request: the same bearer as the first push.
    expect(stub.tokenRequests).toHaveLength(1);
    expect(push.authorization).toBe(`Bearer ${grant!.issued}`);
    expect(push.body.message.token).toBe(ALICE_FCM_TOKEN);
    expect(push.body.message).not.toHaveProperty("notification");

    const opened = await openOutOfBandPayload(push.body.message.data, alice);
    expect(opened.token).toBe(dispatched.body.token);
    const approved = await redeemOutOfBand({ payload: push.body.message.data, phone: alice });
    expect(approved.op).toBe("Auth");
    expect(approved.request).not.toHaveProperty("transaction");
    const status = await api.post("/nevisfido/status", { sessionId: dispatched.body.sessionId });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: "succeeded" });
  });

  it("a registration token FCM answers UNREGISTERED for: the approval is refused with 400, dispatchTargetExpired", async () => {
    const bob = await enrollPhone("bob", BOB_FCM_TOKEN);
    stub.unregister(BOB_FCM_TOKEN);
    const sendsBefore = stub.sends.length;

    const approval = await api.post("/api/v1/approval", { username: "bob", channel: "push", message: MESSAGE });
    expect(approval.status, explain()).toBe(400);
    expect(approval.contentType).toMatch(/^application\/json/);
    expect(approval.body).toEqual({
      error: "invalid_request",
      error_description: "the request could not be delivered (dispatchTargetExpired)",
    });
    // FCM was asked, with the cached token, and said no.
    expect(stub.sends).toHaveLength(sendsBefore + 1);
    const refused = stub.sends.at(-1)!;
    expect(refused).toMatchObject({
      status: 404,
      answer: { error: { status: "UNREGISTERED" } },
      authorization: `Bearer ${stub.tokenRequests[0]!.issued}`,
    });
    expect(refused.body.message.token).toBe(BOB_FCM_TOKEN);

    // The Identity Suite dispatch service reports it as its dispatch result.
    const dispatched = await api.post("/nevisfido/token/dispatch/authentication", {
      dispatcher: "firebase-cloud-messaging",
      dispatchTargetId: bob.deviceId,
      getUafRequest: { op: "Auth", context: JSON.stringify({ username: "bob" }) },
    });
    expect(dispatched.status).toBe(200);
    expect(dispatched.body).toEqual({
      dispatchResult: "dispatchTargetExpired",
      dispatcherInformation: { name: "firebase-cloud-messaging" },
    });
    expect(stub.sends).toHaveLength(sendsBefore + 2);
    expect(stub.tokenRequests).toHaveLength(1);
  });

  it("FCM unreachable (the connection drops): a dispatch error, never a 500", async () => {
    const carol = await enrollPhone("carol", CAROL_FCM_TOKEN);
    stub.hangUp(CAROL_FCM_TOKEN);
    const hungUpSince = (from: number) =>
      stub.sends
        .slice(from)
        .map((send) => ({ status: send.status, token: send.body.message.token, reused: send.reused }));
    const hungUp = (reused: boolean) => ({ status: 0, token: CAROL_FCM_TOKEN, reused });

    const beforeApproval = stub.sends.length;
    const approval = await api.post("/api/v1/approval", { username: "carol", channel: "push", message: MESSAGE });
    expect(approval.status, explain()).toBe(400);
    expect(approval.body).toEqual({
      error: "invalid_request",
      error_description: "the request could not be delivered (dispatchError)",
    });
    // The send went out on the connection kept alive since the earlier pushes, and the stub hung up on it.
    // workerd's fetch then fails. Deno's fetch re-sends the request once, on a new connection, when a
    // reused connection closes before any answer (what a server's idle timeout looks like to a client),
    // so on Deno FCM sees that message twice; the application sends it once on both runtimes.
    expect(hungUpSince(beforeApproval), explain()).toEqual(
      runtime === "deno" ? [hungUp(true), hungUp(false)] : [hungUp(true)],
    );

    const beforeDispatch = stub.sends.length;
    const dispatched = await api.post("/nevisfido/token/dispatch/authentication", {
      dispatcher: "firebase-cloud-messaging",
      dispatchTargetId: carol.deviceId,
      getUafRequest: { op: "Auth", context: JSON.stringify({ username: "carol" }) },
    });
    expect(dispatched.status, explain()).toBe(200);
    expect(dispatched.body).toEqual({
      dispatchResult: "dispatchError",
      dispatcherInformation: { name: "firebase-cloud-messaging" },
    });
    // No connection was left to reuse: a new one, hung up on, and re-sent by neither runtime.
    expect(hungUpSince(beforeDispatch), explain()).toEqual([hungUp(false)]);
  });
});
