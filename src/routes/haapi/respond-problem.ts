/**
 * A problem of the login flow as the client asked for it. The problems are the same in both modes (the
 * shared steps throw them); only the rendering differs:
 *
 * - HAAPI: `application/problem+json` (representations.ts).
 * - Browser:
 *   - `error-authorization-response`: the authorization response itself, a 303 to the redirect URI with
 *     `error`, `error_description`, `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207);
 *   - a refused submission in a live session (`invalid-input`, `incorrect-credentials`,
 *     `authentication-failed`, `too-many-attempts`, `generic-user-error`): the page it came from again,
 *     with the problem, at the problem's status;
 *   - anything else (no session or a finished one, a 403, `unexpected`): a page that says so.
 *
 * This is the flow's error rendering: its sub-app's `onError` (index.ts) answers with `renderFlowError`
 * whatever its steps throw, as `asFlowError` sees it.
 */
import type { Context } from "hono";
import { AppError, describeThrown } from "../../errors";
import { StoreBusyError } from "../../kv/ports";
import { AUTHN_PATH, type HaapiEnv } from "./context";
import { htmlHeaders } from "./html/respond";
import { renderMessagePage, renderPage, type PageProblem } from "./html/page";
import { renderStep } from "./render";
import {
  error as errorMessage,
  HaapiProblem,
  type InvalidField,
  type Link,
  type Message,
  type Representation,
} from "./representations";
import { forgotPasswordStep, registerStep, urls } from "./steps";

const RE_RENDERED = new Set<HaapiProblem["type"]>([
  "invalid-input",
  "incorrect-credentials",
  "authentication-failed",
  "too-many-attempts",
  "generic-user-error",
]);

// The two pages that are not the session's current step (authenticators.ts serves them).
const REGISTER_PAGE = new RegExp(`^${AUTHN_PATH}/register/([^/]+)$`);
const FORGOT_PASSWORD_PAGE = new RegExp(`^${AUTHN_PATH}/authenticate/([^/]+)/forgot-password$`);

/** The page a refused request came from: the form it posted, or the session's current step. */
async function pageOf(c: Context<HaapiEnv>): Promise<Representation | null> {
  const config = c.get("config");
  const session = c.get("session");
  if (!session || session.step.kind === "done") return null;
  const offered = (id: string | undefined) => {
    const authenticator =
      id !== undefined && session.authenticators.includes(id) ? config.authenticatorsById.get(id) : undefined;
    return authenticator?.type === "html-form" ? authenticator : undefined;
  };
  const path = c.req.path;
  const register = offered(REGISTER_PAGE.exec(path)?.[1]);
  if (register) return registerStep(config, register);
  const forgot = offered(FORGOT_PASSWORD_PAGE.exec(path)?.[1]);
  if (forgot) return forgotPasswordStep(config, forgot);
  return renderStep(c, session);
}

function pageProblem(problem: HaapiProblem): PageProblem {
  return {
    type: problem.type,
    title: problem.title,
    messages: (problem.extra.messages as readonly Message[] | undefined) ?? [],
    invalidFields: (problem.extra.invalidFields as readonly InvalidField[] | undefined) ?? [],
  };
}

const BROWSER_TITLES: Partial<Record<HaapiProblem["type"], string>> = {
  "mismatch-between-session-and-access-token": "This login has expired, or was started in another browser",
};

async function browserProblemResponse(c: Context<HaapiEnv>, problem: HaapiProblem): Promise<Response> {
  const config = c.get("config");
  const session = c.get("session");
  const headers = new Headers(htmlHeaders(config, session));
  for (const [name, value] of Object.entries(problem.headers)) headers.set(name, value);
  if (problem.type === "error-authorization-response") {
    const redirect = (problem.extra.links as readonly Link[] | undefined)?.find(
      (link) => link.rel === "authorization-response",
    );
    if (redirect) {
      headers.set("Location", redirect.href);
      return new Response(null, { status: 303, headers });
    }
  }
  let page: Representation | null = null;
  if (RE_RENDERED.has(problem.type) && problem.status !== 403) {
    try {
      page = await pageOf(c);
    } catch (cause) {
      // The step itself cannot be shown (its session ended meanwhile): the plain problem page; a bug is logged.
      c.get("log").page_error = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
      page = null;
    }
  }
  const csrf = c.get("csrf");
  const body = page
    ? renderPage(page, {
        problem: pageProblem(problem),
        ...(csrf ? { csrf } : {}),
        ...(c.get("submitted") ? { values: c.get("submitted") } : {}),
      })
    : renderMessagePage({
        title: BROWSER_TITLES[problem.type] ?? problem.title,
        problem: problem.type,
        messages: [
          ...((problem.extra.messages as readonly Message[] | undefined) ?? []),
          errorMessage(
            session && session.step.kind !== "done"
              ? "Start over below, or return to the application."
              : "Return to the application and start the login again.",
          ),
        ],
        // A live session can start over at its first step.
        links:
          session && session.step.kind !== "done"
            ? [{ href: urls.selector(config), rel: "restart", title: "Start over" }]
            : [],
      });
  return new Response(body, { status: problem.status, headers });
}

/**
 * The response for a problem of the flow, in the request's mode, as `negotiate` set it (not yet: JSON).
 */
export async function flowProblemResponse(c: Context<HaapiEnv>, problem: HaapiProblem): Promise<Response> {
  return c.get("flowMode") === "browser" ? browserProblemResponse(c, problem) : problem.toResponse();
}

/**
 * The flow's view of anything thrown: its problems and other families' errors (an OAuth error of the
 * token guard, a 406) answer as themselves; a busy store is a 503 problem with Retry-After; a bug is still
 * a representation the app can show, the `unexpected` problem.
 */
export function asFlowError(thrown: unknown): AppError {
  if (thrown instanceof AppError) return thrown;
  if (thrown instanceof StoreBusyError)
    return new HaapiProblem(
      "unexpected",
      "The server is busy; try again shortly",
      {},
      {
        status: 503,
        reason: "store_busy",
        detail: { store: thrown.message },
        headers: { "Retry-After": String(thrown.retryAfter) },
      },
    );
  return new HaapiProblem(
    "unexpected",
    "Something went wrong; start the login again",
    {},
    { reason: "internal_error", detail: { thrown: describeThrown(thrown) } },
  );
}

/** A problem as the client asked for it (JSON, or a page); any other error in its own format. */
export function renderFlowError(error: AppError, c: Context<HaapiEnv>): Response | Promise<Response> {
  return error instanceof HaapiProblem ? flowProblemResponse(c, error) : error.toResponse();
}
