/**
 * verifyAuthentication on messages generated here: a key registered through verifyRegistration,
 * every algorithm pair, transactions, counters, then one broken variant per check, each refused
 * with its precise reason (the reason -> UAF status code table is status.test.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  verifyAuthentication,
  type ExpectedAuthentication,
  type StoredUafAuthenticator,
} from "../../src/uaf/authentication";
import { registrationPolicy } from "../../src/uaf/policy";
import { verifyRegistration } from "../../src/uaf/registration";
import {
  AAID,
  APP_ID,
  ascii,
  authAssertion,
  b64u,
  CHALLENGE,
  concat,
  ecKey,
  expectRefused,
  FACET,
  fcParamsOf,
  flipBit,
  NOW,
  regAssertion,
  response,
  rsaKey,
  sha256,
  T,
  tlv,
  uafv1,
  type AuthOptions,
  type UafKey,
} from "./helpers";

const FC = fcParamsOf();
const expected: ExpectedAuthentication = { appId: APP_ID, challenge: CHALLENGE, trustedFacetIds: [FACET] };
const TX_CONTENT = b64u(ascii("Pay CHF 100.00 to ACME AG"));

/** Register `key` the way the server does and return what the store would keep. */
async function register(
  key: UafKey,
  signAlg?: number,
  pubKeyAlg?: number,
): Promise<StoredUafAuthenticator & { keyIdBytes: Uint8Array }> {
  const built = await regAssertion({
    key,
    fcParams: FC,
    signCounter: 5,
    ...(signAlg ? { signAlg } : {}),
    ...(pubKeyAlg ? { pubKeyAlg } : {}),
  });
  const result = await verifyRegistration(
    response({ fcParams: FC, assertions: [uafv1(built.assertion)] }),
    {
      appId: APP_ID,
      challenge: CHALLENGE,
      username: "alice",
      trustedFacetIds: [FACET],
      policy: registrationPolicy([AAID]),
    },
    { roots: [], acceptBasicFullWithoutChain: false, acceptSurrogate: true },
    NOW,
  );
  if (!result.ok) throw new Error(result.reason);
  const { aaid, keyId, publicKey, signAlg: alg, signCounter } = result.value[0]!;
  return { aaid, keyId, publicKey, signAlg: alg, signCounter, keyIdBytes: built.keyId };
}

let key: UafKey;
let stored: StoredUafAuthenticator & { keyIdBytes: Uint8Array };
beforeAll(async () => {
  key = await ecKey();
  stored = await register(key);
});

async function auth(options: Partial<AuthOptions> = {}, fcParams = FC) {
  const { assertion } = await authAssertion({ key, fcParams, keyId: stored.keyIdBytes, signCounter: 6, ...options });
  return response({ op: "Auth", fcParams: FC, assertions: [uafv1(assertion)] });
}

const verify = (
  message: ReturnType<typeof response>,
  overrides: Partial<ExpectedAuthentication> = {},
  authenticators: readonly StoredUafAuthenticator[] = [stored],
) => verifyAuthentication(message, { ...expected, ...overrides }, authenticators, NOW);

