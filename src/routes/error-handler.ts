/**
 * The one place an error becomes a response and reaches the log. Each sub-app's `onError` is made here
 * from the sub-app's view of what was thrown (its family: `asOAuthError` in src/errors.ts, `asFlowError`
 * in haapi/respond-problem.ts, `asUafError` in uaf/uaf-error.ts) and, where the answer depends on the
 * request, its renderer.
 *
 * Hono sends an error to the `onError` of the sub-app whose handler threw it: `app.route()` wraps every
 * handler of a sub-app that has an `onError` of its own with it (hono-base.js, `route()`), and the parent's
 * `onError` sees only what no sub-app handled (test/routes/error-routing.test.ts). So a sub-app's
 * `onError` must be set before the sub-app is mounted.
 */
import type { Context, ErrorHandler } from "hono";
import { type AppError, asOAuthError } from "../errors";
import { StoreBusyError } from "../kv/ports";
import type { AppEnv } from "./context";

/** The error's fields on the request's log line: its family's code, the reason and its detail; a fault's stack. */
export function logError(log: Record<string, unknown>, error: AppError, thrown: unknown): void {
  Object.assign(log, error.logFields());
  log.reason = error.reason;
  if (error.detail) log.detail = error.detail;
  if (error.status >= 500 && !(thrown instanceof StoreBusyError) && thrown instanceof Error && thrown.stack)
    log.stack = thrown.stack;
}

type Render<E extends AppEnv> = (error: AppError, c: Context<E>) => Response | Promise<Response>;

const selfRendered = (error: AppError): Response => error.toResponse();

/** An `onError`: what was thrown, as `family` sees it, logged, then rendered (by default in its own format). */
export function errorHandler<E extends AppEnv>(
  family: (thrown: unknown) => AppError,
  render: Render<E> = selfRendered,
): ErrorHandler<E> {
  return (thrown, c) => {
    const error = family(thrown);
    logError(c.get("log") ?? {}, error, thrown);
    return render(error, c);
  };
}

/** The app's own `onError` and not-found answer: OAuth JSON, for everything no sub-app answers itself. */
export const oauthErrorHandler: ErrorHandler<AppEnv> = errorHandler(asOAuthError);
