/**
 * Verify a UAF AuthenticationResponse (FIDO UAF Protocol v1.1 §3.5.7.5; uaf-nevis.md §1 "At
 * authentication"). Steps, in order:
 *
 * 1. header and fcParams, as at registration;                        (final-challenge.ts)
 * 2. exactly one assertion: this server asks for one authenticator per authentication (its
 *    policies are single-criteria sets) and a login needs one answer; a second assertion is
 *    something the server did not ask for, so it is refused rather than ignored;
 * 3. scheme "UAFV1TLV"; strict TLV into fields;                       (assertion.ts)
 * 4. FINAL_CHALLENGE_HASH = SHA-256(fcParams as received);
 * 5. the AAID+KeyID is one of `authenticators` (else `unknown_key_id`, UAF 1481);
 * 6. the signature algorithm is the one registered;
 * 7. transaction: when one was shown, authenticationMode 2 and TRANSACTION_CONTENT_HASH =
 *    SHA-256(base64url-decoded content) of one of the transactions sent; otherwise mode 1 and an
 *    empty hash;
 * 8. the signature over the whole SIGNED_DATA TLV with the stored key;
 * 9. the sign counter: `counterRegressed` when both the new and the stored counter are non-zero and
 *    the new one is not greater (a possibly cloned authenticator). Reported, not refused: the policy
 *    decision is the caller's, and the store re-checks it atomically.
 *
 * This does NOT check serverData (the route does). Pure: no I/O; `now` is accepted for symmetry
 * with the other verifiers (nothing here depends on time).
 */
import { fail, ok, type Result } from "../verifiers/result";
import { importUafPublicKey, verifyUafSignature, type StoredUafPublicKey } from "./algorithms";
import {
  ASSERTION_SCHEME,
  MODE_TRANSACTION_CONFIRMED,
  MODE_USER_VERIFIED,
  readAuthAssertion,
  type AssertionReason,
  type AuthAssertion,
} from "./assertion";
import { decodeBase64url, encodeBase64url } from "./base64url";
import { checkResponseEnvelope, type FinalChallengeReason } from "./final-challenge";
import type { AuthenticationResponse } from "./messages";
import { equalBytes } from "../verifiers/constant-time";
import { sha256, sha256Base64url } from "../hash";

export interface StoredUafAuthenticator {
  aaid: string;
  /** base64url. */
  keyId: string;
  publicKey: StoredUafPublicKey;
  signAlg: number;
  signCounter: number;
}

export interface ExpectedAuthentication {
  readonly appId: string;
  readonly challenge: string;
  readonly trustedFacetIds: readonly string[];
  /** The transactions sent in the request, content base64url as sent. */
  readonly transaction?: readonly { contentType: string; content: string }[];
  /**
   * Or, where the request's state travels sealed in serverData: the base64url SHA-256 of each shown
   * content (transactionContentHash of each).
   */
  readonly transactionHashes?: readonly string[];
}

export interface VerifiedAuthentication {
  /** Upper case. */
  aaid: string;
  /** base64url. */
  keyId: string;
  signCounter: number;
  authenticationMode: number;
  transactionConfirmed: boolean;
  counterRegressed: boolean;
}

export type AuthenticationReason =
  | FinalChallengeReason
  | AssertionReason
  | "assertion_count_invalid"
  | "assertion_scheme_unsupported"
  | "final_challenge_hash_mismatch"
  | "unknown_key_id"
  | "signature_algorithm_mismatch"
  | "authentication_mode_invalid"
  | "transaction_not_confirmed"
  | "transaction_hash_mismatch"
  | "unsupported_algorithm"
  | "signature_invalid"
  | "stored_key_invalid";

type Out<T> = Result<T, AuthenticationReason>;

function findAuthenticator(
  assertion: AuthAssertion,
  authenticators: readonly StoredUafAuthenticator[],
): Out<StoredUafAuthenticator> {
  const keyId = encodeBase64url(assertion.keyId);
  const found = authenticators.find(
    (candidate) => candidate.keyId === keyId && candidate.aaid.toUpperCase() === assertion.aaid,
  );
  return found ? ok(found) : fail("unknown_key_id", { aaid: assertion.aaid, keyId });
}

