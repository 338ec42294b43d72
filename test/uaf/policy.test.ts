/**
 * UAF policies on the server side: MatchCriteria semantics, accepted/disallowed, and the policies
 * this server builds.
 */
import { describe, expect, it } from "vitest";
import type { Policy } from "../../src/uaf/messages";
import { authenticationPolicy, matchesPolicy, policyKnowsAaid, registrationPolicy } from "../../src/uaf/policy";

const pin = {
  aaid: "F1D0#0001",
  keyId: "k1",
  signAlg: 1,
  assertionScheme: "UAFV1TLV",
  attestationType: 0x3e08,
  authenticatorVersion: 2,
};
const single = (criteria: Policy["accepted"][number][number]): Policy => ({ accepted: [[criteria]] });

describe("matchesPolicy", () => {
  it("matches a listed AAID, case-insensitively, and nothing else", () => {
    expect(matchesPolicy(single({ aaid: ["F1D0#0001"] }), pin)).toBe(true);
    expect(matchesPolicy(single({ aaid: ["f1d0#0001"] }), pin)).toBe(true);
    expect(matchesPolicy(single({ aaid: ["F1D0#0002"] }), pin)).toBe(false);
  });

  it("ANDs the members of one MatchCriteria", () => {
    expect(
      matchesPolicy(
        single({
          aaid: ["F1D0#0001"],
          authenticationAlgorithms: [1, 2],
          assertionSchemes: ["UAFV1TLV"],
          attestationTypes: [0x3e08],
        }),
        pin,
      ),
    ).toBe(true);
    expect(matchesPolicy(single({ aaid: ["F1D0#0001"], authenticationAlgorithms: [2] }), pin)).toBe(false);
    expect(matchesPolicy(single({ aaid: ["F1D0#0001"], attestationTypes: [0x3e07] }), pin)).toBe(false);
    expect(matchesPolicy(single({ vendorID: ["f1d0"] }), pin)).toBe(true);
    expect(matchesPolicy(single({ vendorID: ["ABCD"] }), pin)).toBe(false);
    expect(matchesPolicy(single({ keyIDs: ["k1", "k2"] }), pin)).toBe(true);
    expect(matchesPolicy(single({ keyIDs: ["k2"] }), pin)).toBe(false);
    expect(matchesPolicy(single({ authenticatorVersion: 2 }), pin)).toBe(true);
    expect(matchesPolicy(single({ authenticatorVersion: 3 }), pin)).toBe(false);
  });

  it("ORs the accepted sets", () => {
    const policy: Policy = { accepted: [[{ aaid: ["F1D0#0002"] }], [{ aaid: ["F1D0#0001"] }]] };
    expect(matchesPolicy(policy, pin)).toBe(true);
    expect(matchesPolicy(policy, { ...pin, aaid: "F1D0#0003" })).toBe(false);
  });

  it("lets disallowed block what accepted allows", () => {
    const policy: Policy = {
      accepted: [[{ aaid: ["F1D0#0001"] }]],
      disallowed: [{ aaid: ["F1D0#0001"], keyIDs: ["k1"] }],
    };
    expect(matchesPolicy(policy, pin)).toBe(false);
    expect(matchesPolicy(policy, { ...pin, keyId: "k9" })).toBe(true);
  });

  it("matches bit fields by a shared bit, and userVerification exactly under USER_VERIFY_ALL", () => {
    const withMetadata = { ...pin, userVerification: 0x04 | 0x02, keyProtection: 0x02, tcDisplay: 0x01 };
    expect(matchesPolicy(single({ userVerification: 0x02 }), withMetadata)).toBe(true);
    expect(matchesPolicy(single({ userVerification: 0x08 }), withMetadata)).toBe(false);
    expect(
      matchesPolicy(single({ userVerification: 0x400 | 0x04 | 0x02 }), {
        ...withMetadata,
        userVerification: 0x400 | 0x04 | 0x02,
      }),
    ).toBe(true);
    expect(matchesPolicy(single({ userVerification: 0x400 | 0x04 | 0x02 }), withMetadata)).toBe(false);
    expect(matchesPolicy(single({ keyProtection: 0x06 }), withMetadata)).toBe(true);
    expect(matchesPolicy(single({ keyProtection: 0x08 }), withMetadata)).toBe(false);
  });

  it("never lets a member it cannot evaluate help the authenticator", () => {
    // No metadata: keyProtection is unknown. It fails in accepted ...
    expect(matchesPolicy(single({ aaid: ["F1D0#0001"], keyProtection: 0x02 }), pin)).toBe(false);
    expect(
      matchesPolicy(single({ aaid: ["F1D0#0001"], exts: [{ id: "x", data: "", fail_if_unknown: true }] }), pin),
    ).toBe(false);
    expect(
      matchesPolicy(single({ aaid: ["F1D0#0001"], exts: [{ id: "x", data: "", fail_if_unknown: false }] }), pin),
    ).toBe(true);
    // ... and blocks in disallowed.
    expect(matchesPolicy({ accepted: [[{ aaid: ["F1D0#0001"] }]], disallowed: [{ keyProtection: 0x02 }] }, pin)).toBe(
      false,
    );
    expect(matchesPolicy(single({ keyIDs: ["k1"] }), { aaid: "F1D0#0001" })).toBe(false);
  });
});

describe("policyKnowsAaid", () => {
  it("tells an AAID the policy names from one it does not", () => {
    expect(policyKnowsAaid(registrationPolicy(["F1D0#0001"]), "f1d0#0001")).toBe(true);
    expect(policyKnowsAaid(registrationPolicy(["F1D0#0001"]), "F1D0#1001")).toBe(false);
    expect(policyKnowsAaid(single({ vendorID: ["F1D0"] }), "ABCD#0001")).toBe(true);
  });
});

describe("registrationPolicy / authenticationPolicy", () => {
  it("accepts any one allowed AAID and disallows the keys already registered", () => {
    const registered = [
      { aaid: "F1D0#0001", keyId: "k1" },
      { aaid: "F1D0#0003", keyId: "k3" },
      { aaid: "F1D0#0001", keyId: "k2" },
    ];
    const policy = registrationPolicy(["F1D0#0001", "F1D0#0003"], registered);
    expect(policy).toEqual({
      accepted: [[{ aaid: ["F1D0#0001"] }], [{ aaid: ["F1D0#0003"] }]],
      disallowed: [
        { aaid: ["F1D0#0001"], keyIDs: ["k1", "k2"] },
        { aaid: ["F1D0#0003"], keyIDs: ["k3"] },
      ],
    });
    expect(matchesPolicy(policy, { aaid: "F1D0#0001", keyId: "k2" })).toBe(false);
    expect(matchesPolicy(policy, { aaid: "F1D0#0001", keyId: "new" })).toBe(true);
    expect(registrationPolicy(["F1D0#0001"])).toEqual({ accepted: [[{ aaid: ["F1D0#0001"] }]] });
    expect(() => registrationPolicy([])).toThrow(TypeError);
  });

  it("accepts exactly the user's registered keys for authentication", () => {
    const policy = authenticationPolicy([{ aaid: "F1D0#0001", keyId: "k1" }]);
    expect(policy).toEqual({ accepted: [[{ aaid: ["F1D0#0001"], keyIDs: ["k1"] }]] });
    expect(matchesPolicy(policy, { aaid: "F1D0#0001", keyId: "k1" })).toBe(true);
    expect(matchesPolicy(policy, { aaid: "F1D0#0001", keyId: "k2" })).toBe(false);
    expect(() => authenticationPolicy([])).toThrow(TypeError);
  });
});
