/**
 * UAF status codes (FIDO UAF Protocol v1.1 §3.1.6; docs/uaf.md "Status codes") and the one
 * exhaustive mapping from every UAF verifier reason to the code the client sees. The precise reason
 * goes to the log; the client gets the code (and the SDKs act on a few: 1481 makes the client
 * delete its key).
 *
 * How reasons are grouped:
 * - 1400 BAD_REQUEST: the message itself was not understood (uafResponse not the expected JSON, a
 *   protocol version or an operation this endpoint does not speak);
 * - 1498 UNACCEPTABLE_CONTENT: a message that parsed but whose content is broken (fcParams or
 *   assertion encoding, TLV structure, field formats, signatures, transaction hashes);
 * - 1491 REQUEST_INVALID: it does not answer the request we issued (serverData, appID, challenge,
 *   facet, final challenge hash);
 * - 1490 CHANNEL_BINDING_REFUSED, 1480 UNKNOWN_AAID, 1481 UNKNOWN_KEY_ID, 1492 UNACCEPTABLE_AUTHENTICATOR
 *   (policy refused a known AAID), 1494 UNACCEPTABLE_KEY, 1495 UNACCEPTABLE_ALGORITHM,
 *   1496 UNACCEPTABLE_ATTESTATION as the spec names them;
 * - 1500 INTERNAL_SERVER_ERROR: our own stored data is broken, never the client's input.
 */
import type { AuthenticationReason } from "./authentication";
import type { RegistrationReason } from "./registration";
import type { ServerDataReason } from "./server-data";

export const UAF_STATUS = {
  OK: 1200,
  ACCEPTED: 1202,
  BAD_REQUEST: 1400,
  UNAUTHORIZED: 1401,
  FORBIDDEN: 1403,
  NOT_FOUND: 1404,
  REQUEST_TIMEOUT: 1408,
  UNKNOWN_AAID: 1480,
  UNKNOWN_KEY_ID: 1481,
  CHANNEL_BINDING_REFUSED: 1490,
  REQUEST_INVALID: 1491,
  UNACCEPTABLE_AUTHENTICATOR: 1492,
  REVOKED_AUTHENTICATOR: 1493,
  UNACCEPTABLE_KEY: 1494,
  UNACCEPTABLE_ALGORITHM: 1495,
  UNACCEPTABLE_ATTESTATION: 1496,
  UNACCEPTABLE_CLIENT_CAPABILITIES: 1497,
  UNACCEPTABLE_CONTENT: 1498,
  INTERNAL_SERVER_ERROR: 1500,
} as const;

export type UafStatus = (typeof UAF_STATUS)[keyof typeof UAF_STATUS];

/** Every reason a UAF verifier (or the response parser) can return. */
export type UafReason = RegistrationReason | AuthenticationReason | ServerDataReason | "uaf_response_malformed";

/** The UAF status code for `reason`. */
export function uafStatusFor(reason: UafReason): UafStatus {
  switch (reason) {
    case "uaf_response_malformed":
    case "upv_unsupported":
    case "op_mismatch":
      return UAF_STATUS.BAD_REQUEST;

    case "server_data_malformed":
    case "server_data_forged":
    case "server_data_expired":
    case "app_id_mismatch":
    case "fc_params_app_id_mismatch":
    case "challenge_mismatch":
    case "facet_not_trusted":
    case "final_challenge_hash_mismatch":
      return UAF_STATUS.REQUEST_INVALID;

    case "channel_binding_invalid":
      return UAF_STATUS.CHANNEL_BINDING_REFUSED;

    case "fc_params_malformed":
    case "assertion_count_invalid":
    case "assertion_scheme_unsupported":
    case "assertion_not_base64url":
    case "duplicate_assertion":
    case "tlv_truncated":
    case "tlv_trailing_bytes":
    case "tlv_too_deep":
    case "tlv_unexpected_tag":
    case "tlv_duplicate_tag":
    case "tlv_out_of_order":
    case "tlv_missing_tag":
    case "tlv_bad_length":
    case "aaid_malformed":
    case "key_id_malformed":
    case "authenticator_nonce_malformed":
    case "critical_extension_unsupported":
    case "authentication_mode_invalid":
    case "transaction_not_confirmed":
    case "transaction_hash_mismatch":
    case "signature_invalid":
      return UAF_STATUS.UNACCEPTABLE_CONTENT;

    case "aaid_unknown":
      return UAF_STATUS.UNKNOWN_AAID;
    case "unknown_key_id":
      return UAF_STATUS.UNKNOWN_KEY_ID;
    case "authenticator_not_accepted":
      return UAF_STATUS.UNACCEPTABLE_AUTHENTICATOR;
    case "public_key_malformed":
      return UAF_STATUS.UNACCEPTABLE_KEY;
    case "unsupported_algorithm":
    case "signature_algorithm_mismatch":
      return UAF_STATUS.UNACCEPTABLE_ALGORITHM;

    case "attestation_unsupported":
    case "attestation_surrogate_not_accepted":
    case "attestation_certificate_malformed":
    case "attestation_key_unsupported":
    case "attestation_signature_invalid":
    case "attestation_certificate_expired":
    case "attestation_certificate_not_yet_valid":
    case "attestation_chain_invalid":
    case "attestation_untrusted":
      return UAF_STATUS.UNACCEPTABLE_ATTESTATION;

    case "stored_key_invalid":
      return UAF_STATUS.INTERNAL_SERVER_ERROR;

    default: {
      const unhandled: never = reason;
      throw new TypeError(`no UAF status for ${String(unhandled)}`);
    }
  }
}
