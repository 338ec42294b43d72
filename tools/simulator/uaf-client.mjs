// The UAF client side of a Nevis-style app, over HTTP (docs/uaf.md): in-app registration,
// authentication and deregistration, and redeeming an out-of-band payload (QR code, link, push; an
// encrypted push payload is opened with the phone's encryption key). The device service (read, change,
// delete the device) is uaf-devices.mjs, on the helpers exported here.
// Each flow asks a request service for a UAF request (GetUAFRequest → ReturnUAFRequest), lets the
// simulated authenticator (uaf-authenticator.mjs) answer it, and posts the answer (SendUAFResponse →
// ServerResponse). The phone (uaf-phone.mjs) is updated in place; persisting it is the caller's job.
// `fetch` is injectable so the flow tests can drive the Worker itself (`exports.default.fetch`).
// Plain ESM: Node 22 and workerd.

import { base64url } from "jose";
import {
  aaidFor,
  authenticationResponse,
  KINDS,
  registrationResponse,
  uafResponseString,
} from "./uaf-authenticator.mjs";
import { deviceSignature } from "./uaf-device-signature.mjs";
import { UafClientError } from "./uaf-errors.mjs";
import { openOutOfBandPayload, responseServiceUrl } from "./uaf-out-of-band.mjs";
import { deviceContext, ensureEncryptionKey, putCredential, removeCredentials } from "./uaf-phone.mjs";
import { policyRefusal } from "./uaf-policy.mjs";

/** @typedef {import("./uaf-phone.mjs").UafPhone} UafPhone */
/** @typedef {import("./uaf-authenticator.mjs").AuthenticatorKind} AuthenticatorKind */
/** @typedef {"_app" | "nevisfido"} Family */
/**
 * How a request service call is authorized: a Bearer JWT, a session cookie, a Device-Signature by the
 * phone for the request's user (the server must already know the device), or nothing.
 * @typedef {{ type: "jwt", token: string } | { type: "cookie", cookie: string } | { type: "device-signature" } | { type: "none" }} Authorization
 */
/** @typedef {(url: string, init: RequestInit) => Promise<Response>} FetchFn */

/** Request and response services per path family (docs/uaf.md). */
const SERVICE_PATHS = Object.freeze({
  _app: {
    regRequest: "/_app/uaf/1.1/request/registration",
    regResponse: "/_app/uaf/1.1/registration",
    authRequest: "/_app/uaf/1.1/request/authentication",
    authResponse: "/_app/uaf/1.1/authentication",
    deregRequest: "/_app/uaf/1.1/request/deregistration",
    devices: "/_app/devices",
  },
  nevisfido: {
    regRequest: "/nevisfido/uaf/1.1/request/registration",
    regResponse: "/nevisfido/uaf/1.1/registration",
    authRequest: "/auth/fidouaf",
    authResponse: "/auth/fidouaf/authenticationresponse",
    deregRequest: "/nevisfido/uaf/1.1/request/deregistration",
    devices: "/nevisfido/devices",
  },
});

/** The FIDO UAF media type, as an Accept value. */
export const UAF_MEDIA_TYPE = "application/fido+uaf";
/** The Content-Type of a UAF message body: the media type with its charset, as the SDK sends it. */
export const UAF_CONTENT_TYPE = "application/fido+uaf;charset=UTF-8";
const STATUS_NAMES = /** @type {Record<number, string>} */ ({
  1200: "OK",
  1400: "bad request",
  1401: "unauthorized",
  1403: "forbidden",
  1480: "unknown AAID",
  1481: "unknown KeyID",
  1490: "channel binding refused",
  1491: "request invalid",
  1492: "unacceptable authenticator",
  1493: "revoked authenticator",
  1494: "unacceptable key",
  1495: "unacceptable algorithm",
  1496: "unacceptable attestation",
  1497: "unacceptable client capabilities",
  1498: "unacceptable content",
  1500: "internal server error",
});

/** A flow that could not complete on the client side (uaf-errors.mjs), re-exported for callers of the flows. */
export { UafClientError };

