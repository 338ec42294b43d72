/**
 * Verify a UAF RegistrationResponse (the processing rules of FIDO UAF Protocol v1.1 §3.4.6.5).
 * Steps, in order:
 *
 * 1. header: upv 1.0/1.1, op "Reg", appID ours;                     (final-challenge.ts)
 * 2. fcParams: appID, challenge, trusted facet, channelBinding;      (final-challenge.ts)
 * 3. per assertion: scheme "UAFV1TLV"; strict TLV into fields;        (assertion.ts)
 *    no AAID+KeyID twice in one response; FINAL_CHALLENGE_HASH = SHA-256(fcParams as received);
 *    authenticationMode 1 (a registration verifies the user and shows no transaction);
 *    supported, matching signature and key algorithms; the PUB_KEY imports;
 *    the policy accepts the authenticator (unknown AAID: `aaid_unknown`, refused: `authenticator_not_accepted`);
 *    the attestation over the whole KRD TLV.                          (attestation.ts)
 *
 * This does NOT check serverData (the route opens it and passes the challenge and username), nor
 * whether an AAID+KeyID is already registered (the user's store does that atomically).
 * Pure: no I/O; `now` passed in.
 */
import { fail, ok, type Result } from "../verifiers/result";
import {
  algorithmsMatch,
  importUafPublicKey,
  isSupportedKeyAlg,
  isSupportedSignAlg,
  type StoredUafPublicKey,
} from "./algorithms";
import {
  ASSERTION_SCHEME,
  MODE_USER_VERIFIED,
  readRegAssertion,
  type AssertionReason,
  type RegAssertion,
} from "./assertion";
import { verifyAttestation, type AttestationReason, type RegistrationTrust } from "./attestation";
import { encodeBase64url } from "./base64url";
import { checkResponseEnvelope, type FinalChallengeReason } from "./final-challenge";
import type { Policy, RegistrationResponse } from "./messages";
import { matchesPolicy, policyKnowsAaid } from "./policy";
import { equalBytes } from "../verifiers/constant-time";

export type { RegistrationTrust } from "./attestation";

export interface ExpectedRegistration {
  readonly appId: string;
  readonly challenge: string;
  /** The user the request was issued for (from serverData). A response does not carry it, so it is not compared here. */
  readonly username: string;
  readonly trustedFacetIds: readonly string[];
  readonly policy: Policy;
}

export interface NewAuthenticator {
  /** Upper case. */
  aaid: string;
  /** base64url. */
  keyId: string;
  publicKey: StoredUafPublicKey;
  signAlg: number;
  signCounter: number;
  regCounter: number;
  authenticatorVersion: number;
  authenticationMode: number;
  attestation: "basic_full" | "basic_surrogate";
  attestationChainVerified: boolean;
}

export type RegistrationReason =
  | FinalChallengeReason
  | AssertionReason
  | AttestationReason
  | "assertion_scheme_unsupported"
  | "duplicate_assertion"
  | "final_challenge_hash_mismatch"
  | "authentication_mode_invalid"
  | "unsupported_algorithm"
  | "public_key_malformed"
  | "aaid_unknown"
  | "authenticator_not_accepted";

type Out<T> = Result<T, RegistrationReason>;

function checkFinalChallengeHash(assertion: RegAssertion, expectedHash: Uint8Array): Out<null> {
  return equalBytes(assertion.finalChallengeHash, expectedHash) ? ok(null) : fail("final_challenge_hash_mismatch");
}

function checkAuthenticationMode(assertion: RegAssertion): Out<null> {
  return assertion.authenticationMode === MODE_USER_VERIFIED
    ? ok(null)
    : fail("authentication_mode_invalid", { mode: assertion.authenticationMode });
}

async function importPublicKey(assertion: RegAssertion): Promise<Out<CryptoKey>> {
  const { signAlg, pubKeyAlg } = assertion;
  if (!isSupportedSignAlg(signAlg) || !isSupportedKeyAlg(pubKeyAlg) || !algorithmsMatch(signAlg, pubKeyAlg)) {
    return fail("unsupported_algorithm", { signAlg, pubKeyAlg });
  }
  return importUafPublicKey(pubKeyAlg, assertion.publicKey);
}

function checkPolicy(assertion: RegAssertion, keyId: string, policy: Policy): Out<null> {
  const authenticator = {
    aaid: assertion.aaid,
    keyId,
    signAlg: assertion.signAlg,
    assertionScheme: ASSERTION_SCHEME,
    attestationType: assertion.attestationTag,
    authenticatorVersion: assertion.authenticatorVersion,
  };
  if (matchesPolicy(policy, authenticator)) return ok(null);
  return policyKnowsAaid(policy, assertion.aaid)
    ? fail("authenticator_not_accepted", { aaid: assertion.aaid })
    : fail("aaid_unknown", { aaid: assertion.aaid });
}

/** One assertion: every step after the envelope. */
async function verifyAssertion(
  item: { assertionScheme: string; assertion: string },
  fcHash: Uint8Array,
  seen: Set<string>,
  expected: ExpectedRegistration,
  trust: RegistrationTrust,
  now: Date,
): Promise<Out<NewAuthenticator>> {
  if (item.assertionScheme !== ASSERTION_SCHEME)
    return fail("assertion_scheme_unsupported", { scheme: item.assertionScheme });
  const read = readRegAssertion(item.assertion);
  if (!read.ok) return read;
  const assertion = read.value;
  const keyId = encodeBase64url(assertion.keyId);
  const identity = `${assertion.aaid}:${keyId}`;
  if (seen.has(identity)) return fail("duplicate_assertion", { aaid: assertion.aaid, keyId });
  seen.add(identity);

  const steps = [checkFinalChallengeHash(assertion, fcHash), checkAuthenticationMode(assertion)];
  for (const step of steps) if (!step.ok) return step;
  const key = await importPublicKey(assertion);
  if (!key.ok) return key;
  const policy = checkPolicy(assertion, keyId, expected.policy);
  if (!policy.ok) return policy;
  const attestation = await verifyAttestation(assertion, key.value, trust, now);
  if (!attestation.ok) return attestation;

  return ok({
    aaid: assertion.aaid,
    keyId,
    publicKey: { alg: assertion.pubKeyAlg, key: encodeBase64url(assertion.publicKey) },
    signAlg: assertion.signAlg,
    signCounter: assertion.signCounter,
    regCounter: assertion.regCounter,
    authenticatorVersion: assertion.authenticatorVersion,
    authenticationMode: assertion.authenticationMode,
    ...attestation.value,
  });
}

/**
 * Verify `response` against what this server asked for. All assertions must pass: one bad
 * assertion refuses the whole response (no partial registration). `detail.assertion` is the index
 * of the refused assertion.
 */
export async function verifyRegistration(
  response: RegistrationResponse,
  expected: ExpectedRegistration,
  trust: RegistrationTrust,
  now: Date,
): Promise<Result<NewAuthenticator[], RegistrationReason>> {
  const envelope = await checkResponseEnvelope(response, "Reg", expected);
  if (!envelope.ok) return envelope;

  const seen = new Set<string>();
  const authenticators: NewAuthenticator[] = [];
  for (const [index, item] of response.assertions.entries()) {
    const verified = await verifyAssertion(item, envelope.value.hash, seen, expected, trust, now);
    if (!verified.ok) return fail(verified.reason, { assertion: index, ...verified.detail });
    authenticators.push(verified.value);
  }
  return ok(authenticators);
}
