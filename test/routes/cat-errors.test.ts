/**
 * The CAT endpoint and CAT client authentication under bad input: never a 500, always a precise 4xx,
 * and nothing half-written (a refused POST leaves its challenge usable, a refused token request
 * leaves its CAT usable). Real Worker, real Durable Objects and KV; devices from the simulator.
 */
import { env, exports } from "cloudflare:workers";
import { encode as cborEncode } from "cborg";
import { SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { configFor, type Config } from "../../src/config/load";
import { clearStatusListMemory, statusListKey } from "../../src/kv/revocation-list";
import { testKeys, testStores } from "../helpers/runtime";
import { postStreamed, streamedBody } from "../helpers/streamed-body";
import { CAT_TYP, signCat, type CatClaims } from "../../src/tokens/cat";
import { issueCatChallenge } from "../../src/verifiers/cat-challenge";
import { parseDerCertificate } from "../../src/x509/parse-certificate";
import { generateTestCa, loadTestCa } from "../../tools/simulator/test-ca.mjs";
import {
  basicConstraintsExt,
  buildName,
  issueCertificate,
  KU,
  keyUsageExt,
  randomBytes,
} from "../../tools/simulator/x509.mjs";
import {
  androidResponse,
  CAT_ASSERTION_TYPE,
  CAT_URL,
  catFor,
  claimsOf,
  getChallenge,
  HAAPI_SCOPE,
  haapiToken,
  iosAssertionResponse,
  iosResponse,
  newDevice,
  postCat,
  type Device,
} from "../helpers/attestation";
import { deviceKey, proof, TOKEN_URL } from "../helpers/dpop";
import { basic, BASE, jsonOf, tokenRequest } from "../helpers/server";

const POP_TYP = "oauth-client-attestation-pop+jwt";

let config: Config;

beforeAll(() => {
  config = configFor(env.CONFIG);
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A refusal: never a 500, the exact status and error, and (when given) the exact description. */
async function refused(
  response: Response,
  status: number,
  error: string,
  description?: string,
): Promise<Record<string, unknown>> {
  const text = await response.text();
  expect(response.status, text).not.toBe(500);
  expect(response.status, text).toBe(status);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toHaveProperty("error");
  expect(body.error, text).toBe(error);
  if (description !== undefined) expect(body.error_description, text).toBe(description);
  return body;
}

async function succeeds(response: Response): Promise<Record<string, unknown>> {
  const body = await jsonOf(response);
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body;
}

const toB64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromB64 = (text: string) => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
const random = (length: number) => crypto.getRandomValues(new Uint8Array(length));

function rawPost(body: BodyInit, headers: Record<string, string>): Promise<Response> {
  return exports.default.fetch(CAT_URL, { method: "POST", headers, body });
}

/** The server's own keys, as the Worker loads them. */
async function serverKeys() {
  return testKeys(nowSeconds());
}

// --- CAT endpoint ------------------------------------------------------------------------------------

describe("POST CAT: the request itself", () => {
  it("refuses a content type other than form-urlencoded", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const json = JSON.stringify({ challenge, challenge_response: await androidResponse(challenge, device) });
    const dpop = await proof(device, { htu: CAT_URL });
    await refused(
      await rawPost(json, { "Content-Type": "application/json", DPoP: dpop }),
      400,
      "invalid_request",
      "content type must be application/x-www-form-urlencoded",
    );
    await refused(
      await rawPost("challenge=x", { "Content-Type": "multipart/form-data; boundary=x", DPoP: dpop }),
      400,
      "invalid_request",
      "content type must be application/x-www-form-urlencoded",
    );
    // A string body without an explicit type is text/plain.
    await refused(
      await rawPost("challenge=x", { DPoP: dpop }),
      400,
      "invalid_request",
      "content type must be application/x-www-form-urlencoded",
    );
  });

  it("refuses a body over limits.max_attestation_bytes with 413, declared or streamed", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const limit = config.limits.max_attestation_bytes;
    const body = `challenge=${challenge}&challenge_response=${"A".repeat(limit)}`;
    await refused(await postCat({ device, body }), 413, "invalid_request", "request body too large");

    const stream = streamedBody(Math.ceil(limit / 8192) + 2, 8192, "A");
    await refused(
      await postStreamed(
        CAT_URL,
        { "Content-Type": "application/x-www-form-urlencoded", DPoP: await proof(device, { htu: CAT_URL }) },
        stream,
      ),
      413,
      "invalid_request",
      "request body too large",
    );
    // Neither refusal spent the challenge.
    await succeeds(await postCat({ challenge, response: await androidResponse(challenge, device), device }));
  });

  it("accepts a body just under the limit as far as size goes", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const response = JSON.stringify(await androidResponse(challenge, device));
    const form = new URLSearchParams({ challenge, challenge_response: response }).toString();
    const padding = config.limits.max_attestation_bytes - form.length - "&pad=".length;
    await succeeds(await postCat({ device, body: `${form}&pad=${"x".repeat(padding)}` }));
  });

  it("refuses a body that is not UTF-8", async () => {
    const device = await newDevice();
    const bytes = new Uint8Array([
      ...new TextEncoder().encode("challenge="),
      0xff,
      0xfe,
      ...new TextEncoder().encode("&challenge_response=x"),
    ]);
    await refused(
      await rawPost(bytes, {
        "Content-Type": "application/x-www-form-urlencoded",
        DPoP: await proof(device, { htu: CAT_URL }),
      }),
      400,
      "invalid_request",
      "request body is not UTF-8",
    );
  });

  it("refuses a repeated challenge", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const response = encodeURIComponent(JSON.stringify(await androidResponse(challenge, device)));
    await refused(
      await postCat({ device, body: `challenge=${challenge}&challenge=${challenge}&challenge_response=${response}` }),
      400,
      "invalid_request",
      'parameter "challenge" repeated',
    );
    await refused(
      await postCat({
        device,
        body: `challenge=${challenge}&challenge_response=${response}&challenge_response=${response}`,
      }),
      400,
      "invalid_request",
      'parameter "challenge_response" repeated',
    );
    await succeeds(await postCat({ device, body: `challenge=${challenge}&challenge_response=${response}` }));
  });

  it("refuses a missing or empty challenge or challenge_response", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const response = await androidResponse(challenge, device);
    await refused(await postCat({ response, device }), 400, "invalid_request", "challenge is required");
    await refused(await postCat({ challenge: "", response, device }), 400, "invalid_request", "challenge is required");
    await refused(await postCat({ challenge, device }), 400, "invalid_request", "challenge_response is required");
    await refused(
      await postCat({ challenge, response: "", device }),
      400,
      "invalid_request",
      "challenge_response is required",
    );
    await refused(await postCat({ device, body: "" }), 400, "invalid_request", "challenge is required");
  });
});