/** The server refused: the HTTP status, the UAF statusCode (when the body has one) and the body. */
export class UafRefusedError extends UafClientError {
  /** @param {string} label @param {number} httpStatus @param {number | undefined} statusCode @param {string} body */
  constructor(label, httpStatus, statusCode, body) {
    const uaf =
      statusCode === undefined
        ? ""
        : `, UAF status ${statusCode}${STATUS_NAMES[statusCode] ? ` (${STATUS_NAMES[statusCode]})` : ""}`;
    super(`${label} refused: HTTP ${httpStatus}${uaf}\n  body: ${body || "(empty)"}`);
    this.httpStatus = httpStatus;
    this.statusCode = statusCode;
    this.body = body;
  }
}

/**
 * Call a service; the answer must be HTTP 2xx with a JSON body, and with `statusCode` 1200 when
 * `uafStatus` (a UAF message; the device service's reads and changes answer plain JSON).
 * @param {FetchFn} fetchFn @param {string} label
 * @param {string} url @param {{ method: string, headers: Record<string, string>, body?: unknown, uafStatus: boolean }} call
 * @returns {Promise<Record<string, any>>}
 */
export async function callService(fetchFn, label, url, call) {
  let res;
  try {
    res = await fetchFn(url, {
      method: call.method,
      headers: call.headers,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    });
  } catch (e) {
    const cause = /** @type {any} */ (e)?.cause?.code ?? /** @type {Error} */ (e).message;
    throw new UafClientError(`${label}: cannot reach ${url} (${cause}). Is the server running (npm start)?`);
  }
  const text = new TextDecoder().decode(await res.arrayBuffer()); // UTF-8 whatever the type says (application/fido+uaf)
  /** @type {any} */
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const statusCode = typeof json?.statusCode === "number" ? json.statusCode : undefined;
  if (!res.ok || (call.uafStatus ? statusCode !== 1200 : typeof json !== "object" || json === null))
    throw new UafRefusedError(label, res.status, statusCode, text);
  return json;
}

/**
 * POST a JSON body; the answer must be HTTP 2xx with `statusCode` 1200.
 * @param {FetchFn} fetchFn @param {string} label @param {string} url @param {unknown} body @param {Record<string, string>} headers
 */
function post(fetchFn, label, url, body, headers) {
  return callService(fetchFn, label, url, { method: "POST", headers, body, uafStatus: true });
}

/**
 * The headers that carry an authorization; a Device-Signature is signed now, for `username`.
 * @param {Authorization | undefined} authorization @param {UafPhone} phone @param {string | undefined} username
 * @returns {Promise<Record<string, string>>}
 */
async function authorizationHeaders(authorization, phone, username) {
  switch (authorization?.type) {
    case "jwt":
      return { authorization: `Bearer ${authorization.token}` };
    case "cookie":
      return { cookie: authorization.cookie };
    case "device-signature":
      if (username === undefined) throw new TypeError("a Device-Signature authorization needs the username");
      return { "device-signature": await deviceSignature(phone, username) };
    default:
      return {};
  }
}

/**
 * The first UAF request of a ReturnUAFRequest (its `uafRequest` is a string holding a JSON array).
 * @param {Record<string, any>} returned @param {string} label @returns {any}
 */
export function firstRequest(returned, label) {
  let requests;
  try {
    requests = JSON.parse(returned.uafRequest);
  } catch {
    throw new UafClientError(`${label}: uafRequest is not a string holding JSON`);
  }
  if (!Array.isArray(requests) || typeof requests[0]?.header?.op !== "string")
    throw new UafClientError(`${label}: uafRequest is not an array of UAF requests`);
  return requests[0];
}

/**
 * Ask a request service for a UAF request.
 * @param {FetchFn} fetchFn @param {string} url @param {string} op @param {Record<string, unknown>} context
 * @param {Record<string, string>} [authorization] from authorizationHeaders
 */
async function getUafRequest(fetchFn, url, op, context, authorization = {}) {
  const label = `GetUAFRequest ${op}`;
  const returned = await post(
    fetchFn,
    label,
    url,
    { op, context: JSON.stringify(context) },
    { "content-type": UAF_CONTENT_TYPE, accept: UAF_MEDIA_TYPE, ...authorization },
  );
  return firstRequest(returned, label);
}

