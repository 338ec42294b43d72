/**
 * Why a route step refused a request with an OAuth error: closed unions, one per area, so the request
 * log's `reason` has a known vocabulary (and a typo does not compile). A verifier's own reasons come
 * through prefixed (`dpop_${DpopFailure}`); what varies per request goes in the error's `detail`, never
 * into the reason. The HTTP edge's and the app's own reasons are in src/errors.ts (`EdgeReason`).
 */
import type { CodeRedemption, Rotation } from "../kv/grant";
import type { AccessTokenFailure } from "../verifiers/access-token";
import type { AndroidAttestationFailure } from "../verifiers/android-key-attestation";
import type { AppAttestFailure } from "../verifiers/app-attest";
import type { AppAttestAssertionFailure } from "../verifiers/app-attest-assertion";
import type { AttestationPopFailure } from "../verifiers/attestation-pop";
import type { CatFailure } from "../verifiers/cat";
import type { ChallengeFailure } from "../verifiers/cat-challenge";
import type { AssertionFailure } from "../verifiers/client-assertion";
import type { CertificateFailure } from "../verifiers/client-certificate";
import type { SecretFailure } from "../verifiers/client-secret";
import type { DpopFailure } from "../verifiers/dpop-proof";
import type { GrantLivenessFailure } from "../verifiers/grant-liveness";
import type { PkceFailure } from "../verifiers/pkce";
import type { SoftwareStatementFailure } from "../verifiers/software-statement";
import type { WebOriginFailure } from "../verifiers/web-origin";
import type { DispatchRefusal } from "./uaf/out-of-band";

/** Reading a request, at any endpoint: what is missing or malformed. */
export type RequestReason =
  /** `detail.content_type`: what was sent. */
  | "content_type_unsupported"
  /** `detail.parameter`: the missing one. */
  | "parameter_missing"
  | "authorization_header_too_large"
  | "body_not_json"
  | "body_not_object";

/** Client authentication (src/routes/token/authenticate-client.ts and presented-credential.ts). */
export type ClientAuthReason =
  /** `detail.scheme` */
  | "authorization_scheme_unsupported"
  /** `detail.client_assertion_type` */
  | "client_assertion_type_unsupported"
  | "attestation_header_too_large"
  | "attestation_header_repeated"
  | "attestation_pop_without_attestation"
  /** `detail.methods`: the kinds presented. */
  | "client_authentication_methods_multiple"
  | "basic_not_base64"
  | "basic_no_colon"
  | "basic_bad_encoding"
  | "post_without_client_id"
  | "assertion_malformed"
  | "client_id_mismatch"
  | "no_client_authentication"
  | "template_client"
  | "unknown_client"
  | "public_client_not_allowed_here"
  | "method_not_registered"
  | SecretFailure
  | `assertion_${AssertionFailure}`
  | `certificate_${CertificateFailure}`
  | "cat_header_malformed"
  | "cat_client_not_attesting"
  | `cat_${CatFailure}`
  | `attestation_pop_${AttestationPopFailure}`
  | "attestation_not_accepted_here";

/** The token endpoint's grant steps (src/routes/token/). */
export type TokenReason =
  /** `detail.grant_type` */
  | "grant_type_unsupported"
  /** `detail.grant_type` */
  | "grant_type_not_allowed"
  | "scope_malformed"
  /** `detail.refused`: the scopes. */
  | "scope_not_allowed"
  | "dcr_scope_mixed"
  | `dpop_${DpopFailure}`
  | "cat_key_mismatch"
  | "attestation_pop_replayed"
  | "cat_replayed"
  | "haapi_requires_attestation"
  | "certificate_binding_without_certificate"
  | "code_malformed"
  | "code_unknown"
  | "code_of_another_client"
  | "redirect_uri_mismatch"
  | `pkce_${PkceFailure}`
  | `code_${Exclude<CodeRedemption, "ok">}`
  | "refresh_token_malformed"
  | "refresh_token_unknown"
  | "refresh_token_of_another_client"
  /** `detail.wider`: the scopes beyond the grant's. */
  | "refresh_scope_wider"
  | `refresh_${Exclude<Rotation, "ok">}`
  | "authorization_code_dpop_key_mismatch"
  | "refresh_token_dpop_key_mismatch"
  | "authorization_code_not_bound_for_public_client"
  | "refresh_token_not_bound_for_public_client";

