/**
 * The UAF services' error: a UAF status code (docs/uaf.md) answered as a ServerResponse
 * `{statusCode, description}` with a matching HTTP status. The precise reason goes to the log only.
 *
 * The services' `onError` (./index.ts) answers everything in this format (`asUafError`): an OAuth-level
 * refusal (a body that cannot be read, an access token refused) keeps its status class, a busy store is
 * 1500 with HTTP 503 and Retry-After, and a bug is 1500.
 */
import { AppError, describeThrown, OAuthError, storeBusy, type AppErrorOptions, type OAuthReason } from "../../errors";
import { StoreBusyError } from "../../kv/ports";
import type { RedeemRefusal } from "../../kv/uaf-transaction";
import type { AuthenticateRefusal, RegisterRefusal } from "../../kv/uaf-user";
import { UAF_STATUS, type UafReason } from "../../uaf/status";
import type { DeviceKeyFailure, DeviceSignatureFailure } from "../../verifiers/device-signature";
import type { GrantLivenessFailure } from "../../verifiers/grant-liveness";

export { UAF_STATUS };

/** Why a UAF service refused: its own reasons, the verifiers' and the stores', and the OAuth-level checks it runs. */
export type UafServiceReason =
  | OAuthReason
  | UafReason
  | RegisterRefusal
  | AuthenticateRefusal
  | RedeemRefusal
  | "unknown_device"
  | DeviceKeyFailure
  | DeviceSignatureFailure
  | "device_signature_missing"
  | "device_signature_too_large"
  | "device_signature_unknown_device"
  | "device_signature_replayed"
  | "device_signature_other_device"
  | "device_signature_other_user"
  | "jwt_other_user"
  | "id_token_stale"
  | "id_token_without_grant"
  | `id_token_${GrantLivenessFailure}`
  | "session_cookie_invalid_or_expired"
  | "cookie_without_session"
  | "authorization_missing"
  | `authority_${GrantLivenessFailure | "web_session_ended" | "device_gone" | "unknown_kind"}`
  | "no_authenticator_registered"
  | "transaction_content_not_base64url"
  | "registration_context_missing"
  /** `detail.op`: the operation the serverData was issued for. */
  | "server_data_op_mismatch"
  | "server_data_other_transaction"
  | "transaction_not_open";

/** The HTTP status of a ServerResponse with this UAF status code. */
export function httpStatusOf(statusCode: number): number {
  if (statusCode === UAF_STATUS.OK) return 200;
  if (statusCode === UAF_STATUS.UNAUTHORIZED) return 401;
  if (statusCode === UAF_STATUS.FORBIDDEN) return 403;
  if (statusCode === UAF_STATUS.NOT_FOUND) return 404;
  if (statusCode >= 1500) return 500;
  return 400;
}

export class UafError extends AppError<UafServiceReason> {
  override readonly name = "UafError";

  constructor(
    readonly statusCode: number,
    /** Public description. */
    description: string,
    /** `status`: the HTTP status, when it is not the code's own (a busy store: 503 with its 1500). */
    options: AppErrorOptions<UafServiceReason>,
  ) {
    super(description, httpStatusOf(statusCode), options, `${statusCode}: ${description}`);
  }

  toResponse(): Response {
    return new Response(JSON.stringify({ statusCode: this.statusCode, description: this.description }), {
      status: this.status,
      headers: { "Content-Type": "application/fido+uaf;charset=UTF-8", "Cache-Control": "no-store", ...this.headers },
    });
  }

  logFields(): Record<string, unknown> {
    return { uaf_status: this.statusCode };
  }
}

/** The UAF status of an OAuth-level refusal's HTTP status class. */
function statusCodeOf(httpStatus: number): number {
  if (httpStatus === 401) return UAF_STATUS.UNAUTHORIZED;
  if (httpStatus === 403) return UAF_STATUS.FORBIDDEN;
  if (httpStatus === 404) return UAF_STATUS.NOT_FOUND;
  if (httpStatus >= 500) return UAF_STATUS.INTERNAL_SERVER_ERROR;
  return UAF_STATUS.BAD_REQUEST;
}

/** HTTP statuses kept as they are: their headers (Allow, Retry-After) mean nothing under another one. */
const KEPT_HTTP_STATUS = new Set([405, 503]);

/**
 * The UAF family's view of anything thrown at a UAF service. An OAuth error keeps its status class, its
 * description and its headers (a DPoP-Nonce, a challenge); a busy store is 1500 with HTTP 503; a bug is
 * 1500 "Internal server error". Other families' errors answer as themselves.
 */
export function asUafError(thrown: unknown): AppError {
  if (thrown instanceof AppError && !(thrown instanceof OAuthError)) return thrown;
  if (!(thrown instanceof OAuthError) && !(thrown instanceof StoreBusyError))
    return new UafError(UAF_STATUS.INTERNAL_SERVER_ERROR, "Internal server error", {
      reason: "internal_error",
      detail: { thrown: describeThrown(thrown) },
    });
  const error = thrown instanceof OAuthError ? thrown : storeBusy(thrown);
  return new UafError(statusCodeOf(error.status), error.description, {
    reason: error.reason,
    detail: { error: error.code, ...error.detail },
    headers: error.headers,
    ...(KEPT_HTTP_STATUS.has(error.status) ? { status: error.status } : {}),
  });
}
