import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { testKeys } from "../helpers/runtime";
import { sealServerData } from "../../src/uaf/server-data";
import {
  authenticationResponse,
  registrationResponse,
  uafResponseString,
} from "../../tools/simulator/uaf-authenticator.mjs";
import { deviceContext } from "../../tools/simulator/uaf-phone.mjs";
import {
  BASE,
  dpopHeaders,
  expectRefused,
  getUafRequest,
  post,
  readUafUser,
  registeredPhone,
  type Answer,
} from "../helpers/uaf";

type Json = Record<string, any>;

const REG_REQUEST = "/_app/uaf/1.1/request/registration";
const REG_RESPONSE = "/_app/uaf/1.1/registration";
const AUTH_REQUEST = "/_app/uaf/1.1/request/authentication";
const AUTH_RESPONSE = "/_app/uaf/1.1/authentication";

/** `value` with `path` (dot-separated) set to `replacement`, deep-copied. */
function withMember(value: Json, path: string, replacement: unknown): Json {
  const copy = structuredClone(value);
  const keys = path.split(".");
  let at: Json = copy;
  for (const key of keys.slice(0, -1)) at = at[key];
  at[keys.at(-1)!] = replacement;
  return copy;
}

/** The assertion's TLV bytes changed by `edit`, re-encoded. */
function withAssertion(response: Json, edit: (bytes: Uint8Array) => Uint8Array | string): Json {
  const edited = edit(base64url.decode(response.assertions[0].assertion));
  return withMember(response, "assertions.0.assertion", typeof edited === "string" ? edited : base64url.encode(edited));
}

/** serverData sealed with the server's own secret: to test expiry without waiting for it. */
async function sealedServerData(data: {
  op: "Reg" | "Auth";
  username: string;
  challenge: string;
  exp: number;
}): Promise<string> {
  const { uafServerDataKey } = await testKeys(Math.floor(Date.now() / 1000));
  return sealServerData(uafServerDataKey, data);
}

function flipLast(text: string): string {
  return `${text.slice(0, -1)}${text.endsWith("A") ? "B" : "A"}`;
}

/** Every malformed case of a response service: the answer's UAF code, then the record is unchanged. */
async function expectAllRefused(
  username: string,
  cases: readonly (readonly [string, () => Promise<Answer>, number])[],
): Promise<void> {
  const before = await readUafUser(username);
  for (const [name, send, statusCode] of cases) {
    const answer = await send();
    expect(answer.status, `${name}: ${JSON.stringify(answer.body)}`).toBeLessThan(500);
    expect(answer.body.statusCode, `${name}: ${JSON.stringify(answer.body)}`).toBe(statusCode);
    expectRefused(answer, statusCode);
    expect(await readUafUser(username), name).toEqual(before);
  }
}

