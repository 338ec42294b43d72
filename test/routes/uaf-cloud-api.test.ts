/**
 * The Authentication Cloud API through HTTP, as a relying party's backend calls it (Bearer access key;
 * the Nevis Authentication Cloud API): enroll a user (the seed's JSON: user, QR code, app link), let the phone
 * redeem the app link, poll the status with the statusToken (pending -> succeeded), then approve a login
 * on the enrolled phone. Users may be named by username or by userId.
 */
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { redeemOutOfBand } from "../../tools/simulator/uaf-client.mjs";
import { newPhone } from "../../tools/simulator/uaf-phone.mjs";
import {
  cloudApi,
  credentialOf,
  newUsername,
  readQrDataUri,
  readUafUser,
  registeredPhone,
  workerFetch,
} from "../helpers/uaf";

type Json = Record<string, any>;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function ok(path: Parameters<typeof cloudApi>[0], body: Json): Promise<Json> {
  const answer = await cloudApi(path, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.headers.get("cache-control")).toBe("no-store");
  return answer.body;
}

const status = (statusToken: string) => ok("status", { statusToken });

describe("Authentication Cloud API", { timeout: 30_000 }, () => {
  it("enroll: the seed's JSON; the phone redeems the app link; status pending -> succeeded; enroll again shows the user active", async () => {
    const username = newUsername("cloud");
    const enrolled = await ok("users/enroll", { username, channel: "app" });
    expect(Object.keys(enrolled).sort()).toEqual([
      "authenticators",
      "createdAt",
      "enrollment",
      "status",
      "updatedAt",
      "userId",
      "username",
    ]);
    expect(enrolled).toMatchObject({
      userId: expect.stringMatching(/^[0-9a-f]{64}$/),
      username,
      status: "new",
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
      authenticators: [],
    });
    const { enrollment } = enrolled;
    expect(Object.keys(enrollment).sort()).toEqual(["appLinkUri", "qrCode", "statusToken", "transactionId"]);
    expect(enrollment.qrCode).toEqual({
      type: "image/png",
      size: expect.any(Number),
      dataUri: expect.stringMatching(/^data:image\/png;base64,/),
    });
    const qr = await readQrDataUri(enrollment.qrCode.dataUri);
    expect(qr.width).toBe(enrollment.qrCode.size);
    expect(qr.text).toBe(enrollment.appLinkUri);

    expect(await status(enrollment.statusToken)).toEqual({
      transactionId: enrollment.transactionId,
      status: "pending",
      userId: enrolled.userId,
      username,
      createdAt: expect.stringMatching(ISO),
      lastUpdatedAt: expect.stringMatching(ISO),
    });
    const seen: Json[] = [];
    const phone = await newPhone({ platform: "android" });
    const fetch = async (url: string, init: RequestInit) => {
      const response = await workerFetch(url, init);
      if (url.includes("/token/redeem/")) seen.push(await status(enrollment.statusToken));
      return response;
    };
    const done = await redeemOutOfBand({ payload: enrollment.appLinkUri, phone, kind: "biometric", fetch });
    expect(done.serverResponse).toEqual({ statusCode: 1200 });
    expect(seen.map((answer) => answer.status)).toEqual(["pending"]);
    expect(await status(enrollment.statusToken)).toMatchObject({
      status: "succeeded",
      transactionId: enrollment.transactionId,
      username,
    });

    const again = await ok("users/enroll", { username });
    expect(again).toMatchObject({ userId: enrolled.userId, username, status: "active", createdAt: enrolled.createdAt });
    expect(again.authenticators).toEqual([
      {
        aaid: "F1D0#0003",
        keyId: credentialOf(done).keyId,
        deviceId: phone.deviceId,
        registeredAt: expect.stringMatching(ISO),
      },
    ]);
    expect(again.enrollment.transactionId).not.toBe(enrollment.transactionId);
  });

  it("approval on channel app: the phone redeems the link, shows the message, and the status goes succeeded", async () => {
    const { username, phone } = await registeredPhone();
    const userId = (await readUafUser(username))!.userId;
    const approval = await ok("approval", { username, channel: "app", message: "Log in to Example Bank?" });
    expect(approval).toMatchObject({
      transactionId: expect.stringMatching(/^[0-9a-f]{64}$/),
      userId,
      statusToken: expect.any(String),
      appLinkUri: expect.any(String),
    });
    expect((await readQrDataUri(approval.qrCode.dataUri)).text).toBe(approval.appLinkUri);
    expect((await status(approval.statusToken)).status).toBe("pending");

    const done = await redeemOutOfBand({ payload: approval.appLinkUri, phone, fetch: workerFetch });
    expect(done.serverResponse).toEqual({ statusCode: 1200 });
    expect(new TextDecoder().decode(base64url.decode(done.request.transaction[0].content))).toBe(
      "Log in to Example Bank?",
    );
    expect(await status(approval.statusToken)).toMatchObject({ status: "succeeded", userId, username });
  });

  it("the user by userId instead of username", async () => {
    const { username, phone } = await registeredPhone();
    const userId = (await readUafUser(username))!.userId;
    expect(await ok("users/enroll", { userId })).toMatchObject({ userId, username, status: "active" });
    const approval = await ok("approval", { userId, channel: "app" });
    await redeemOutOfBand({ payload: approval.appLinkUri, phone, fetch: workerFetch });
    expect((await status(approval.statusToken)).status).toBe("succeeded");

    const unknown = await cloudApi("approval", { userId: "0".repeat(64), channel: "app" });
    expect(unknown.status).toBe(404);
    const both = await cloudApi("approval", { username, userId, channel: "app" });
    expect({ status: both.status, error: both.body.error }).toEqual({ status: 400, error: "invalid_request" });
    const neither = await cloudApi("users/enroll", { channel: "app" });
    expect({ status: neither.status, error: neither.body.error }).toEqual({ status: 400, error: "invalid_request" });
  });

  it("approval on channel push for a device without an FCM token: 400 with a clear message", async () => {
    const { username } = await registeredPhone();
    const answer = await cloudApi("approval", { username, channel: "push" });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: "invalid_request",
      error_description:
        "the request could not be delivered (dispatchTargetNotFound): no device of the user has an FCM registration token; use channel app",
    });
  });

  it("approval for a user without authenticators: 400; for an unknown user: 404; an unsupported channel: 400", async () => {
    const username = newUsername("cloud");
    expect((await cloudApi("users/enroll", { username })).status).toBe(200);
    const none = await cloudApi("approval", { username, channel: "app" });
    expect(none.body).toMatchObject({
      error: "invalid_request",
      error_description: "the user has no registered authenticator",
    });
    expect((await cloudApi("approval", { username: newUsername("nobody"), channel: "app" })).status).toBe(404);
    expect((await cloudApi("approval", { username, channel: "sms" })).status).toBe(400);
    expect((await cloudApi("users/enroll", { username, channel: "push" })).status).toBe(400);
  });

  it("a wrong statusToken: status unknown", async () => {
    const { enrollment } = await ok("users/enroll", { username: newUsername("cloud") });
    const [id, secret] = (enrollment.statusToken as string).split(".");
    const flipped = `${id}.${secret!.startsWith("A") ? "B" : "A"}${secret!.slice(1)}`;
    for (const statusToken of [flipped, `${"0".repeat(64)}.${secret}`, "garbage", enrollment.transactionId]) {
      expect(await status(statusToken)).toEqual({ status: "unknown" });
    }
    expect((await status(enrollment.statusToken)).status).toBe("pending");
  });

  it("without the access key, or with another: 401", async () => {
    for (const path of ["users/enroll", "approval", "status"] as const) {
      for (const key of [null, "not-the-access-key-0123"]) {
        const answer = await cloudApi(path, { username: "someone" }, key);
        expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 401, error: "invalid_token" });
      }
    }
    expect(await readUafUser("someone")).toBeNull();
  });
});