/** This server as its own resource server (src/routes/access-token-auth.ts, userinfo). */
export type ResourceReason =
  | "access_token_missing"
  | `access_token_${AccessTokenFailure}`
  | "access_token_client_unknown"
  | "dpop_bound_token_as_bearer"
  | "access_token_not_dpop_bound"
  | "access_token_without_user"
  | "access_token_without_grant"
  | "access_token_not_haapi"
  | "access_token_without_openid"
  | GrantLivenessFailure
  | "user_gone";

/** Dynamic client registration and management (src/routes/registration/). */
export type RegistrationReason =
  | "registration_token_missing"
  | "registration_client_unknown"
  | `registration_token_${SecretFailure}`
  | "registration_client_deleted"
  | "registration_unauthorized"
  | "registration_authorization_scheme"
  | "registration_assertion_type"
  | "initial_token_without_dcr_scope"
  | "initial_token_replayed"
  | "rate_limited_source"
  | "rate_limited_client"
  | "software_id_missing"
  /** `detail.software_id` */
  | "unknown_template"
  | "template_not_allowed_for_main_client"
  /** `detail`: the `field` and its `problem`. */
  | "metadata_invalid"
  | "statement_unapproved"
  | `statement_${Exclude<SoftwareStatementFailure, "unapproved">}`
  | "update_client_id_mismatch"
  /** `detail.member`: a member only the server sets. */
  | "update_server_member"
  | "update_client_secret_mismatch"
  | "update_software_statement_change"
  | "update_auth_method_change"
  | "dynamic_client_id_collision";

/** iOS attestation and assertion failures, as the CAT endpoint names them. */
type IosRejection =
  | AppAttestFailure
  | `assertion_${AppAttestAssertionFailure}`
  | "assertion_unknown_key"
  | "assertion_counter_not_increasing";

/** Why an attestation was rejected, per platform (src/routes/cat/verify-attestation.ts). */
export interface AttestationRejection {
  readonly android: AndroidAttestationFailure;
  readonly ios: IosRejection;
  readonly web: WebOriginFailure;
}

/** The CAT endpoint (src/routes/cat/). */
export type CatReason =
  /** `detail.problem`: what is wrong with the member, as the public text says. */
  | "challenge_response_malformed"
  /** `detail.platform` */
  | "platform_unknown"
  | "attestation_not_configured"
  | `challenge_${ChallengeFailure}`
  | "challenge_replayed"
  /** `detail.platform` */
  | "platform_not_configured"
  | { [P in keyof AttestationRejection]: `attestation_${P}_${AttestationRejection[P]}` }[keyof AttestationRejection];

/** The UAF backend services that answer OAuth errors: dispatch, status and the Authentication Cloud API. */
export type UafBackendReason =
  | "uaf_disabled"
  /** `detail`: the `member` and its `problem`. */
  | "uaf_member_invalid"
  /** `detail.member` */
  | "uaf_member_not_json"
  /** `detail.operation` */
  | "operation_unknown"
  | "get_uaf_request_op_mismatch"
  | "get_uaf_request_context_missing"
  | "access_key_not_configured"
  | "access_key_missing"
  | `access_key_${SecretFailure}`
  | "user_selector_invalid"
  | "cloud_api_user_unknown"
  /** `detail.channel` */
  | "channel_unsupported"
  | DispatchRefusal;

/** The HAAPI flow's own OAuth errors (the problems are in src/routes/haapi/reasons.ts). */
export type FlowOAuthReason =
  /** `detail.accept`: what was sent. */
  "accept_unsupported";

export type OAuthRouteReason =
  | RequestReason
  | ClientAuthReason
  | TokenReason
  | ResourceReason
  | RegistrationReason
  | CatReason
  | UafBackendReason
  | FlowOAuthReason;
