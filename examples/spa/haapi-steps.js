// Reading HAAPI representations (application/vnd.auth+json) and choosing what to send next, for an app
// that logs in with a username and password. Pure: no DOM, no network. The representation format is
// the HAAPI one: actions with a `template` ("form", "selector"), forms with a model {href, method, fields}.

export const HAAPI_MEDIA_TYPE = "application/vnd.auth+json";
const PROBLEM_MEDIA_TYPE = "application/problem+json";

/** The server refused a step: an application/problem+json answer (e.g. incorrect-credentials). */
export class HaapiProblem extends Error {
  /** @param {number} status @param {Record<string, any>} problem */
  constructor(status, problem) {
    const type = String(problem.type ?? "").replace("https://curity.se/problems/", "");
    super(`${type || "problem"} (HTTP ${status}): ${problem.title ?? "no title"}`);
    this.name = "HaapiProblem";
    this.status = status;
    this.type = type;
    this.problem = problem;
  }
}

/**
 * The representation in a response; a problem is thrown as HaapiProblem, anything else as an Error.
 * @param {Response} response
 * @returns {Promise<Record<string, any>>}
 */
export async function readRepresentation(response) {
  const mediaType = (response.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  const text = await response.text();
  if (mediaType === PROBLEM_MEDIA_TYPE) throw new HaapiProblem(response.status, JSON.parse(text));
  if (mediaType !== HAAPI_MEDIA_TYPE || !response.ok) {
    throw new Error(
      `expected ${HAAPI_MEDIA_TYPE}, got HTTP ${response.status} ${mediaType || "(no Content-Type)"}: ${text.slice(0, 300)}`,
    );
  }
  return JSON.parse(text);
}

/**
 * @typedef {{ href: string, method: "GET" | "POST", body?: Record<string, string>, title: string }} NextRequest
 * @typedef {{ kind: "done", code: string, state: string | undefined, iss: string | undefined }
 *   | { kind: "follow", request: NextRequest }
 *   | { kind: "login", action: Record<string, any> }} NextStep
 */

/** @param {Record<string, any>} action @param {Record<string, string>} [body] @returns {NextRequest} */
function requestOf(action, body) {
  const { href, method = "GET" } = action.model ?? {};
  if (typeof href !== "string") throw new Error(`the ${action.kind} action has no href`);
  if (method !== "GET" && method !== "POST")
    throw new Error(`the ${action.kind} action's method ${method} is not supported`);
  return { href, method, title: action.title ?? action.kind, ...(body && Object.keys(body).length ? { body } : {}) };
}

/** @param {Record<string, any>} action */
const hiddenValues = (action) =>
  Object.fromEntries(
    /** @type {Record<string, any>[]} */ (action.model?.fields ?? [])
      .filter((field) => field.type === "hidden" || field.type === "context")
      .map((field) => [field.name, field.value ?? ""]),
  );

/**
 * What to do with a representation: the code when the flow is over, a request to follow (an
 * authenticator chosen in a selector, a redirection step), or the login form to fill.
 * @param {Record<string, any>} representation
 * @param {{ authenticatorType?: string }} [options] the authenticator to pick in a selector (default html-form)
 * @returns {NextStep}
 */
export function nextStep(representation, options = {}) {
  const wanted = options.authenticatorType ?? "html-form";
  if (representation.type === "oauth-authorization-response") {
    const { code, state, iss } = representation.properties ?? {};
    if (typeof code !== "string" || code === "") throw new Error("the authorization response has no code");
    return { kind: "done", code, state, iss };
  }
  const actions = Array.isArray(representation.actions) ? representation.actions : [];
  if (representation.type === "redirection-step" && actions[0]?.template === "form") {
    return { kind: "follow", request: requestOf(actions[0], hiddenValues(actions[0])) };
  }
  const selector = actions.find((action) => action.template === "selector");
  if (selector) {
    const choices = /** @type {Record<string, any>[]} */ (selector.model?.options ?? []);
    const choice = choices.find((option) => option.properties?.authenticatorType === wanted);
    if (!choice)
      throw new Error(
        `the selector offers no ${wanted} authenticator (it offers ${choices.map((option) => option.properties?.authenticatorType ?? option.title).join(", ") || "nothing"})`,
      );
    return { kind: "follow", request: requestOf(choice) };
  }
  const login = actions.find((action) => action.template === "form" && action.kind === "login");
  if (login) return { kind: "login", action: login };
  const kinds = actions.map((action) => `${action.template}/${action.kind}`).join(", ") || "none";
  throw new Error(`no step this app can take: a ${representation.type} with actions ${kinds}`);
}

/**
 * The login form filled in: the username into its username field, the password into its password
 * field, hidden fields as given. A required field the app cannot fill is an error.
 * @param {Record<string, any>} action the `login` form action
 * @param {{ username: string, password: string }} credentials
 * @returns {NextRequest}
 */
export function loginRequest(action, credentials) {
  /** @type {Record<string, string>} */
  const body = {};
  for (const field of action.model?.fields ?? []) {
    if (field.type === "username" || field.name === "userName") body[field.name] = credentials.username;
    else if (field.type === "password") body[field.name] = credentials.password;
    else if (field.type === "hidden" || field.type === "context") body[field.name] = field.value ?? "";
    else if (field.required)
      throw new Error(`the login form asks for ${field.name} (${field.type}), which this app does not know`);
  }
  return requestOf(action, body);
}