describe("POST CAT: challenge_response shape", () => {
  const CHAIN_MESSAGE =
    "challenge_response.certificate_chain must be an array of 1 to 10 base64 DER certificates, leaf first";
  const OBJECT_MESSAGE = "challenge_response must be a JSON object";
  const PLATFORM_MESSAGE = 'challenge_response.platform must be "android", "ios" or "web"';
  const IOS_ONE_OF = "challenge_response needs exactly one of attestation_object or assertion for platform ios";

  it.each([
    ["not JSON", "{platform:android}", OBJECT_MESSAGE],
    ["truncated JSON", '{"platform":"android","certificate_chain":["AAAA"', OBJECT_MESSAGE],
    ["a JSON array", '[{"platform":"android"}]', OBJECT_MESSAGE],
    ["JSON null", "null", OBJECT_MESSAGE],
    ["a JSON string", '"android"', OBJECT_MESSAGE],
    ["a JSON number", "42", OBJECT_MESSAGE],
    ["no platform", "{}", PLATFORM_MESSAGE],
    ["an unknown platform", '{"platform":"windows"}', PLATFORM_MESSAGE],
    ["a platform in the wrong case", '{"platform":"Android","certificate_chain":["AAAA"]}', PLATFORM_MESSAGE],
    ["a platform that is not a string", '{"platform":["android"]}', PLATFORM_MESSAGE],
    ["android without certificate_chain", '{"platform":"android"}', CHAIN_MESSAGE],
    ["a chain that is a string", '{"platform":"android","certificate_chain":"AAAA"}', CHAIN_MESSAGE],
    ["a chain that is an object", '{"platform":"android","certificate_chain":{"0":"AAAA"}}', CHAIN_MESSAGE],
    ["an empty chain", '{"platform":"android","certificate_chain":[]}', CHAIN_MESSAGE],
    [
      "a chain of 11 certificates",
      JSON.stringify({ platform: "android", certificate_chain: Array(11).fill("AAAA") }),
      CHAIN_MESSAGE,
    ],
    [
      "a non-base64 entry",
      '{"platform":"android","certificate_chain":["AAAA","!!not base64!!"]}',
      "challenge_response.certificate_chain[1] must be a base64 DER certificate",
    ],
    [
      "an entry that is not a string",
      '{"platform":"android","certificate_chain":[1234]}',
      "challenge_response.certificate_chain[0] must be a base64 DER certificate",
    ],
    [
      "the base64 of an empty string",
      '{"platform":"android","certificate_chain":[""]}',
      "challenge_response.certificate_chain[0] must be a base64 DER certificate",
    ],
    [
      "an entry of impossible base64 length",
      '{"platform":"android","certificate_chain":["AAAAA"]}',
      "challenge_response.certificate_chain[0] must be a base64 DER certificate",
    ],
    [
      "ios without key_id",
      '{"platform":"ios","attestation_object":"AAAA"}',
      "challenge_response.key_id must be a base64 string",
    ],
    [
      "ios with a non-base64 key_id",
      '{"platform":"ios","key_id":"%%%","attestation_object":"AAAA"}',
      "challenge_response.key_id must be a base64 string",
    ],
    [
      "ios with both attestation_object and assertion",
      '{"platform":"ios","key_id":"AAAA","attestation_object":"AAAA","assertion":"AAAA"}',
      IOS_ONE_OF,
    ],
    ["ios with neither", '{"platform":"ios","key_id":"AAAA"}', IOS_ONE_OF],
    [
      "ios with a non-base64 attestation_object",
      '{"platform":"ios","key_id":"AAAA","attestation_object":"@@@@"}',
      "challenge_response.attestation_object must be a base64 string",
    ],
    [
      "ios with an assertion that is not a string",
      '{"platform":"ios","key_id":"AAAA","assertion":{}}',
      "challenge_response.assertion must be a base64 string",
    ],
  ])("%s -> 400 invalid_request", async (_, response, description) => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    await refused(await postCat({ challenge, response, device }), 400, "invalid_request", description);
  });

  it("a shape refusal leaves the challenge usable", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    await refused(await postCat({ challenge, response: "[]", device }), 400, "invalid_request", OBJECT_MESSAGE);
    await succeeds(await postCat({ challenge, response: await androidResponse(challenge, device), device }));
  });

  it("a chain of exactly 10 entries passes the shape check and is judged by the verifier", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const response = { platform: "android", certificate_chain: Array.from({ length: 10 }, () => toB64(random(64))) };
    await refused(
      await postCat({ challenge, response, device }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: malformed_chain",
    );
  });
});

