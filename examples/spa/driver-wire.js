// The wire side of the driver (haapi-fetch.js): where the iframe is, and how a request and a response
// travel in postMessage messages (plain objects: headers as an object, the body as a string).

import { driverError } from "./driver-errors.js";

const HAAPI_MEDIA_TYPE = "application/vnd.auth+json";
const DEBUG_FLAG = "se:curity:web-cat:debug";
/** Statuses whose Response must have a null body (Fetch, "null body status"). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * What haapiFetch takes: RequestInit, except that the body may also be a plain object of form fields.
 * @typedef {Omit<RequestInit, "body"> & { body?: string | URLSearchParams | Record<string, string | number | boolean | null | undefined> | null }} HaapiRequestInit
 */

/**
 * The iframe's URL: `<token endpoint>/cat?client_id=<id>`, with `&debug=true` when the page asks for it.
 * @param {string} clientId @param {string} tokenEndpoint
 */
export function iframeSource(clientId, tokenEndpoint) {
  const source = new URL("cat", `${tokenEndpoint.replace(/\/+$/, "")}/`);
  source.searchParams.set("client_id", clientId);
  const page =
    typeof window === "undefined" ? {} : /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (window));
  if (page[DEBUG_FLAG] === true) source.searchParams.set("debug", "true");
  return source;
}

/**
 * The request as the iframe receives it: plain-object headers, a string body or none.
 * An object or URLSearchParams body is form-encoded.
 * @param {HaapiRequestInit} init @param {string | null} sessionId
 */
export function wireRequest(init, sessionId) {
  const headers = new Headers(init.headers);
  headers.set("Accept", HAAPI_MEDIA_TYPE);
  if (sessionId !== null && !headers.has("Session-Id")) headers.set("Session-Id", sessionId);
  /** @type {string | undefined} */
  let body;
  const given = init.body;
  if (given instanceof URLSearchParams) body = given.toString();
  else if (typeof given === "string") body = given;
  else if (given !== undefined && given !== null) {
    if (Object.getPrototypeOf(given) !== Object.prototype && Object.getPrototypeOf(given) !== null) {
      throw new TypeError("body must be a string, URLSearchParams or a plain object (form fields)");
    }
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(given))
      if (value !== undefined && value !== null) form.append(name, String(value));
    body = form.toString();
  }
  if (body !== undefined && typeof given !== "string" && !headers.has("Content-Type"))
    headers.set("Content-Type", "application/x-www-form-urlencoded");
  const method = (init.method ?? "GET").toUpperCase();
  if (body !== undefined && (method === "GET" || method === "HEAD"))
    throw new TypeError(`a ${method} request cannot have a body`);
  return {
    method,
    headers: Object.fromEntries(headers),
    ...(body !== undefined ? { body } : {}),
    ...(init.credentials !== undefined ? { credentials: init.credentials } : {}),
  };
}

/**
 * The Response an `api-response` describes, and the Session-Id it sets (null when none).
 * @param {unknown} data the message's `data`: {body, init: {status, statusText, headers}}
 * @returns {{ response: Response, setSessionId: string | null }}
 */
export function responseOf(data) {
  const answer =
    /** @type {{ body?: unknown, init?: { status?: unknown, statusText?: unknown, headers?: unknown } }} */ (data);
  const init = answer?.init;
  if (
    typeof answer !== "object" ||
    answer === null ||
    typeof init !== "object" ||
    init === null ||
    typeof init.status !== "number"
  ) {
    throw driverError("ERR_MALFORMED_RESPONSE", "the iframe's api-response has no init.status");
  }
  const headers = new Headers(/** @type {HeadersInit} */ (init.headers ?? {}));
  const body =
    NULL_BODY_STATUSES.has(init.status) || answer.body === undefined
      ? null
      : /** @type {BodyInit | null} */ (answer.body);
  const response = new Response(body, {
    status: init.status,
    statusText: typeof init.statusText === "string" ? init.statusText : "",
    headers,
  });
  return { response, setSessionId: headers.get("set-session-id") || null };
}