describe("verifyAuthentication: accepted", () => {
  it("a registered key, counter increased", async () => {
    expect(await verify(await auth())).toEqual({
      ok: true,
      value: {
        aaid: AAID,
        keyId: stored.keyId,
        signCounter: 6,
        authenticationMode: 1,
        transactionConfirmed: false,
        counterRegressed: false,
      },
    });
  });

  it("picks the matching key among several", async () => {
    const other = await register(await ecKey());
    expect((await verify(await auth(), {}, [other, stored])).ok).toBe(true);
  });

  it.each([
    ["ECDSA DER, SPKI key", 0x02, 0x101, "ec"],
    ["RSASSA-PSS raw, raw key", 0x03, 0x102, "rsa"],
    ["RSASSA-PSS DER, SPKI key", 0x04, 0x103, "rsa"],
  ] as const)("%s", async (_, signAlg, pubKeyAlg, family) => {
    const algKey = family === "ec" ? await ecKey() : await rsaKey();
    const registered = await register(algKey, signAlg, pubKeyAlg);
    const { assertion } = await authAssertion({
      key: algKey,
      fcParams: FC,
      keyId: registered.keyIdBytes,
      signAlg,
      signCounter: 9,
    });
    const result = await verify(response({ op: "Auth", fcParams: FC, assertions: [uafv1(assertion)] }), {}, [
      registered,
    ]);
    expect(result).toMatchObject({ ok: true, value: { signCounter: 9 } });
  });

  it("a confirmed transaction: mode 2 and the hash of the decoded content", async () => {
    const message = await auth({ mode: 2, transactionHash: await sha256(ascii("Pay CHF 100.00 to ACME AG")) });
    const transaction = [{ contentType: "text/plain", content: TX_CONTENT }];
    expect(await verify(message, { transaction })).toMatchObject({
      ok: true,
      value: { authenticationMode: 2, transactionConfirmed: true },
    });
  });
});

describe("verifyAuthentication: sign counter", () => {
  it.each([
    [5, 6, false],
    [5, 5, true],
    [5, 4, true],
    [5, 0, false],
    [0, 3, false],
    [0, 0, false],
  ])("stored %i, sent %i: counterRegressed %s", async (previous, sent, regressed) => {
    const result = await verify(await auth({ signCounter: sent }), {}, [{ ...stored, signCounter: previous }]);
    expect(result).toMatchObject({ ok: true, value: { signCounter: sent, counterRegressed: regressed } });
  });
});