describe("malformed registration responses", { timeout: 60_000 }, () => {
  it("are refused with a UAF code, never a 500, and register nothing; the intact response then registers", async () => {
    const { account, username, phone } = await registeredPhone({ kinds: ["pin"] });
    const returned = await post(
      REG_REQUEST,
      getUafRequest("Reg", { username }),
      await dpopHeaders(account, `${BASE}${REG_REQUEST}`),
    );
    const [request] = JSON.parse(returned.body.uafRequest as string);
    const { response } = (await registrationResponse(request, { aaid: "F1D0#0003" })) as { response: Json };
    const context = JSON.stringify(deviceContext(phone));
    const send = (body: unknown, contentType?: string) => () => post(REG_RESPONSE, body, {}, contentType);
    const sendResponses = (responses: unknown[], ctx: string | null = context) =>
      send({ uafResponse: JSON.stringify(responses), ...(ctx === null ? {} : { context: ctx }) });
    const withOne = (edited: Json) => sendResponses([edited]);

    const [head, mac] = (response.header.serverData as string).split(".");
    const expired = await sealedServerData({
      op: "Reg",
      username,
      challenge: request.challenge,
      exp: Math.floor(Date.now() / 1000) - 10,
    });
    const otherChallenge = (
      await registrationResponse(
        { ...request, challenge: base64url.encode(crypto.getRandomValues(new Uint8Array(32))) },
        { aaid: "F1D0#0003" },
      )
    ).response;
    const untrustedFacet = (
      await registrationResponse(request, {
        aaid: "F1D0#0003",
        facetId: "android:apk-key-hash:AAAAAAAAAAAAAAAAAAAAAAAAAAA",
      })
    ).response;

    await expectAllRefused(username, [
      // The body.
      ["wrong content type", send({ uafResponse: JSON.stringify([response]), context }, "text/plain"), 1400],
      ["body not JSON", send("{uafResponse:", "application/json"), 1400],
      ["body an array", send([{ uafResponse: JSON.stringify([response]), context }]), 1400],
      ["huge body", send({ uafResponse: JSON.stringify([response]), context, padding: "x".repeat(300_000) }), 1400],
      ["unknown member", send({ uafResponse: JSON.stringify([response]), context, extra: 1 }), 1400],
      // uafResponse.
      ["uafResponse an array, not a string", send({ uafResponse: [response], context }), 1400],
      ["uafResponse a number", send({ uafResponse: 12345, context }), 1400],
      ["uafResponse a string holding a number", send({ uafResponse: "12345", context }), 1400],
      ["uafResponse not JSON", send({ uafResponse: "[{not json", context }), 1400],
      ["uafResponse an empty array", sendResponses([]), 1400],
      ["uafResponse two responses", sendResponses([response, response]), 1400],
      ["uafResponse [null]", sendResponses([null]), 1400],
      ["uafResponse an object", send({ uafResponse: JSON.stringify(response), context }), 1400],
      ["assertions a string", withOne(withMember(response, "assertions", "AAAA")), 1400],
      // context.
      ["context missing", sendResponses([response], null), 1400],
      ["context not JSON", sendResponses([response], "{deviceId"), 1400],
      [
        "context an object, not a string",
        send({ uafResponse: JSON.stringify([response]), context: deviceContext(phone) }),
        1400,
      ],
      [
        "context without deviceId",
        sendResponses([response], JSON.stringify({ deviceInformation: { name: "x" } })),
        1400,
      ],
      ["context deviceId a number", sendResponses([response], JSON.stringify({ deviceId: 7 })), 1400],
      // The operation and its serverData.
      ["wrong op in the header", withOne(withMember(response, "header.op", "Auth")), 1491],
      ["unknown op", withOne(withMember(response, "header.op", "Fly")), 1400],
      ["upv 2.0", withOne(withMember(response, "header.upv", { major: 2, minor: 0 })), 1400],
      ["no serverData", withOne(withMember(response, "header.serverData", undefined)), 1491],
      ["forged serverData", withOne(withMember(response, "header.serverData", `${head}.${flipLast(mac!)}`)), 1491],
      ["serverData not base64url", withOne(withMember(response, "header.serverData", "!!.!!")), 1491],
      ["expired serverData", withOne(withMember(response, "header.serverData", expired)), 1491],
      [
        "another appID",
        withOne(withMember(response, "header.appID", "https://evil.example/_app/uaf/1.1/facets")),
        1491,
      ],
      ["another challenge", withOne(otherChallenge as Json), 1491],
      ["an untrusted facet", withOne(untrustedFacet as Json), 1491],
      ["fcParams not base64url", withOne(withMember(response, "fcParams", "***")), 1498],
      // The assertion.
      ["assertion not base64url", withOne(withAssertion(response, () => "!!not base64url!!")), 1498],
      ["assertion empty", withOne(withAssertion(response, () => new Uint8Array(0))), 1498],
      ["TLV truncated", withOne(withAssertion(response, (bytes) => bytes.slice(0, bytes.length - 7))), 1498],
      ["TLV with trailing bytes", withOne(withAssertion(response, (bytes) => Uint8Array.of(...bytes, 0, 0))), 1498],
      [
        "TLV length past the end",
        withOne(withAssertion(response, (bytes) => Uint8Array.of(bytes[0]!, bytes[1]!, 0xff, 0xff, ...bytes.slice(4)))),
        1498,
      ],
      [
        "TLV of another tag",
        withOne(withAssertion(response, (bytes) => Uint8Array.of(0x02, 0x3e, ...bytes.slice(2)))),
        1498,
      ],
      ["assertion scheme", withOne(withMember(response, "assertions.0.assertionScheme", "UAFV2TLV")), 1498],
      [
        "two assertions of one AAID",
        withOne(withMember(response, "assertions", [response.assertions[0], response.assertions[0]])),
        1498,
      ],
      [
        "attestation signature flipped",
        withOne(withAssertion(response, (bytes) => Uint8Array.of(...bytes.slice(0, -1), bytes.at(-1)! ^ 0x01))),
        1496,
      ],
    ]);

    const intact = await post(REG_RESPONSE, { uafResponse: JSON.stringify([response]), context });
    expect(intact.body).toEqual({ statusCode: 1200 });
    expect((await readUafUser(username))!.authenticators.map((authenticator) => authenticator.aaid)).toEqual([
      "F1D0#0001",
      "F1D0#0003",
    ]);

    // The expired case was refused for its expiry: the same sealing with a future `exp` is accepted.
    const next = JSON.parse(
      (await post(REG_REQUEST, getUafRequest("Reg", { username }), await dpopHeaders(account, `${BASE}${REG_REQUEST}`)))
        .body.uafRequest as string,
    )[0];
    const resealed = await sealedServerData({
      op: "Reg",
      username,
      challenge: next.challenge,
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    const { response: fresh } = await registrationResponse(
      { ...next, header: { ...next.header, serverData: resealed } },
      { aaid: "F1D0#0002" },
    );
    expect((await post(REG_RESPONSE, { uafResponse: uafResponseString([fresh]), context })).body).toEqual({
      statusCode: 1200,
    });
  });
});

describe("malformed authentication responses", { timeout: 60_000 }, () => {
  it("are refused with a UAF code and leave the counter alone; the intact response then counts", async () => {
    const { username, phone } = await registeredPhone({ kinds: ["pin"] });
    const returned = await post(AUTH_REQUEST, getUafRequest("Auth", { username }));
    const [request] = JSON.parse(returned.body.uafRequest as string);
    const { response } = (await authenticationResponse(request, phone.credentials[0]!)) as { response: Json };
    const send = (body: unknown) => () => post(AUTH_RESPONSE, body);
    const withOne = (edited: Json) => send({ uafResponse: JSON.stringify([edited]) });
    const registrationShaped = (
      await registrationResponse(
        {
          header: { ...request.header, op: "Reg" },
          challenge: request.challenge,
          username,
          policy: { accepted: [[{ aaid: ["F1D0#0001"] }]] },
        },
        { aaid: "F1D0#0001" },
      )
    ).response;

    await expectAllRefused(username, [
      ["uafResponse an array, not a string", send({ uafResponse: [response] }), 1400],
      ["uafResponse not JSON", send({ uafResponse: "nope" }), 1400],
      ["uafResponse an empty array", send({ uafResponse: "[]" }), 1400],
      ["uafResponse two responses", send({ uafResponse: JSON.stringify([response, response]) }), 1400],
      ["context not a string", send({ uafResponse: JSON.stringify([response]), context: 1 }), 1400],
      ["a registration response", withOne(registrationShaped as Json), 1491],
      [
        "forged serverData",
        withOne(withMember(response, "header.serverData", flipLast(response.header.serverData))),
        1491,
      ],
      ["assertion not base64url", withOne(withAssertion(response, () => "%%%")), 1498],
      ["TLV truncated", withOne(withAssertion(response, (bytes) => bytes.slice(0, 20))), 1498],
      ["TLV with trailing bytes", withOne(withAssertion(response, (bytes) => Uint8Array.of(...bytes, 1))), 1498],
      [
        "signature flipped",
        withOne(withAssertion(response, (bytes) => Uint8Array.of(...bytes.slice(0, -1), bytes.at(-1)! ^ 0x80))),
        1498,
      ],
    ]);

    expect((await post(AUTH_RESPONSE, { uafResponse: JSON.stringify([response]) })).body).toEqual({ statusCode: 1200 });
    expect((await readUafUser(username))!.authenticators[0]!.signCounter).toBe(1);
  });
});

describe("malformed GetUAFRequests", { timeout: 30_000 }, () => {
  it("are 1400 before anything else is looked at", async () => {
    const username = `err-${crypto.randomUUID().slice(0, 12)}`;
    const cases: [string, unknown][] = [
      ["op of another service", getUafRequest("Auth", { username })],
      ["unknown op", { op: "Fly", context: JSON.stringify({ username }) }],
      ["no context", { op: "Reg" }],
      ["context not JSON", { op: "Reg", context: "{username" }],
      ["context an object", { op: "Reg", context: { username } }],
      ["context without username", getUafRequest("Reg", {})],
      ["username with spaces", getUafRequest("Reg", { username: "a b" })],
      ["username a number", getUafRequest("Reg", { username: 42 })],
      ["unknown member", { ...getUafRequest("Reg", { username }), extra: true }],
      ["an array", [getUafRequest("Reg", { username })]],
    ];
    for (const [name, body] of cases) {
      const answer = await post(REG_REQUEST, body);
      expect(answer.body.statusCode, name).toBe(1400);
      expectRefused(answer, 1400);
    }
    expectRefused(
      await post(
        AUTH_REQUEST,
        getUafRequest("Auth", { username, transaction: [{ contentType: "text/html", content: "PGI-" }] }),
      ),
      1400,
    );
    expectRefused(await post(AUTH_REQUEST, getUafRequest("Auth", { username, transaction: "Pay" })), 1400);
    expect(await readUafUser(username)).toBeNull();
  });
});