describe("POST CAT: the challenge", () => {
  it("refuses garbage", async () => {
    const device = await newDevice();
    for (const challenge of [
      "garbage",
      "c1.",
      "c1.YQ.AAAAAAAAAAAAAAAAAAAAAA.1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "x".repeat(2000),
    ]) {
      await refused(
        await postCat({ challenge, response: await androidResponse(challenge, device), device }),
        400,
        "invalid_request",
        "challenge is not one this server issued",
      );
    }
  });

  it("refuses a challenge with a tampered MAC, and the genuine one still works", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const parts = challenge.split(".");
    const mac = parts[4]!;
    parts[4] = (mac[0] === "A" ? "B" : "A") + mac.slice(1);
    const tampered = parts.join(".");
    await refused(
      await postCat({ challenge: tampered, response: await androidResponse(tampered, device), device }),
      400,
      "invalid_request",
      "challenge is not one this server issued",
    );
    await succeeds(await postCat({ challenge, response: await androidResponse(challenge, device), device }));
  });

  it("refuses a challenge re-pointed at another client (MAC covers the client)", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const parts = challenge.split(".");
    parts[1] = btoa("strongbox-only").replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const moved = parts.join(".");
    await refused(
      await postCat({ challenge: moved, response: await androidResponse(moved, device), device }),
      400,
      "invalid_request",
      "challenge is not one this server issued",
    );
  });

  it("refuses an expired challenge signed with the server's real key", async () => {
    const device = await newDevice();
    const now = nowSeconds();
    const keys = await serverKeys();
    const expired = await issueCatChallenge(keys.challengeKey, "attested-only", random(16), now - 1);
    await refused(
      await postCat({ challenge: expired, response: await androidResponse(expired, device), device }),
      400,
      "invalid_request",
      "challenge expired; get a new one",
    );
    // The same key, unexpired: accepted (so the refusal above was the expiry, not the key).
    const fresh = await issueCatChallenge(keys.challengeKey, "attested-only", random(16), now + 60);
    await succeeds(await postCat({ challenge: fresh, response: await androidResponse(fresh, device), device }));
  });

  it("refuses a genuine challenge for a client that does not attest, or no longer exists", async () => {
    const device = await newDevice();
    const keys = await serverKeys();
    const plain = await issueCatChallenge(keys.challengeKey, "plain-client", random(16), nowSeconds() + 60);
    await refused(
      await postCat({ challenge: plain, response: await androidResponse(plain, device), device }),
      400,
      "unauthorized_client",
      "the client is not configured for attestation",
    );
    const gone = await issueCatChallenge(keys.challengeKey, "deleted-client", random(16), nowSeconds() + 60);
    await refused(
      await postCat({ challenge: gone, response: await androidResponse(gone, device), device }),
      400,
      "invalid_client",
      "unknown client",
    );
  });
});

describe("POST CAT: the DPoP proof", () => {
  it("refuses a request without DPoP, and the challenge still works", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const response = await androidResponse(challenge, device);
    await refused(
      await postCat({ challenge, response, device, dpop: null }),
      400,
      "invalid_dpop_proof",
      "DPoP proof required",
    );
    await succeeds(await postCat({ challenge, response, device }));
  });

  it("refuses a proof for the wrong htu or htm, and the challenge still works", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const response = await androidResponse(challenge, device);
    await refused(
      await postCat({ challenge, response, device, dpop: await proof(device, { htu: TOKEN_URL }) }),
      400,
      "invalid_dpop_proof",
      "DPoP proof htu does not match the request URL",
    );
    await refused(
      await postCat({ challenge, response, device, dpop: await proof(device, { htu: `${CAT_URL}/x` }) }),
      400,
      "invalid_dpop_proof",
      "DPoP proof htu does not match the request URL",
    );
    await refused(
      await postCat({ challenge, response, device, dpop: await proof(device, { htu: CAT_URL, htm: "GET" }) }),
      400,
      "invalid_dpop_proof",
      "DPoP proof htm does not match the request method",
    );
    await refused(
      await postCat({ challenge, response, device, dpop: "not-a-jwt" }),
      400,
      "invalid_dpop_proof",
      "invalid DPoP proof",
    );
    await succeeds(await postCat({ challenge, response, device }));
  });
});

// --- Truncated and garbage attestations --------------------------------------------------------------------------

