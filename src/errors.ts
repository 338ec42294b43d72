/**
 * The one error type. Public text stays vague; `reason` is the precise cause and goes to the log only.
 */
import { StoreBusyError } from "./kv/ports";

/**
 * RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 9449 §7.1 and §8, attestation-based client
 * authentication (draft), plus the HTTP-level codes for unknown paths and methods and rate limits.
 */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "invalid_dpop_proof"
  | "use_dpop_nonce"
  | "invalid_client_attestation"
  | "invalid_client_metadata"
  | "invalid_redirect_uri"
  | "invalid_software_statement"
  | "unapproved_software_statement"
  | "invalid_token"
  | "insufficient_scope"
  | "too_many_requests"
  | "not_acceptable"
  | "server_error"
  | "temporarily_unavailable"
  | "not_found"
  | "method_not_allowed";

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  invalid_client_attestation: 401,
  invalid_client_metadata: 400,
  invalid_redirect_uri: 400,
  invalid_software_statement: 400,
  unapproved_software_statement: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  too_many_requests: 429,
  not_acceptable: 406,
  server_error: 500,
  temporarily_unavailable: 503,
  not_found: 404,
  method_not_allowed: 405,
};

export interface OAuthErrorOptions {
  /** Precise cause, for the log. Never sent to the client. */
  reason?: string;
  /** Extra log fields (no secrets). */
  detail?: Record<string, unknown>;
  status?: number;
  headers?: Record<string, string>;
}

export class OAuthError extends Error {
  override readonly name = "OAuthError";
  readonly status: number;
  readonly reason: string;
  readonly detail: Record<string, unknown> | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: OAuthErrorCode,
    /** Public `error_description`. */
    readonly description: string,
    options: OAuthErrorOptions = {},
  ) {
    super(`${code}: ${description}`);
    this.status = options.status ?? STATUS[code];
    this.reason = options.reason ?? description;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

/** The body and headers of an error response; the one place errors become HTTP. */
export function errorResponse(error: OAuthError): Response {
  const headers = new Headers({
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    Pragma: "no-cache",
  });
  for (const [name, value] of Object.entries(error.headers)) headers.set(name, value);
  return new Response(JSON.stringify({ error: error.code, error_description: error.description }), {
    status: error.status,
    headers,
  });
}

/** Anything that is not an OAuthError is a bug; it is logged in full and answered vaguely. */
export function asOAuthError(error: unknown): OAuthError {
  if (error instanceof StoreBusyError) {
    return new OAuthError("temporarily_unavailable", "the server is busy; retry shortly", {
      reason: `store_busy: ${error.message}`,
      headers: { "Retry-After": String(error.retryAfter) },
    });
  }
  if (error instanceof OAuthError) return error;
  return new OAuthError("server_error", "internal error", {
    reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
}
