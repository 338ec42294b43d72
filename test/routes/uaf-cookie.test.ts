/**
 * The Nevis SDK's CookieAuthorizationProvider: a user logged in through the browser login (the HTML
 * rendering of the flow, e.g. in the app's web view) gets the `haapi-session` cookie, and the UAF
 * registration and deregistration request services accept it for that user only.
 */
import { describe, expect, it } from "vitest";
import { browserLogin } from "../helpers/browser";
import { BASE, expectRefused, post, readUafUser, workerFetch } from "../helpers/uaf";
import { deregister, registerInApp, UafRefusedError } from "../../tools/simulator/uaf-client.mjs";
import { newPhone } from "../../tools/simulator/uaf-phone.mjs";

describe("cookie authorization of in-app registration and deregistration", () => {
  it("registers and deregisters with the browser session cookie of the same user", async () => {
    const cookie = await browserLogin("demo", "demo-password");
    const phone = await newPhone({ platform: "android" });
    const registered = await registerInApp({
      baseUrl: BASE,
      username: "demo",
      kind: "password",
      phone,
      authorization: { type: "cookie", cookie },
      fetch: workerFetch,
    });
    expect(registered.serverResponse).toMatchObject({ statusCode: 1200 });
    expect(
      (await readUafUser("demo"))!.authenticators.some(
        (authenticator) => authenticator.keyId === phone.credentials[0]!.keyId,
      ),
    ).toBe(true);
    await deregister({
      baseUrl: BASE,
      username: "demo",
      kind: "password",
      phone,
      authorization: { type: "cookie", cookie },
      fetch: workerFetch,
    });
    expect(
      (await readUafUser("demo"))!.authenticators.some(
        (authenticator) => authenticator.keyId === registered.credential.keyId,
      ),
    ).toBe(false);
  });

  it("refuses the cookie for another user (403), and a forged, malformed or unknown session cookie (401)", async () => {
    const cookie = await browserLogin("demo", "demo-password");
    const phone = await newPhone({ platform: "ios" });
    const other = await registerInApp({
      baseUrl: BASE,
      username: "locked-demo",
      kind: "pin",
      phone,
      authorization: { type: "cookie", cookie },
      fetch: workerFetch,
    }).catch((error: unknown) => error);
    expect(other).toBeInstanceOf(UafRefusedError);
    expect(other).toMatchObject({ statusCode: 1403, httpStatus: 403 });

    const [name, value] = cookie.split("=") as [string, string];
    const [id, secret] = value.split(".") as [string, string];
    const forgedSecret = `${name}=${id}.${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
    const unknownSession = `${name}=${"0".repeat(64)}.${secret}`;
    for (const bad of [forgedSecret, unknownSession, `${name}=not-a-session`, `${name}=`]) {
      const answer = await post(
        "/_app/uaf/1.1/request/registration",
        { op: "Reg", context: JSON.stringify({ username: "demo" }) },
        { cookie: bad },
      );
      expectRefused(answer, 1401);
    }
    // A cookie that is not the session cookie is no authorization at all.
    expectRefused(
      await post(
        "/_app/uaf/1.1/request/registration",
        { op: "Reg", context: JSON.stringify({ username: "demo" }) },
        { cookie: "theme=dark" },
      ),
      1401,
    );
  });
});
