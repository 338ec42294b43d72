/**
 * Why the login flow answered a problem: a closed union for the request log's `reason` (what varies per
 * request goes in the problem's `detail`). The flow's few OAuth errors have theirs in ../oauth-reasons.ts.
 */
import type { DispatchRefusal } from "../uaf/out-of-band";

/** The `error` of an authorization response the flow sends back to the client (RFC 6749 §4.1.2.1). */
export type AuthorizationErrorCode =
  | "invalid_request"
  | "unauthorized_client"
  | "unsupported_response_type"
  | "invalid_scope";

/** Why a browser's POST is not from a page of this server (Fetch Metadata, Origin). */
export type CrossSiteReason = `sec_fetch_site_${"cross-site" | "same-site" | "none" | "unknown"}` | "origin_mismatch";

/** The session a request names, and whether it may continue (guard.ts, browser-session.ts). */
type SessionReason =
  | "session_id_missing"
  | "session_id_malformed"
  | "session_unknown_or_expired"
  | "session_not_a_haapi_session"
  | "session_bound_to_another_key"
  | "session_not_a_browser_session"
  | "session_already_completed"
  | "not_polling"
  | "cookie_missing"
  | "cookie_malformed"
  | "cookie_secret_mismatch"
  | CrossSiteReason
  | "csrf_form_not_urlencoded"
  | "csrf_token_missing"
  | "csrf_token_mismatch";

/** The authenticator steps (authenticators.ts, uaf-authenticators.ts). */
type AuthenticatorReason =
  /** `detail.authenticator`: the id in the path. */
  | "authenticator_not_offered"
  | "authenticator_type_mismatch"
  | "registration_disabled"
  | "login_source_locked"
  | "login_user_locked"
  | "login_user_locked_now"
  | "password_mismatch"
  | "unknown_user"
  | "approval_unknown_user"
  | "continue_without_approval"
  | "uaf_unknown_user"
  | "uaf_no_authenticator"
  /** `detail.by`: `user` or `source`. */
  | "uaf_approvals_limited"
  | `uaf_dispatch_${DispatchRefusal}`
  /** `detail`: the UAF service's `uaf_status` and `uaf_reason`. */
  | "uaf_refused"
  | "uaf_response_without_request"
  | "uaf_response_for_another_user";

export type HaapiReason =
  | SessionReason
  | AuthenticatorReason
  /** `detail.fields`: each refused field and why (`name:reason`). */
  | "invalid_input"
  /** `detail.error_description`: what the client is told. */
  | `authorize_${AuthorizationErrorCode}`
  | "method_not_allowed"
  | "store_busy"
  | "internal_error";
