/**
 * Reading "UAFV1TLV" assertions (FIDO UAF Authenticator Commands v1.1 §4.2-4.3, §6.2.4, §6.3.4)
 * into typed fields, after the strict TLV parse:
 *
 *   REG_ASSERTION { KRD { AAID, ASSERTION_INFO(7), FINAL_CHALLENGE_HASH, KEYID, COUNTERS(8), PUB_KEY,
 *                         extensions* },
 *                   ATTESTATION_BASIC_FULL { SIGNATURE, ATTESTATION_CERT+ }
 *                   | ATTESTATION_BASIC_SURROGATE { SIGNATURE } | ATTESTATION_ECDAA { ... } }
 *   AUTH_ASSERTION { SIGNED_DATA { AAID, ASSERTION_INFO(5), AUTHENTICATOR_NONCE, FINAL_CHALLENGE_HASH,
 *                                  TRANSACTION_CONTENT_HASH, KEYID, COUNTERS(4), extensions* },
 *                    SIGNATURE }
 *
 * Fields are in that order, each once (certificates: one or more). Extensions: non-critical ones
 * are skipped, a critical one is refused (this server understands none). Values are checked for
 * shape only (AAID syntax, lengths); meaning is the verifiers' job.
 */
import { AAID_PATTERN } from "../protocol";
import { fail, ok, type Result } from "../verifiers/result";
import { decodeBase64url } from "./base64url";
import {
  fixedLength,
  parseTlv,
  readFields,
  TAG,
  u16,
  u32,
  type Fields,
  type FieldSpec,
  type TlvElement,
  type TlvReason,
} from "./tlv";

export type AssertionReason =
  | TlvReason
  | "assertion_not_base64url"
  | "aaid_malformed"
  | "key_id_malformed"
  | "authenticator_nonce_malformed"
  | "critical_extension_unsupported";

/** The only assertion scheme of UAF 1.1. */
export const ASSERTION_SCHEME = "UAFV1TLV";
/** ASSERTION_INFO authenticationMode: 1, the user was verified; 2, and a transaction was shown. */
export const MODE_USER_VERIFIED = 1;
export const MODE_TRANSACTION_CONFIRMED = 2;

/** AAID syntax, in either case as authenticators write it (compared upper-cased). */
const AAID = new RegExp(AAID_PATTERN.source, "i");
/** KeyID bounds this server stores (the spec allows 32..2048 bytes; authenticators use 32). */
export const MAX_KEY_ID_BYTES = 255;
const MIN_AUTHENTICATOR_NONCE_BYTES = 8;
const MAX_CERTIFICATES = 8;
const EXTENSIONS: FieldSpec = { tag: [TAG.EXTENSION, TAG.EXTENSION_NON_CRITICAL], min: 0, max: 16 };

export type RegAttestation =
  | { readonly type: "basic_full"; readonly signature: Uint8Array; readonly certificates: readonly Uint8Array[] }
  | { readonly type: "basic_surrogate"; readonly signature: Uint8Array }
  | { readonly type: "ecdaa" };

export interface RegAssertion {
  /** The whole KRD TLV, header included: what the attestation signature covers. */
  readonly krd: Uint8Array;
  readonly aaid: string;
  readonly authenticatorVersion: number;
  readonly authenticationMode: number;
  readonly signAlg: number;
  readonly pubKeyAlg: number;
  readonly finalChallengeHash: Uint8Array;
  readonly keyId: Uint8Array;
  readonly signCounter: number;
  readonly regCounter: number;
  readonly publicKey: Uint8Array;
  readonly attestation: RegAttestation;
  /** TAG_ATTESTATION_* of the attestation, for policies (attestationTypes). */
  readonly attestationTag: number;
}

export interface AuthAssertion {
  /** The whole SIGNED_DATA TLV, header included: what the signature covers. */
  readonly signedData: Uint8Array;
  readonly aaid: string;
  readonly authenticatorVersion: number;
  readonly authenticationMode: number;
  readonly signAlg: number;
  readonly authenticatorNonce: Uint8Array;
  readonly finalChallengeHash: Uint8Array;
  /** Empty when no transaction was confirmed. */
  readonly transactionContentHash: Uint8Array;
  readonly keyId: Uint8Array;
  readonly signCounter: number;
  readonly signature: Uint8Array;
}

type Out<T> = Result<T, AssertionReason>;

function decodeRoot(assertion: string, rootTag: number): Out<TlvElement> {
  const bytes = decodeBase64url(assertion);
  if (!bytes) return fail("assertion_not_base64url");
  const root = parseTlv(bytes);
  if (!root.ok) return root;
  if (root.value.tag !== rootTag)
    return fail("tlv_unexpected_tag", {
      tag: `0x${root.value.tag.toString(16)}`,
      expected: `0x${rootTag.toString(16)}`,
    });
  return root;
}

function readAaid(fields: Fields): Out<string> {
  const value = fields.one(TAG.AAID)!.value;
  const text = value.length === 9 ? String.fromCharCode(...value) : "";
  if (!AAID.test(text)) return fail("aaid_malformed", { length: value.length });
  return ok(text.toUpperCase());
}

function readKeyId(fields: Fields): Out<Uint8Array> {
  const keyId = fields.one(TAG.KEYID)!.value;
  if (keyId.length === 0 || keyId.length > MAX_KEY_ID_BYTES)
    return fail("key_id_malformed", { length: keyId.length, max: MAX_KEY_ID_BYTES });
  return ok(keyId);
}

/** Non-critical extensions are ignored; any critical one is refused (we implement none). */
function checkExtensions(fields: Fields): Out<null> {
  const critical = fields.all(TAG.EXTENSION)[0];
  if (!critical) return ok(null);
  const id = critical.children.find((child) => child.tag === TAG.EXTENSION_ID);
  return fail("critical_extension_unsupported", { id: id ? new TextDecoder().decode(id.value) : null });
}