/** The services' URLs. @param {string} baseUrl @param {Family | undefined} family */
export function paths(baseUrl, family = "_app") {
  const p = SERVICE_PATHS[family];
  if (!p) throw new TypeError(`unknown family ${JSON.stringify(family)} (_app or nevisfido)`);
  const base = baseUrl.replace(/\/+$/, "");
  return /** @type {typeof p} */ (Object.fromEntries(Object.entries(p).map(([k, path]) => [k, base + path])));
}

/**
 * @typedef {object} AnswerOptions
 * @property {UafPhone} phone
 * @property {FetchFn} [fetch] default globalThis.fetch
 * @property {AuthenticatorKind} [kind] registration: default the first kind the policy accepts; authentication: restricts the choice
 * @property {string} [facetId] default the simulated app's facet for the phone's platform
 * @property {number} [signAlg] registration: 0x01 (default) or 0x02
 * @property {number} [pubKeyAlg] registration: 0x100 (default) or 0x101
 * @property {number} [signCounter] authentication: sign this counter value instead of the next one
 */

/** Answer a RegistrationRequest and post it; the credential is kept only when the server accepts it. @param {any} request @param {string} url @param {AnswerOptions} o */
async function completeRegistration(request, url, o) {
  const { phone } = o;
  const registered = (/** @type {string} */ aaid) =>
    phone.credentials.filter((c) => c.username === request.username && c.aaid === aaid).map((c) => c.keyId);
  const aaid = o.kind
    ? aaidFor(phone.platform, o.kind)
    : KINDS.map((k) => aaidFor(phone.platform, k)).find(
        (a) => !policyRefusal(request.policy, { aaid: a, keyIds: registered(a), signAlg: o.signAlg ?? 1 }),
      );
  if (!aaid)
    throw new UafClientError(
      `no ${phone.platform} authenticator is accepted by the registration policy ${JSON.stringify(request.policy)}`,
    );
  const { response, credential } = await registrationResponse(request, {
    aaid,
    registeredKeyIds: registered(aaid),
    facetId: o.facetId,
    signAlg: o.signAlg,
    pubKeyAlg: o.pubKeyAlg,
  });
  await ensureEncryptionKey(phone);
  const serverResponse = await post(
    o.fetch ?? fetch,
    "registration response",
    url,
    { uafResponse: uafResponseString([response]), context: JSON.stringify(deviceContext(phone)) },
    { "content-type": UAF_CONTENT_TYPE, accept: UAF_MEDIA_TYPE },
  );
  putCredential(phone, credential);
  return { op: "Reg", request, response, serverResponse, credential };
}

/** Answer an AuthenticationRequest with a credential its policy accepts, and post it. @param {any} request @param {string} url @param {AnswerOptions & { username?: string }} o */
async function completeAuthentication(request, url, o) {
  const { phone } = o;
  const aaid = o.kind ? aaidFor(phone.platform, o.kind) : undefined;
  const candidate = phone.credentials.find(
    (c) =>
      (o.username === undefined || c.username === o.username) &&
      (aaid === undefined || c.aaid === aaid) &&
      c.appID === request.header.appID &&
      !policyRefusal(request.policy, { aaid: c.aaid, keyIds: [c.keyId], signAlg: c.signAlg }),
  );
  if (!candidate) {
    const held = phone.credentials.map((c) => `${c.username}/${c.aaid}/${c.keyId}`).join(", ") || "none";
    throw new UafClientError(
      `no credential on this phone answers the authentication request (policy ${JSON.stringify(request.policy)}; credentials held: ${held})`,
    );
  }
  const { response, credential } = await authenticationResponse(request, candidate, {
    facetId: o.facetId,
    signCounter: o.signCounter,
  });
  putCredential(phone, credential); // the authenticator's counter moved, whatever the server answers
  const serverResponse = await post(
    o.fetch ?? fetch,
    "authentication response",
    url,
    { uafResponse: uafResponseString([response]) },
    { "content-type": UAF_CONTENT_TYPE, accept: UAF_MEDIA_TYPE },
  );
  return { op: "Auth", request, response, serverResponse, credential };
}

/**
 * Delete locally what a DeregistrationRequest lists (UAF Protocol §3.6: an empty keyID means every key
 * of that AAID, an empty aaid every authenticator), within the request's AppID and, when known, the user.
 * @param {UafPhone} phone @param {any} request @param {string} [username]
 */