/** The base64url SHA-256 of a transaction's decoded content (what TRANSACTION_CONTENT_HASH must be), or null. */
export async function transactionContentHash(content: string): Promise<string | null> {
  const bytes = decodeBase64url(content);
  return bytes ? sha256Base64url(bytes) : null;
}

/** SHA-256 of each transaction's decoded content; a content that is not base64url hashes nothing. */
async function transactionHashes(transactions: readonly { content: string }[]): Promise<Uint8Array[]> {
  const hashes: Uint8Array[] = [];
  for (const { content } of transactions) {
    const bytes = decodeBase64url(content);
    if (bytes) hashes.push(await sha256(bytes));
  }
  return hashes;
}

async function checkTransaction(
  assertion: AuthAssertion,
  transactions: readonly { content: string }[] | undefined,
  sealed: readonly string[] | undefined,
): Promise<Out<boolean>> {
  const { authenticationMode: mode, transactionContentHash: hash } = assertion;
  if ((!transactions || transactions.length === 0) && (!sealed || sealed.length === 0)) {
    if (mode !== MODE_USER_VERIFIED) return fail("authentication_mode_invalid", { mode, transaction: false });
    return hash.length === 0
      ? ok(false)
      : fail("transaction_hash_mismatch", { why: "a transaction hash without a transaction" });
  }
  if (hash.length === 0) return fail("transaction_not_confirmed", { mode });
  if (mode !== MODE_TRANSACTION_CONFIRMED) return fail("authentication_mode_invalid", { mode, transaction: true });
  const expected = [
    ...(await transactionHashes(transactions ?? [])),
    ...(sealed ?? []).flatMap((value) => decodeBase64url(value) ?? []),
  ];
  return expected.some((candidate) => equalBytes(candidate, hash)) ? ok(true) : fail("transaction_hash_mismatch");
}

async function checkSignature(assertion: AuthAssertion, stored: StoredUafAuthenticator): Promise<Out<null>> {
  const keyBytes = decodeBase64url(stored.publicKey.key);
  const key = keyBytes ? await importUafPublicKey(stored.publicKey.alg, keyBytes) : fail("public_key_malformed");
  if (!key.ok) return fail("stored_key_invalid", { why: key.reason });
  const verified = await verifyUafSignature(assertion.signAlg, key.value, assertion.signature, assertion.signedData);
  if (verified.ok) return verified;
  return verified.reason === "unsupported_algorithm"
    ? fail("unsupported_algorithm", verified.detail)
    : fail("signature_invalid", { why: verified.reason });
}

/**
 * Verify `response` against the request this server sent and the authenticators it may come from
 * (the user's, or every registered one for a usernameless request).
 */
export async function verifyAuthentication(
  response: AuthenticationResponse,
  expected: ExpectedAuthentication,
  authenticators: readonly StoredUafAuthenticator[],
  _now: Date,
): Promise<Result<VerifiedAuthentication, AuthenticationReason>> {
  const envelope = await checkResponseEnvelope(response, "Auth", expected);
  if (!envelope.ok) return envelope;
  if (response.assertions.length !== 1) return fail("assertion_count_invalid", { count: response.assertions.length });
  const item = response.assertions[0]!;
  if (item.assertionScheme !== ASSERTION_SCHEME)
    return fail("assertion_scheme_unsupported", { scheme: item.assertionScheme });

  const read = readAuthAssertion(item.assertion);
  if (!read.ok) return read;
  const assertion = read.value;
  if (!equalBytes(assertion.finalChallengeHash, envelope.value.hash)) return fail("final_challenge_hash_mismatch");
  const stored = findAuthenticator(assertion, authenticators);
  if (!stored.ok) return stored;
  if (assertion.signAlg !== stored.value.signAlg) {
    return fail("signature_algorithm_mismatch", { registered: stored.value.signAlg, actual: assertion.signAlg });
  }
  const transaction = await checkTransaction(assertion, expected.transaction, expected.transactionHashes);
  if (!transaction.ok) return transaction;
  const signature = await checkSignature(assertion, stored.value);
  if (!signature.ok) return signature;

  const previous = stored.value.signCounter;
  return ok({
    aaid: assertion.aaid,
    keyId: stored.value.keyId,
    signCounter: assertion.signCounter,
    authenticationMode: assertion.authenticationMode,
    transactionConfirmed: transaction.value,
    counterRegressed: assertion.signCounter !== 0 && previous !== 0 && assertion.signCounter <= previous,
  });
}