function readAttestation(element: TlvElement): Out<RegAttestation> {
  if (element.tag === TAG.ATTESTATION_ECDAA) return ok({ type: "ecdaa" });
  if (element.tag === TAG.ATTESTATION_BASIC_SURROGATE) {
    const fields = readFields(element, [{ tag: TAG.SIGNATURE }]);
    if (!fields.ok) return fields;
    return ok({ type: "basic_surrogate", signature: fields.value.one(TAG.SIGNATURE)!.value });
  }
  const fields = readFields(element, [{ tag: TAG.SIGNATURE }, { tag: TAG.ATTESTATION_CERT, max: MAX_CERTIFICATES }]);
  if (!fields.ok) return fields;
  return ok({
    type: "basic_full",
    signature: fields.value.one(TAG.SIGNATURE)!.value,
    certificates: fields.value.all(TAG.ATTESTATION_CERT).map((cert) => cert.value),
  });
}

/** Decode and read a registration assertion (base64url of a REG_ASSERTION TLV). */
export function readRegAssertion(assertion: string): Out<RegAssertion> {
  const root = decodeRoot(assertion, TAG.REG_ASSERTION);
  if (!root.ok) return root;
  const top = readFields(root.value, [
    { tag: TAG.KRD },
    { tag: [TAG.ATTESTATION_BASIC_FULL, TAG.ATTESTATION_BASIC_SURROGATE, TAG.ATTESTATION_ECDAA] },
  ]);
  if (!top.ok) return top;
  const krd = top.value.one(TAG.KRD)!;
  const attestationElement = root.value.children[1]!;

  const fields = readFields(krd, [
    { tag: TAG.AAID },
    { tag: TAG.ASSERTION_INFO },
    { tag: TAG.FINAL_CHALLENGE_HASH },
    { tag: TAG.KEYID },
    { tag: TAG.COUNTERS },
    { tag: TAG.PUB_KEY },
    EXTENSIONS,
  ]);
  if (!fields.ok) return fields;
  const f = fields.value;
  const aaid = readAaid(f);
  if (!aaid.ok) return aaid;
  const info = fixedLength(f.one(TAG.ASSERTION_INFO)!, 7);
  if (!info.ok) return info;
  const keyId = readKeyId(f);
  if (!keyId.ok) return keyId;
  const counters = fixedLength(f.one(TAG.COUNTERS)!, 8);
  if (!counters.ok) return counters;
  const extensions = checkExtensions(f);
  if (!extensions.ok) return extensions;
  const attestation = readAttestation(attestationElement);
  if (!attestation.ok) return attestation;

  return ok({
    krd: krd.raw,
    aaid: aaid.value,
    authenticatorVersion: u16(info.value, 0),
    authenticationMode: info.value[2]!,
    signAlg: u16(info.value, 3),
    pubKeyAlg: u16(info.value, 5),
    finalChallengeHash: f.one(TAG.FINAL_CHALLENGE_HASH)!.value,
    keyId: keyId.value,
    signCounter: u32(counters.value, 0),
    regCounter: u32(counters.value, 4),
    publicKey: f.one(TAG.PUB_KEY)!.value,
    attestation: attestation.value,
    attestationTag: attestationElement.tag,
  });
}

/** Decode and read an authentication assertion (base64url of an AUTH_ASSERTION TLV). */
export function readAuthAssertion(assertion: string): Out<AuthAssertion> {
  const root = decodeRoot(assertion, TAG.AUTH_ASSERTION);
  if (!root.ok) return root;
  const top = readFields(root.value, [{ tag: TAG.SIGNED_DATA }, { tag: TAG.SIGNATURE }]);
  if (!top.ok) return top;
  const signedData = top.value.one(TAG.SIGNED_DATA)!;

  const fields = readFields(signedData, [
    { tag: TAG.AAID },
    { tag: TAG.ASSERTION_INFO },
    { tag: TAG.AUTHENTICATOR_NONCE },
    { tag: TAG.FINAL_CHALLENGE_HASH },
    { tag: TAG.TRANSACTION_CONTENT_HASH },
    { tag: TAG.KEYID },
    { tag: TAG.COUNTERS },
    EXTENSIONS,
  ]);
  if (!fields.ok) return fields;
  const f = fields.value;
  const aaid = readAaid(f);
  if (!aaid.ok) return aaid;
  const info = fixedLength(f.one(TAG.ASSERTION_INFO)!, 5);
  if (!info.ok) return info;
  const nonce = f.one(TAG.AUTHENTICATOR_NONCE)!.value;
  if (nonce.length < MIN_AUTHENTICATOR_NONCE_BYTES)
    return fail("authenticator_nonce_malformed", { length: nonce.length, min: MIN_AUTHENTICATOR_NONCE_BYTES });
  const keyId = readKeyId(f);
  if (!keyId.ok) return keyId;
  const counters = fixedLength(f.one(TAG.COUNTERS)!, 4);
  if (!counters.ok) return counters;
  const extensions = checkExtensions(f);
  if (!extensions.ok) return extensions;

  return ok({
    signedData: signedData.raw,
    aaid: aaid.value,
    authenticatorVersion: u16(info.value, 0),
    authenticationMode: info.value[2]!,
    signAlg: u16(info.value, 3),
    authenticatorNonce: nonce,
    finalChallengeHash: f.one(TAG.FINAL_CHALLENGE_HASH)!.value,
    transactionContentHash: f.one(TAG.TRANSACTION_CONTENT_HASH)!.value,
    keyId: keyId.value,
    signCounter: u32(counters.value, 0),
    signature: top.value.one(TAG.SIGNATURE)!.value,
  });
}