describe("verifyAuthentication: refused", () => {
  it("an unknown KeyID or an AAID it was not registered with", async () => {
    expectRefused(await verify(await auth({ keyId: new Uint8Array(32) })), "unknown_key_id");
    expectRefused(await verify(await auth({ aaid: "F1D0#0003" })), "unknown_key_id");
    expectRefused(await verify(await auth(), {}, []), "unknown_key_id");
  });

  it("a flipped signature bit, a flipped SIGNED_DATA byte, another key's signature", async () => {
    expectRefused(await verify(await auth({ corruptSignature: (s) => flipBit(s, 31) })), "signature_invalid");
    const { assertion } = await authAssertion({ key, fcParams: FC, keyId: stored.keyIdBytes });
    const nonceByte = 8 + 13 + 9 + 4; // headers (8), AAID (13), ASSERTION_INFO (9), nonce header (4)
    expectRefused(
      await verify(response({ op: "Auth", fcParams: FC, assertions: [uafv1(flipBit(assertion, nonceByte))] })),
      "signature_invalid",
    );
    expectRefused(await verify(await auth({ key: await ecKey() })), "signature_invalid");
  });

  it("a final challenge hash over other fcParams, another challenge, appID or facet", async () => {
    expectRefused(await verify(await auth({}, fcParamsOf({ challenge: "x" }))), "final_challenge_hash_mismatch");
    expectRefused(await verify(await auth(), { challenge: "another" }), "challenge_mismatch");
    expectRefused(await verify(await auth(), { appId: "https://other.example/facets" }), "app_id_mismatch");
    expectRefused(await verify(await auth(), { trustedFacetIds: [] }), "facet_not_trusted");
  });

  it("a wrong op or upv", async () => {
    const { assertion } = await authAssertion({ key, fcParams: FC, keyId: stored.keyIdBytes });
    expectRefused(await verify(response({ op: "Reg", fcParams: FC, assertions: [uafv1(assertion)] })), "op_mismatch");
    expectRefused(
      await verify(response({ op: "Auth", upv: { major: 1, minor: 3 }, fcParams: FC, assertions: [uafv1(assertion)] })),
      "upv_unsupported",
    );
  });

  it("two assertions (one was asked for), a registration assertion, another scheme", async () => {
    const { assertion } = await authAssertion({ key, fcParams: FC, keyId: stored.keyIdBytes });
    expectRefused(
      await verify(response({ op: "Auth", fcParams: FC, assertions: [uafv1(assertion), uafv1(assertion)] })),
      "assertion_count_invalid",
    );
    const reg = await regAssertion({ key, fcParams: FC });
    expectRefused(
      await verify(response({ op: "Auth", fcParams: FC, assertions: [uafv1(reg.assertion)] })),
      "tlv_unexpected_tag",
    );
    expectRefused(
      await verify(
        response({ op: "Auth", fcParams: FC, assertions: [{ assertionScheme: "FIDOV2", assertion: b64u(assertion) }] }),
      ),
      "assertion_scheme_unsupported",
    );
  });

  it("broken TLV: truncated, trailing, swapped, missing, bad lengths, short nonce", async () => {
    const { assertion } = await authAssertion({ key, fcParams: FC, keyId: stored.keyIdBytes });
    const send = (bytes: Uint8Array) => verify(response({ op: "Auth", fcParams: FC, assertions: [uafv1(bytes)] }));
    for (const length of [3, 30, assertion.length - 1])
      expectRefused(await send(assertion.subarray(0, length)), "tlv_truncated");
    expectRefused(await send(concat(assertion, new Uint8Array([1]))), "tlv_trailing_bytes");
    expectRefused(
      await verify(await auth({ signedDataFields: (f) => [f[0]!, f[2]!, f[1]!, ...f.slice(3)] })),
      "tlv_out_of_order",
    );
    expectRefused(
      await verify(await auth({ signedDataFields: (f) => [...f.slice(0, 4), ...f.slice(5)] })),
      "tlv_missing_tag",
    );
    expectRefused(
      await verify(
        await auth({
          signedDataFields: (f) => [
            f[0]!,
            tlv(T.ASSERTION_INFO, concat(f[1]!.subarray(4), new Uint8Array(2))),
            ...f.slice(2),
          ],
        }),
      ),
      "tlv_bad_length",
    );
    expectRefused(
      await verify(await auth({ signedDataFields: (f) => [...f.slice(0, 6), tlv(T.COUNTERS, new Uint8Array(8))] })),
      "tlv_bad_length",
    );
    expectRefused(await verify(await auth({ nonce: new Uint8Array(7) })), "authenticator_nonce_malformed");
  });

  it("a signature algorithm other than the registered one, or one not supported", async () => {
    expectRefused(await verify(await auth({ signAlg: 0x02 })), "signature_algorithm_mismatch");
    expectRefused(
      await verify(await auth({ signAlg: 0x06 }), {}, [{ ...stored, signAlg: 0x06 }]),
      "unsupported_algorithm",
    );
  });

  it("a transaction hash that does not match, is missing, or comes without a transaction", async () => {
    const transaction = [{ contentType: "text/plain", content: TX_CONTENT }];
    const rightHash = await sha256(ascii("Pay CHF 100.00 to ACME AG"));
    expectRefused(
      await verify(await auth({ mode: 2, transactionHash: await sha256(ascii("Pay CHF 900.00 to ACME AG")) }), {
        transaction,
      }),
      "transaction_hash_mismatch",
    );
    // The hash of the base64url text instead of the decoded content is wrong too.
    expectRefused(
      await verify(await auth({ mode: 2, transactionHash: await sha256(TX_CONTENT) }), { transaction }),
      "transaction_hash_mismatch",
    );
    expectRefused(await verify(await auth({ mode: 1 }), { transaction }), "transaction_not_confirmed");
    expectRefused(
      await verify(await auth({ mode: 1, transactionHash: rightHash }), { transaction }),
      "authentication_mode_invalid",
    );
    expectRefused(await verify(await auth({ mode: 1, transactionHash: rightHash })), "transaction_hash_mismatch");
    expectRefused(await verify(await auth({ mode: 2 })), "authentication_mode_invalid");
  });

  it("a corrupt stored key is our fault (stored_key_invalid), not the client's", async () => {
    expectRefused(
      await verify(await auth(), {}, [{ ...stored, publicKey: { alg: 0x100, key: "AAAA" } }]),
      "stored_key_invalid",
    );
  });
});