export function applyDeregistration(phone, request, username) {
  const entries = Array.isArray(request.authenticators) ? request.authenticators : [];
  const removed = removeCredentials(
    phone,
    (c) =>
      c.appID === request.header.appID &&
      (username === undefined || c.username === username) &&
      entries.some((/** @type {any} */ e) => (!e.aaid || e.aaid === c.aaid) && (!e.keyID || e.keyID === c.keyId)),
  );
  return { op: "Dereg", request, response: null, serverResponse: null, removed };
}

/**
 * In-app registration: GetUAFRequest op Reg with context {username}, authorized as given; the phone
 * registers `kind` (or the first kind the policy accepts) and sends its device information along.
 * @param {AnswerOptions & { baseUrl: string, family?: Family, username: string, authorization?: Authorization }} o
 *
 * @example await registerInApp({ baseUrl: "http://127.0.0.1:8787", username: "demo", kind: "pin", phone, authorization: { type: "jwt", token } })
 */
export async function registerInApp(o) {
  const p = paths(o.baseUrl, o.family);
  const request = await getUafRequest(
    o.fetch ?? fetch,
    p.regRequest,
    "Reg",
    { username: o.username },
    await authorizationHeaders(o.authorization, o.phone, o.username),
  );
  return completeRegistration(request, p.regResponse, o);
}

/**
 * In-app authentication: GetUAFRequest op Auth with context {username?, transaction?}; a transaction
 * text is sent as text/plain and shown on the authenticator. Without a username, any credential the
 * policy accepts answers (usernameless).
 * @param {AnswerOptions & { baseUrl: string, family?: Family, username?: string, transaction?: string }} o
 */
export async function authenticate(o) {
  const p = paths(o.baseUrl, o.family);
  const context = {
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.transaction !== undefined
      ? { transaction: [{ contentType: "text/plain", content: base64url.encode(o.transaction) }] }
      : {}),
  };
  const request = await getUafRequest(o.fetch ?? fetch, p.authRequest, "Auth", context);
  return completeAuthentication(request, p.authResponse, o);
}

/**
 * Deregistration: GetUAFRequest op Dereg with context {username, aaid?}; the server removes the keys
 * and returns a DeregistrationRequest, whose authenticators the phone then deletes. With
 * `authorization: {type: "device-signature"}` the phone authorizes itself (a device the server knows).
 * @param {{ baseUrl: string, family?: Family, username: string, kind?: AuthenticatorKind, authorization?: Authorization, phone: UafPhone, fetch?: FetchFn }} o
 */
export async function deregister(o) {
  const p = paths(o.baseUrl, o.family);
  const context = { username: o.username, ...(o.kind ? { aaid: aaidFor(o.phone.platform, o.kind) } : {}) };
  const request = await getUafRequest(
    o.fetch ?? fetch,
    p.deregRequest,
    "Dereg",
    context,
    await authorizationHeaders(o.authorization, o.phone, o.username),
  );
  return applyDeregistration(o.phone, request, o.username);
}

/**
 * Out-of-band: redeem the payload's token (POST {token} to its redeem_url) for a UAF request, then
 * register, authenticate or deregister as that request says. An encrypted payload (a push message's)
 * is decrypted with the phone's encryption key first.
 * @param {AnswerOptions & { payload: string | Record<string, any> }} o
 */
export async function redeemOutOfBand(o) {
  const { token, redeemUrl } = await openOutOfBandPayload(o.payload, o.phone);
  const returned = await post(
    o.fetch ?? fetch,
    "token redeem",
    redeemUrl,
    { token },
    { "content-type": "application/json", accept: UAF_MEDIA_TYPE },
  );
  const request = firstRequest(returned, "token redeem");
  const op = request.header.op;
  if (op === "Reg") return completeRegistration(request, responseServiceUrl(redeemUrl, "Reg"), o);
  if (op === "Auth") return completeAuthentication(request, responseServiceUrl(redeemUrl, "Auth"), o);
  if (op === "Dereg") return applyDeregistration(o.phone, request);
  throw new UafClientError(`token redeem: unknown op ${JSON.stringify(op)}`);
}
