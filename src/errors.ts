/**
 * The one error base, and its OAuth rendering.
 *
 * Every refusal is an `AppError`: an HTTP status and headers, a public description that stays vague, and
 * a `reason` from a closed union (with optional `detail`, its evidence) that goes to the request's log
 * line only. Each family renders itself with `toResponse()`:
 * - `OAuthError` (here): RFC 6749 JSON `{error, error_description}`;
 * - `HaapiProblem` (src/routes/haapi/representations.ts): `application/problem+json`;
 * - `UafError` (src/routes/uaf/uaf-error.ts): a UAF ServerResponse.
 * Which family answers what a handler threw is decided by the sub-app the handler belongs to, through its
 * own `onError` (src/routes/error-handler.ts), never by the request's path.
 */
import { StoreBusyError } from "./kv/ports";
import type { OAuthRouteReason } from "./routes/oauth-reasons";

export interface AppErrorOptions<Reason extends string> {
  /** Precise cause, for the log. Never sent to the client. */
  readonly reason: Reason;
  /** The reason's evidence, for the log (no secrets). */
  readonly detail?: Readonly<Record<string, unknown>>;
  /** The HTTP status, when it is not the family's default for this error. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export abstract class AppError<Reason extends string = string> extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly reason: Reason;
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  protected constructor(
    /** The public text. */
    readonly description: string,
    defaultStatus: number,
    options: AppErrorOptions<Reason>,
    message = description,
  ) {
    super(message);
    this.status = options.status ?? defaultStatus;
    this.headers = options.headers ?? {};
    this.reason = options.reason;
    this.detail = options.detail;
  }

  /** The answer, in this error's own format. */
  abstract toResponse(): Response;

  /** What the request's log line says about this error besides `reason` and `detail`: its family's code. */
  abstract logFields(): Record<string, unknown>;
}

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

/** Reasons of the HTTP edge (src/http) and of the app itself, whatever the endpoint. */
export type EdgeReason =
  /** `detail`: the declared `content_length` (when declared) and the `limit`. */
  | "body_too_large"
  | "body_not_utf8"
  /** `detail.parameter`: the repeated one. */
  | "parameter_repeated"
  /** `detail.error`: why the certificate header could not be read. */
  | "client_certificate_unreadable"
  | "no_route"
  /** A method the path does not serve (src/routes/method-not-allowed.ts). */
  | "method_not_allowed"
  /** A StoreBusyError: answered 503 with Retry-After, in the endpoint's own format. */
  | "store_busy"
  /** The bundled development configuration (no CONFIG) asked for at a host that is not loopback. */
  | "development_configuration_exposed"
  /** Anything thrown that is not an AppError: a bug, logged with its stack. */
  | "internal_error";

/** Every reason an OAuth error can carry: a closed union, so the log's vocabulary is known. */
export type OAuthReason = EdgeReason | OAuthRouteReason;

export class OAuthError extends AppError<OAuthReason> {
  override readonly name = "OAuthError";

  constructor(
    readonly code: OAuthErrorCode,
    /** Public `error_description`. */
    description: string,
    options: AppErrorOptions<OAuthReason>,
  ) {
    super(description, STATUS[code], options, `${code}: ${description}`);
  }

  toResponse(): Response {
    const headers = new Headers({
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      Pragma: "no-cache",
    });
    for (const [name, value] of Object.entries(this.headers)) headers.set(name, value);
    return new Response(JSON.stringify({ error: this.code, error_description: this.description }), {
      status: this.status,
      headers,
    });
  }

  logFields(): Record<string, unknown> {
    return { error: this.code };
  }
}

/** What a thrown value that is not an AppError says in the log: its name and message. */
export function describeThrown(thrown: unknown): string {
  return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
}

/** A busy store (src/kv/ports.ts) as an OAuth error: 503 with Retry-After, not a fault. */
export function storeBusy(error: StoreBusyError): OAuthError {
  return new OAuthError("temporarily_unavailable", "the server is busy; retry shortly", {
    reason: "store_busy",
    detail: { store: error.message },
    headers: { "Retry-After": String(error.retryAfter) },
  });
}

/**
 * The OAuth family's view of anything thrown: an AppError answers as itself, a busy store is a 503, and
 * anything else is a bug, answered vaguely (its name and message go to the log).
 */
export function asOAuthError(thrown: unknown): AppError {
  if (thrown instanceof AppError) return thrown;
  if (thrown instanceof StoreBusyError) return storeBusy(thrown);
  return new OAuthError("server_error", "internal error", {
    reason: "internal_error",
    detail: { thrown: describeThrown(thrown) },
  });
}