describe("POST CAT: truncated and garbage Android chains", () => {
  it("a leaf cut in half -> malformed_chain; the challenge still works", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const good = (await androidResponse(challenge, device)) as { certificate_chain: string[] };
    const leaf = fromB64(good.certificate_chain[0]!);
    const cut = {
      platform: "android",
      certificate_chain: [toB64(leaf.subarray(0, leaf.length >> 1)), ...good.certificate_chain.slice(1)],
    };
    await refused(
      await postCat({ challenge, response: cut, device }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: malformed_chain",
    );
    await succeeds(await postCat({ challenge, response: good, device }));
  });

  it.each([
    ["random bytes", () => [toB64(random(300))]],
    ["a single zero byte", () => ["AA=="]],
    ["an empty DER SEQUENCE", () => ["MAA="]],
    [
      "a SEQUENCE claiming more bytes than there are",
      () => [toB64(new Uint8Array([0x30, 0x82, 0xff, 0xff, 0x02, 0x01, 0x01]))],
    ],
    ["an indefinite-length SEQUENCE", () => [toB64(new Uint8Array([0x30, 0x80, 0x00, 0x00]))]],
  ])("%s -> malformed_chain", async (_, chain) => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    await refused(
      await postCat({ challenge, response: { platform: "android", certificate_chain: chain() }, device }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: malformed_chain",
    );
  });

  it("a good leaf followed by a truncated intermediate -> malformed_chain", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const good = (await androidResponse(challenge, device)) as { certificate_chain: string[] };
    const intermediate = fromB64(good.certificate_chain[1]!);
    const chain = [
      good.certificate_chain[0]!,
      toB64(intermediate.subarray(0, intermediate.length - 10)),
      good.certificate_chain[2]!,
    ];
    await refused(
      await postCat({ challenge, response: { platform: "android", certificate_chain: chain }, device }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: malformed_chain",
    );
  });

  it("a well-formed chain under an untrusted CA -> chain_untrusted; the challenge still works", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const foreign = await foreignCa();
    await refused(
      await postCat({ challenge, response: await androidResponse(challenge, device, { ca: foreign }), device }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: chain_untrusted",
    );
    // Also with the untrusted root left off (the device sends leaf and intermediate only).
    await refused(
      await postCat({
        challenge,
        response: await androidResponse(challenge, device, { ca: foreign, includeRoot: false }),
        device,
      }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: chain_untrusted",
    );
    await succeeds(await postCat({ challenge, response: await androidResponse(challenge, device), device }));
  });

  it("a fresh generateTestCa CA (same names as the trusted test root, other keys) -> bad_signature", async () => {
    // The impostor root carries the trusted root's exact subject, so it is taken as "issued by the
    // anchor" and its self-signature fails under the anchor's key: refused, reported as bad_signature.
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const impostor = await loadTestCa(await generateTestCa());
    await refused(
      await postCat({ challenge, response: await androidResponse(challenge, device, { ca: impostor }), device }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: bad_signature",
    );
    await refused(
      await postCat({
        challenge,
        response: await androidResponse(challenge, device, { ca: impostor, includeRoot: false }),
        device,
      }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: bad_signature",
    );
    await succeeds(await postCat({ challenge, response: await androidResponse(challenge, device), device }));
  });
});

/** An untrusted CA with its own names: a fresh test CA's keys under a root and intermediate named differently. */
async function foreignCa() {
  const ca = await loadTestCa(await generateTestCa());
  const rootName = buildName([
    ["CN", "Foreign attestation root"],
    ["O", "Not trusted by haapi-edge"],
  ]);
  const interName = buildName([
    ["serialNumber", "0123456789abcdef"],
    ["CN", "Foreign attestation intermediate"],
  ]);
  const validity = { notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date("2064-01-01T00:00:00Z") };
  const caUsage = keyUsageExt(KU.keyCertSign | KU.cRLSign | KU.digitalSignature);
  const rootDer = await issueCertificate({
    subject: rootName,
    issuer: rootName,
    serialNumber: randomBytes(16),
    ...validity,
    publicKey: ca.root.publicKey,
    signingKey: ca.root.privateKey,
    extensions: [basicConstraintsExt(true), caUsage],
  });
  const interDer = await issueCertificate({
    subject: interName,
    issuer: rootName,
    serialNumber: randomBytes(16),
    ...validity,
    publicKey: ca.android.publicKey,
    signingKey: ca.root.privateKey,
    extensions: [basicConstraintsExt(true, 0), caUsage],
  });
  return { ...ca, root: { ...ca.root, certificateDer: rootDer }, android: { ...ca.android, certificateDer: interDer } };
}

describe("POST CAT: truncated and garbage iOS CBOR", () => {
  it.each([
    ["cut in half", (good: Uint8Array) => good.subarray(0, good.length >> 1)],
    ["missing its last byte", (good: Uint8Array) => good.subarray(0, good.length - 1)],
    ["random bytes", () => random(200)],
    ["a CBOR integer", () => new Uint8Array([0x01])],
    ["an empty CBOR map", () => new Uint8Array([0xa0])],
    ["a CBOR map header claiming entries that are not there", () => new Uint8Array([0xa3, 0x63, 0x66, 0x6d, 0x74])],
  ])("attestation_object %s -> malformed; the challenge still works", async (_, mangle) => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const good = await iosResponse(challenge, device);
    const bad = { ...good.response, attestation_object: toB64(mangle(fromB64(good.response.attestation_object))) };
    await refused(
      await postCat({ challenge, response: bad, device }),
      400,
      "invalid_client_attestation",
      "ios attestation rejected: malformed",
    );
    await succeeds(await postCat({ challenge, response: good.response, device }));
  });

  it("a well-formed CBOR attestation of another format -> format; without attStmt or authData -> malformed", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const good = await iosResponse(challenge, device);
    const reasonOf = async (object: unknown) => {
      const response = await postCat({
        challenge,
        response: { ...good.response, attestation_object: toB64(cborEncode(object)) },
        device,
      });
      return (await refused(response, 400, "invalid_client_attestation")).error_description;
    };
    expect(
      await reasonOf(
        new Map<string, unknown>([
          ["fmt", "packed"],
          ["attStmt", new Map()],
          ["authData", new Uint8Array(37)],
        ]),
      ),
    ).toBe("ios attestation rejected: format");
    expect(await reasonOf(new Map<string, unknown>([["fmt", 7]]))).toBe("ios attestation rejected: malformed");
    expect(await reasonOf(new Map<string, unknown>([["fmt", "apple-appattest"]]))).toBe(
      "ios attestation rejected: malformed",
    );
    expect(
      await reasonOf(
        new Map<string, unknown>([
          ["fmt", "apple-appattest"],
          [
            "attStmt",
            new Map<string, unknown>([
              ["x5c", []],
              ["receipt", new Uint8Array(4)],
            ]),
          ],
          ["authData", new Uint8Array(37)],
        ]),
      ),
    ).toBe("ios attestation rejected: malformed");
    await succeeds(await postCat({ challenge, response: good.response, device }));
  });

  it("assertions, for an attested key: truncated or garbage -> assertion_malformed; then a good one works", async () => {
    const device = await newDevice();
    let keyId = "";
    let keyPair: CryptoKeyPair | undefined;
    await catFor("attested-only", device, async (challenge) => {
      const made = await iosResponse(challenge, device);
      keyId = made.keyId;
      keyPair = made.keyPair;
      return made.response;
    });
    const challenge = await getChallenge("attested-only");
    const good = await iosAssertionResponse(challenge, device, keyId, keyPair!, 1);
    const full = fromB64(good.assertion);
    for (const bytes of [
      full.subarray(0, full.length >> 1),
      full.subarray(0, full.length - 1),
      random(80),
      new Uint8Array([0xa0]),
      new Uint8Array([0x01]),
    ]) {
      await refused(
        await postCat({ challenge, response: { ...good, assertion: toB64(bytes) }, device }),
        400,
        "invalid_client_attestation",
        "ios attestation rejected: assertion_malformed",
      );
    }
    // None of the refusals spent the challenge or advanced the counter: counter 1 is still fresh.
    const cat = claimsOf((await succeeds(await postCat({ challenge, response: good, device }))).cat as string);
    expect(cat.attestation).toMatchObject({ platform: "ios", assertion_counter: 1 });
  });

  it("a huge key_id (48 KB) for an assertion -> assertion_unknown_key, no 500", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    const keyId = toB64(new Uint8Array(48_000).fill(7));
    await refused(
      await postCat({ challenge, response: { platform: "ios", key_id: keyId, assertion: "AAAA" }, device }),
      400,
      "invalid_client_attestation",
      "ios attestation rejected: assertion_unknown_key",
    );
  });

  it("an assertion for a key never attested -> assertion_unknown_key", async () => {
    const device = await newDevice();
    const challenge = await getChallenge("attested-only");
    await refused(
      await postCat({
        challenge,
        response: { platform: "ios", key_id: toB64(random(32)), assertion: toB64(random(80)) },
        device,
      }),
      400,
      "invalid_client_attestation",
      "ios attestation rejected: assertion_unknown_key",
    );
  });
});

