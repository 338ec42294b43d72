/**
 * The UAF services' error: a UAF status code (docs/uaf.md) answered as a ServerResponse
 * `{statusCode, description}` with a matching HTTP status. The precise reason goes to the log only.
 */
import { UAF_STATUS } from "../../uaf/status";

export { UAF_STATUS };

/** The HTTP status of a ServerResponse with this UAF status code. */
export function httpStatusOf(statusCode: number): number {
  if (statusCode === UAF_STATUS.OK) return 200;
  if (statusCode === UAF_STATUS.UNAUTHORIZED) return 401;
  if (statusCode === UAF_STATUS.FORBIDDEN) return 403;
  if (statusCode === UAF_STATUS.NOT_FOUND) return 404;
  if (statusCode >= 1500) return 500;
  return 400;
}

export class UafError extends Error {
  override readonly name = "UafError";
  constructor(
    readonly statusCode: number,
    /** Public description. */
    readonly description: string,
    /** Precise cause, for the log. */
    readonly reason: string,
    readonly headers: Record<string, string> = {},
    /** The HTTP status, when it is not the code's own (a busy store: 503 with its 1500). */
    readonly httpStatus?: number,
  ) {
    super(`${statusCode}: ${description}`);
  }
}

export function serverResponse(error: UafError): Response {
  return new Response(JSON.stringify({ statusCode: error.statusCode, description: error.description }), {
    status: error.httpStatus ?? httpStatusOf(error.statusCode),
    headers: { "Content-Type": "application/fido+uaf;charset=UTF-8", "Cache-Control": "no-store", ...error.headers },
  });
}
