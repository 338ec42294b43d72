/**
 * The reason -> UAF status mapping, as a table: a change to it shows up here as a reviewed diff.
 * The per-check tests assert only the reason of each refusal they provoke; its code is this table's.
 */
import { describe, expect, it } from "vitest";
import { uafStatusFor, type UafReason } from "../../src/uaf/status";

const TABLE: Record<number, UafReason[]> = {
  1400: ["uaf_response_malformed", "upv_unsupported", "op_mismatch"],
  1480: ["aaid_unknown"],
  1481: ["unknown_key_id"],
  1490: ["channel_binding_invalid"],
  1491: [
    "server_data_malformed",
    "server_data_forged",
    "server_data_expired",
    "app_id_mismatch",
    "fc_params_app_id_mismatch",
    "challenge_mismatch",
    "facet_not_trusted",
    "final_challenge_hash_mismatch",
  ],
  1492: ["authenticator_not_accepted"],
  1494: ["public_key_malformed"],
  1495: ["unsupported_algorithm", "signature_algorithm_mismatch"],
  1496: [
    "attestation_unsupported",
    "attestation_surrogate_not_accepted",
    "attestation_certificate_malformed",
    "attestation_key_unsupported",
    "attestation_signature_invalid",
    "attestation_certificate_expired",
    "attestation_certificate_not_yet_valid",
    "attestation_chain_invalid",
    "attestation_untrusted",
  ],
  1498: [
    "fc_params_malformed",
    "assertion_count_invalid",
    "assertion_scheme_unsupported",
    "assertion_not_base64url",
    "duplicate_assertion",
    "tlv_truncated",
    "tlv_trailing_bytes",
    "tlv_too_deep",
    "tlv_unexpected_tag",
    "tlv_duplicate_tag",
    "tlv_out_of_order",
    "tlv_missing_tag",
    "tlv_bad_length",
    "aaid_malformed",
    "key_id_malformed",
    "authenticator_nonce_malformed",
    "critical_extension_unsupported",
    "authentication_mode_invalid",
    "transaction_not_confirmed",
    "transaction_hash_mismatch",
    "signature_invalid",
  ],
  1500: ["stored_key_invalid"],
};

describe("uafStatusFor", () => {
  it.each(Object.entries(TABLE).flatMap(([code, reasons]) => reasons.map((reason) => [reason, Number(code)] as const)))(
    "%s -> %i",
    (reason, code) => {
      expect(uafStatusFor(reason)).toBe(code);
    },
  );

  it("throws on a reason outside the union (a programming error, not a client's)", () => {
    expect(() => uafStatusFor("no_such_reason" as UafReason)).toThrow(TypeError);
  });
});