// --- Revocation -----------------------------------------------------------------------------------------------------

describe("POST CAT: Android revocation status list", () => {
  let url: string;

  beforeAll(() => {
    url = config.attestation.revocation_list_url;
  });

  afterEach(async () => {
    await env.CACHE.delete(statusListKey(url));
    clearStatusListMemory();
  });

  async function seed(list: unknown): Promise<void> {
    clearStatusListMemory();
    await testStores().cache.put(statusListKey(url), JSON.stringify(list), 3600, nowSeconds());
  }

  it("fail-closed with no list reachable -> revocation_unavailable; fail-open -> a CAT with revocation_checked false", async () => {
    clearStatusListMemory();
    await env.CACHE.delete(statusListKey(url));
    const device = await newDevice();
    const closed = await getChallenge("revocation-closed");
    await refused(
      await postCat({ challenge: closed, response: await androidResponse(closed, device), device }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: revocation_unavailable",
    );

    const cat = await catFor("revocation-open", device, (challenge) => androidResponse(challenge, device));
    expect(claimsOf(cat)).toMatchObject({
      sub: "revocation-open",
      cal: "by-policy",
      attestation: { platform: "android", revocation_checked: false, chain_validated: true },
    });
    // A failed download is not cached.
    expect(await testStores().cache.get(statusListKey(url), nowSeconds())).toBeNull();
  });

  it("with a cached list: fail-closed succeeds (revocation_checked true), on the challenge refused before", async () => {
    clearStatusListMemory();
    const device = await newDevice();
    const challenge = await getChallenge("revocation-closed");
    const response = await androidResponse(challenge, device);
    await refused(
      await postCat({ challenge, response, device }),
      400,
      "invalid_client_attestation",
      "android attestation rejected: revocation_unavailable",
    );

    await seed({ entries: {} });
    const cat = claimsOf((await succeeds(await postCat({ challenge, response, device }))).cat as string);
    expect(cat.attestation).toMatchObject({ platform: "android", revocation_checked: true });
    // And the CAT is good for a token.
    const token = await succeeds(await haapiToken((await jsonOf(await postCatAgain(device))).cat as string, device));
    expect(claimsOf(token.access_token as string)).toMatchObject({ client_id: "revocation-closed", cal: "by-policy" });
  });

  it("a REVOKED or SUSPENDED intermediate -> revoked; an unrelated or unknown-status entry does not matter", async () => {
    const device = await newDevice();
    const probe = (await androidResponse(await getChallenge("revocation-closed"), device)) as {
      certificate_chain: string[];
    };
    const intermediate = parseDerCertificate(fromB64(probe.certificate_chain[1]!));
    const leaf = parseDerCertificate(fromB64(probe.certificate_chain[0]!));
    expect(intermediate.serialNumberHex).toMatch(/^[0-9a-f]+$/);
    expect(intermediate.serialNumberHex.startsWith("0")).toBe(false);

    const attempt = async (clientId: string) => {
      const challenge = await getChallenge(clientId);
      return postCat({ challenge, response: await androidResponse(challenge, device), device });
    };

    await seed({ entries: { [intermediate.serialNumberHex]: { status: "REVOKED", reason: "KEY_COMPROMISE" } } });
    await refused(
      await attempt("revocation-closed"),
      400,
      "invalid_client_attestation",
      "android attestation rejected: revoked",
    );
    // fail-open only forgives an unavailable list, never a revoked certificate.
    await refused(
      await attempt("revocation-open"),
      400,
      "invalid_client_attestation",
      "android attestation rejected: revoked",
    );
    // A policy with revocation off does not look.
    await succeeds(await attempt("attested-only"));

    await seed({ entries: { [intermediate.serialNumberHex]: { status: "SUSPENDED" } } });
    await refused(
      await attempt("revocation-closed"),
      400,
      "invalid_client_attestation",
      "android attestation rejected: revoked",
    );

    await seed({ entries: { [leaf.serialNumberHex]: { status: "REVOKED" } } });
    await refused(
      await attempt("revocation-closed"),
      400,
      "invalid_client_attestation",
      "android attestation rejected: revoked",
    );

    await seed({
      entries: { deadbeef: { status: "REVOKED" }, [intermediate.serialNumberHex]: { status: "UNKNOWN_FUTURE_STATUS" } },
    });
    const ok = claimsOf((await succeeds(await attempt("revocation-closed"))).cat as string);
    expect(ok.attestation).toMatchObject({ revocation_checked: true });
  });

  it("a corrupt cached list is a miss: fail-closed refuses (revocation_unavailable), no 500", async () => {
    const device = await newDevice();
    // Well-formed cache entries holding a malformed list, and entries that are no cache entry at all.
    for (const corrupt of ['{"entries":[]}', '{"entries":{"1":{"status":7}}}', "not json", "null"]) {
      clearStatusListMemory();
      await testStores().cache.put(statusListKey(url), corrupt, 3600, nowSeconds());
      const challenge = await getChallenge("revocation-closed");
      await refused(
        await postCat({ challenge, response: await androidResponse(challenge, device), device }),
        400,
        "invalid_client_attestation",
        "android attestation rejected: revocation_unavailable",
      );
    }
    for (const corrupt of ["not json", "null", '{"value":7,"expires_at":9999999999}']) {
      clearStatusListMemory();
      await env.CACHE.put(statusListKey(url), corrupt);
      const challenge = await getChallenge("revocation-closed");
      await refused(
        await postCat({ challenge, response: await androidResponse(challenge, device), device }),
        400,
        "invalid_client_attestation",
        "android attestation rejected: revocation_unavailable",
      );
    }
  });
});

/** A fresh CAT for revocation-closed for `device` (the cached list is in place). */
async function postCatAgain(device: Device): Promise<Response> {
  const challenge = await getChallenge("revocation-closed");
  return postCat({ challenge, response: await androidResponse(challenge, device), device });
}

// --- Token endpoint with a CAT ---------------------------------------------------------------------------------------

function catClaims(device: Device, overrides: Partial<CatClaims> = {}): CatClaims {
  return {
    issuer: config.issuer,
    clientId: "attested-only",
    jwk: device.publicJwk,
    ttl: config.attestation.cat_ttl,
    cal: "by-policy",
    attestation: { platform: "android" },
    ...overrides,
  };
}

async function androidCat(device: Device, clientId = "attested-only"): Promise<string> {
  return catFor(clientId, device, (challenge) => androidResponse(challenge, device));
}

describe("token endpoint: a CAT as client_assertion", () => {
  it("an expired CAT signed with the server's key -> 401 invalid_client", async () => {
    const device = await newDevice();
    const { cat } = await signCat(await serverKeys(), catClaims(device), nowSeconds() - 600);
    await refused(await haapiToken(cat, device), 401, "invalid_client", "client authentication failed");
    // The same claims signed now are accepted: the refusal was the expiry.
    const { cat: fresh } = await signCat(await serverKeys(), catClaims(device), nowSeconds());
    await succeeds(await haapiToken(fresh, device));
  });

  it("a CAT with a tampered payload -> 401 invalid_client, and the genuine CAT still works", async () => {
    const device = await newDevice();
    const cat = await catFor("lax-client", device, (challenge) =>
      androidResponse(challenge, device, { packageName: "com.other.app" }),
    );
    expect(claimsOf(cat).cal).toBe("none");
    const [header, payload, signature] = cat.split(".");
    const claims = claimsOf(cat);
    const upgraded = btoa(JSON.stringify({ ...claims, cal: "by-policy" }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    expect(upgraded).not.toBe(payload);
    await refused(
      await haapiToken(`${header}.${upgraded}.${signature}`, device),
      401,
      "invalid_client",
      "client authentication failed",
    );
    await succeeds(await haapiToken(cat, device));
  });

  it("a CAT for a client without attestation (plain-client) -> 401 invalid_client", async () => {
    const device = await newDevice();
    const { cat } = await signCat(await serverKeys(), catClaims(device, { clientId: "plain-client" }), nowSeconds());
    await refused(
      await haapiToken(cat, device, {
        body: { grant_type: "client_credentials", client_assertion_type: CAT_ASSERTION_TYPE, client_assertion: cat },
      }),
      401,
      "invalid_client",
    );
    await refused(await haapiToken(cat, device), 401, "invalid_client");
  });

  it("a CAT for an unknown client -> 401 invalid_client", async () => {
    const device = await newDevice();
    const { cat } = await signCat(await serverKeys(), catClaims(device, { clientId: "nobody" }), nowSeconds());
    await refused(await haapiToken(cat, device), 401, "invalid_client");
  });

  it("a JWT with the wrong typ, signed by the server's key -> 401 invalid_client", async () => {
    const device = await newDevice();
    const keys = await serverKeys();
    const now = nowSeconds();
    for (const typ of ["JWT", "at+jwt", POP_TYP]) {
      const jwt = await new SignJWT({
        cnf: { jwk: device.publicJwk },
        cal: "by-policy",
        attestation: { platform: "android" },
      })
        .setProtectedHeader({ alg: "ES256", typ, kid: keys.kid })
        .setIssuer(config.issuer)
        .setSubject("attested-only")
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .setJti(crypto.randomUUID())
        .sign(keys.signingKey);
      await refused(await haapiToken(jwt, device), 401, "invalid_client", "client authentication failed");
    }
    expect(CAT_TYP).toBe("oauth-client-attestation+jwt");
  });

  it("a CAT signed by a key the server does not publish -> 401 invalid_client", async () => {
    const device = await newDevice();
    const keys = await serverKeys();
    const stranger = await deviceKey();
    const { cat } = await signCat({ ...keys, signingKey: stranger.privateKey }, catClaims(device), nowSeconds());
    await refused(await haapiToken(cat, device), 401, "invalid_client");
  });

  it("a garbage client_assertion -> 401 invalid_client", async () => {
    const device = await newDevice();
    await refused(await haapiToken("not.a.jwt", device), 401, "invalid_client");
  });

  it("a CAT plus HTTP Basic -> 400 invalid_request (two methods), and the CAT is not spent", async () => {
    const device = await newDevice();
    const cat = await androidCat(device);
    await refused(
      await haapiToken(cat, device, { headers: { Authorization: basic("attested-only", "attested-secret") } }),
      400,
      "invalid_request",
      "more than one client authentication method",
    );
    await succeeds(await haapiToken(cat, device));
  });

  it("a CAT without a DPoP proof -> 400 invalid_dpop_proof, and the CAT is not spent", async () => {
    const device = await newDevice();
    const cat = await androidCat(device);
    const body = {
      grant_type: "client_credentials",
      client_assertion_type: CAT_ASSERTION_TYPE,
      client_assertion: cat,
      scope: HAAPI_SCOPE,
    };
    await refused(await tokenRequest({ body }), 400, "invalid_dpop_proof", "DPoP proof required");
    await refused(
      await tokenRequest({
        body: { grant_type: "client_credentials", client_assertion_type: CAT_ASSERTION_TYPE, client_assertion: cat },
      }),
      400,
      "invalid_dpop_proof",
      "DPoP proof required",
    );
    await succeeds(await haapiToken(cat, device));
  });
});

// --- IETF header mode ---------------------------------------------------------------------------------------------

/** A DPoP nonce the token endpoint accepts now (learned from a refusal, as a client would). */
async function currentNonce(): Promise<string> {
  const response = await tokenRequest({
    body: { grant_type: "client_credentials", scope: HAAPI_SCOPE },
    headers: { Authorization: basic("dev-client", "dev-secret"), DPoP: await proof(await deviceKey()) },
  });
  const nonce = response.headers.get("DPoP-Nonce");
  expect(nonce).toBeTruthy();
  return nonce!;
}

interface PopOptions {
  aud?: string | string[];
  typ?: string;
  iat?: number;
  jti?: string;
  signer?: { privateKey: CryptoKey; alg: string };
}

async function attestationPop(device: Device, options: PopOptions = {}): Promise<string> {
  const signer = options.signer ?? device;
  return new SignJWT({
    iss: "attested-only",
    aud: options.aud ?? BASE,
    jti: options.jti ?? crypto.randomUUID(),
    iat: options.iat ?? nowSeconds(),
  })
    .setProtectedHeader({ alg: signer.alg, typ: options.typ ?? POP_TYP })
    .sign(signer.privateKey);
}

interface HeaderRequest {
  pop?: string;
  proofDevice?: Device | null;
  headers?: Record<string, string>;
  body?: Record<string, string>;
}

/** A token request authenticated with the OAuth-Client-Attestation header (one request, nonce known up front). */
async function headerToken(cat: string | null, device: Device, request: HeaderRequest = {}): Promise<Response> {
  const nonce = await currentNonce();
  const signer = request.proofDevice === undefined ? device : request.proofDevice;
  return tokenRequest({
    body: request.body ?? { grant_type: "client_credentials", scope: HAAPI_SCOPE },
    headers: {
      ...(cat !== null ? { "OAuth-Client-Attestation": cat } : {}),
      ...(request.pop !== undefined ? { "OAuth-Client-Attestation-PoP": request.pop } : {}),
      ...(signer ? { DPoP: await proof(signer, { nonce }) } : {}),
      ...request.headers,
    },
  });
}

describe("token endpoint: IETF attestation-based client authentication headers", () => {
  it("the CAT as OAuth-Client-Attestation with no PoP (DPoP combined mode) -> a by-policy token", async () => {
    const device = await newDevice();
    const cat = await androidCat(device);
    const body = await succeeds(await headerToken(cat, device));
    expect(body).toMatchObject({ token_type: "DPoP", scope: HAAPI_SCOPE });
    expect(claimsOf(body.access_token as string)).toMatchObject({
      client_id: "attested-only",
      cal: "by-policy",
      cnf: { jkt: device.jkt },
    });
  });

  it("with an OAuth-Client-Attestation-PoP by the device key -> a token; also with aud = token endpoint", async () => {
    const device = await newDevice();
    const body = await succeeds(
      await headerToken(await androidCat(device), device, { pop: await attestationPop(device) }),
    );
    expect(claimsOf(body.access_token as string)).toMatchObject({
      client_id: "attested-only",
      cal: "by-policy",
      cnf: { jkt: device.jkt },
    });
    await succeeds(
      await headerToken(await androidCat(device), device, { pop: await attestationPop(device, { aud: TOKEN_URL }) }),
    );
  });

  it("a PoP replayed with a new CAT -> 401 invalid_client_attestation, and that CAT is not spent", async () => {
    const device = await newDevice();
    const pop = await attestationPop(device);
    await succeeds(await headerToken(await androidCat(device), device, { pop }));
    const second = await androidCat(device);
    await refused(
      await headerToken(second, device, { pop }),
      401,
      "invalid_client_attestation",
      "client attestation rejected",
    );
    await succeeds(await headerToken(second, device, { pop: await attestationPop(device) }));
  });

  it.each([
    ["wrong aud", async (device: Device) => attestationPop(device, { aud: "https://other.example" })],
    ["aud = the CAT endpoint", async (device: Device) => attestationPop(device, { aud: CAT_URL })],
    ["wrong typ (JWT)", async (device: Device) => attestationPop(device, { typ: "JWT" })],
    ["wrong typ (the attestation's)", async (device: Device) => attestationPop(device, { typ: CAT_TYP })],
    ["signed by another key", async (device: Device) => attestationPop(device, { signer: await deviceKey() })],
    [
      "iat too old",
      async (device: Device) => attestationPop(device, { iat: nowSeconds() - config.attestation.pop_max_age - 120 }),
    ],
    ["iat in the future", async (device: Device) => attestationPop(device, { iat: nowSeconds() + 3600 })],
    ["not a JWT", async () => "garbage"],
  ])("a PoP with %s -> 401 invalid_client_attestation; the CAT is not spent", async (_, make) => {
    const device = await newDevice();
    const cat = await androidCat(device);
    await refused(
      await headerToken(cat, device, { pop: await make(device) }),
      401,
      "invalid_client_attestation",
      "client attestation rejected",
    );
    await succeeds(await headerToken(cat, device, { pop: await attestationPop(device) }));
  });

  it.each([
    ["the same PoP", false],
    ["a fresh PoP", true],
  ])(
    "a use_dpop_nonce refusal spends neither the CAT nor the PoP: the retry with %s gets a token",
    async (_, freshPop) => {
      const device = await newDevice();
      const cat = await androidCat(device);
      const body = { grant_type: "client_credentials", scope: HAAPI_SCOPE };
      const pop = await attestationPop(device);
      const first = await tokenRequest({
        body,
        headers: { "OAuth-Client-Attestation": cat, "OAuth-Client-Attestation-PoP": pop, DPoP: await proof(device) },
      });
      await refused(first.clone(), 400, "use_dpop_nonce", "DPoP nonce required");
      const nonce = first.headers.get("DPoP-Nonce");
      expect(nonce).toBeTruthy();
      const retryPop = freshPop ? await attestationPop(device) : pop;
      await succeeds(
        await tokenRequest({
          body,
          headers: {
            "OAuth-Client-Attestation": cat,
            "OAuth-Client-Attestation-PoP": retryPop,
            DPoP: await proof(device, { nonce: nonce! }),
          },
        }),
      );
    },
  );

  it("a PoP header without the attestation header -> 400 invalid_request", async () => {
    const device = await newDevice();
    await refused(
      await headerToken(null, device, { pop: await attestationPop(device) }),
      400,
      "invalid_request",
      "OAuth-Client-Attestation-PoP without OAuth-Client-Attestation",
    );
  });

  it("both client_assertion and the attestation header -> 400 invalid_request, nothing spent", async () => {
    const device = await newDevice();
    const cat = await androidCat(device);
    await refused(
      await headerToken(cat, device, {
        body: {
          grant_type: "client_credentials",
          scope: HAAPI_SCOPE,
          client_assertion_type: CAT_ASSERTION_TYPE,
          client_assertion: cat,
        },
      }),
      400,
      "invalid_request",
      "more than one client authentication method",
    );
    await refused(
      await headerToken(cat, device, { headers: { Authorization: basic("attested-only", "attested-secret") } }),
      400,
      "invalid_request",
      "more than one client authentication method",
    );
    await succeeds(await headerToken(cat, device));
  });

  it("two attestation headers (folded with a comma) -> 400 invalid_request", async () => {
    const device = await newDevice();
    const cat = await androidCat(device);
    const response = await headerToken(cat, device, { headers: { "OAuth-Client-Attestation": `${cat}, ${cat}` } });
    await refused(
      response,
      400,
      "invalid_request",
      "exactly one OAuth-Client-Attestation and at most one OAuth-Client-Attestation-PoP header",
    );
  });

  it("an attestation header over limits.max_header_bytes -> 400 invalid_request", async () => {
    const device = await newDevice();
    const huge = `${await androidCat(device)}${"A".repeat(config.limits.max_header_bytes)}`;
    await refused(await headerToken(huge, device), 400, "invalid_request", "client attestation header too large");
  });

  it("a garbage attestation header -> 401 invalid_client_attestation", async () => {
    const device = await newDevice();
    await refused(
      await headerToken("not-a-jwt", device),
      401,
      "invalid_client_attestation",
      "client attestation is malformed",
    );
  });

  it("an expired CAT in the header -> 401 invalid_client_attestation", async () => {
    const device = await newDevice();
    const { cat } = await signCat(await serverKeys(), catClaims(device), nowSeconds() - 600);
    await refused(await headerToken(cat, device), 401, "invalid_client_attestation", "client attestation rejected");
  });

  it("header mode with a DPoP proof by another key -> 400 invalid_client_attestation, with or without a PoP", async () => {
    const device = await newDevice();
    const thief = await newDevice();
    const cat = await androidCat(device);
    await refused(
      await headerToken(cat, device, { proofDevice: thief }),
      400,
      "invalid_client_attestation",
      "the DPoP key is not the attested key",
    );
    await refused(
      await headerToken(cat, device, { proofDevice: thief, pop: await attestationPop(device) }),
      400,
      "invalid_client_attestation",
      "the DPoP key is not the attested key",
    );
    await succeeds(await headerToken(cat, device));
  });

  it("header mode without any DPoP proof -> 400 invalid_dpop_proof", async () => {
    const device = await newDevice();
    const cat = await androidCat(device);
    await refused(
      await headerToken(cat, device, { proofDevice: null, pop: await attestationPop(device) }),
      400,
      "invalid_dpop_proof",
      "DPoP proof required",
    );
    await succeeds(await headerToken(cat, device));
  });

  it("a CAT is spent once whether presented as assertion or header", async () => {
    const device = await newDevice();
    const cat = await androidCat(device);
    await succeeds(await haapiToken(cat, device));
    await refused(await headerToken(cat, device), 401, "invalid_client_attestation", "client attestation already used");
    await refused(
      await headerToken(cat, device, { pop: await attestationPop(device) }),
      401,
      "invalid_client_attestation",
      "client attestation already used",
    );

    const other = await androidCat(device);
    await succeeds(await headerToken(other, device));
    await refused(await haapiToken(other, device), 401, "invalid_client", "client authentication failed");
  });
});
