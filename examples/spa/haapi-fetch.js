// The parent side of the web driver's CAT iframe protocol (docs/web-apps.md): a `fetch`
// for HAAPI that never holds a key or a token. The server's iframe page attests, keeps the DPoP key and
// the HAAPI access token, and makes the HTTP calls; this page only exchanges postMessage messages with it.
//
//   const haapiFetch = createHaapiFetch({ clientId: "web-spa", tokenEndpoint: "http://127.0.0.1:8787/oauth/v2/oauth-token" });
//   await haapiFetch.init();
//   const response = await haapiFetch(authorizeUrl); // Accept: application/vnd.auth+json, Session-Id kept
//
// Written for this project from the protocol description; plain ES module, no dependencies.

import { driverError } from "./driver-errors.js";
import { iframeSource, responseOf, wireRequest } from "./driver-wire.js";

export { HaapiDriverError, InitializationError } from "./driver-errors.js";

/**
 * @typedef {object} HaapiFetchOptions
 * @property {string} clientId
 * @property {string} tokenEndpoint the iframe is `new URL("cat", tokenEndpoint + "/")`
 * @property {string} [baseUrl] relative URLs are resolved against it; default the token endpoint's origin
 * @property {number} [timeout] seconds each wait for the iframe may take; default 5
 * @property {string} [deviceIdentifier] 2 to 128 characters, passed to the iframe in `setup`
 * @property {(event: DriverEvent) => void} [onEvent] every message sent or received, for logs and tests
 */

/**
 * @typedef {object} DriverEvent
 * @property {"out" | "in"} direction "out": to the iframe; "in": from it
 * @property {string} type the message's type
 * @property {number} [traceId]
 * @property {unknown} [data] only for an `error` from the iframe: what it said
 */

/** @typedef {import("./driver-wire.js").HaapiRequestInit} HaapiRequestInit */
/** @typedef {import("./driver-errors.js").DriverErrorCode} DriverErrorCode */

/**
 * @typedef {((input: string | URL, init?: HaapiRequestInit) => Promise<Response>) & { init(): Promise<void>, close(): void, readonly sessionId: string | null, readonly iframe: HTMLIFrameElement | null }} HaapiFetch
 */

/**
 * @typedef {object} PendingExchange
 * @property {"setup" | "api-request"} type
 * @property {(data: unknown) => void} resolve
 * @property {(error: Error) => void} reject
 * @property {DriverErrorCode} refusedCode the code of an `error` answer
 * @property {Promise<void>} settled resolves once the exchange is over, whatever its outcome
 */

/** @param {HaapiFetchOptions} options */
function checkOptions(options) {
  if (typeof options !== "object" || options === null) throw new TypeError("createHaapiFetch needs an options object");
  const { clientId, tokenEndpoint, baseUrl, timeout = 5, deviceIdentifier, onEvent } = options;
  if (typeof clientId !== "string" || clientId === "") throw new TypeError("clientId must be a non-empty string");
  if (typeof tokenEndpoint !== "string" || !URL.canParse(tokenEndpoint))
    throw new TypeError("tokenEndpoint must be an absolute URL");
  if (baseUrl !== undefined && (typeof baseUrl !== "string" || !URL.canParse(baseUrl)))
    throw new TypeError("baseUrl must be an absolute URL");
  if (typeof timeout !== "number" || !(timeout > 0) || !Number.isFinite(timeout))
    throw new TypeError("timeout must be a positive number of seconds");
  if (
    deviceIdentifier !== undefined &&
    (typeof deviceIdentifier !== "string" || deviceIdentifier.length < 2 || deviceIdentifier.length > 128)
  ) {
    throw new TypeError("deviceIdentifier must be a string of 2 to 128 characters");
  }
  if (onEvent !== undefined && typeof onEvent !== "function") throw new TypeError("onEvent must be a function");
  return {
    clientId,
    tokenEndpoint,
    baseUrl: baseUrl ?? new URL(tokenEndpoint).origin,
    timeout,
    deviceIdentifier,
    onEvent,
  };
}

/**
 * A `fetch` for HAAPI through the server's iframe.
 * @param {HaapiFetchOptions} options
 * @returns {HaapiFetch}
 *
 * @example
 * const haapiFetch = createHaapiFetch({ clientId: "web-spa", tokenEndpoint: "http://127.0.0.1:8787/oauth/v2/oauth-token" });
 * const step = await (await haapiFetch(authorizeUrl)).json();
 */
export function createHaapiFetch(options) {
  const { clientId, tokenEndpoint, baseUrl, timeout, deviceIdentifier, onEvent } = checkOptions(options);
  const source = iframeSource(clientId, tokenEndpoint);
  const targetOrigin = source.origin;
  const waitMs = timeout * 1000;

  /** @type {HTMLIFrameElement | null} */
  let iframe = null;
  /** The current setup; replaced when the iframe reloads or asks for a reload. @type {Promise<void> | null} */
  let ready = null;
  /** Resolves on the first `loaded` while init() waits for it. @type {(() => void) | null} */
  let awaitingLoaded = null;
  let startedLoadingAt = 0;
  let finishedLoadingAt = 0;
  let nextTraceId = 1;
  /** @type {string | null} */
  let sessionId = null;
  let closed = false;
  /** @type {Map<number, PendingExchange>} */
  const pending = new Map();

  /** @param {"out" | "in"} direction @param {{ type: string, traceId?: number, data?: unknown }} message */
  function emit(direction, message) {
    if (!onEvent) return;
    /** @type {DriverEvent} */
    const event = { direction, type: message.type };
    if (typeof message.traceId === "number") event.traceId = message.traceId;
    if (direction === "in" && message.type === "error") event.data = message.data;
    try {
      onEvent(event);
    } catch {
      // A failing logger must not break the protocol.
    }
  }

  /** Post to the iframe, to its origin only (never "*"). @param {{ type: string, data?: unknown, traceId?: number }} message */
  function post(message) {
    const target = iframe?.contentWindow;
    if (!target) throw driverError("ERR_CLOSED", "the iframe is gone");
    emit("out", message);
    target.postMessage(message, targetOrigin);
  }

  /** Reject every exchange still waiting. @param {(entry: PendingExchange) => Error} why */
  function rejectAll(why) {
    for (const entry of [...pending.values()]) entry.reject(why(entry));
  }

  /**
   * Send a message the iframe answers with the same traceId; resolves with the answer's `data`.
   * @param {"setup" | "api-request"} type @param {unknown} data
   * @param {{ timeoutCode: DriverErrorCode, refusedCode: DriverErrorCode, signal?: AbortSignal }} how
   */
  function exchange(type, data, how) {
    const traceId = nextTraceId++;
    /** @type {() => void} */
    let markSettled = () => {};
    const settled = new Promise((resolveSettled) => (markSettled = () => resolveSettled(undefined)));
    return new Promise((resolve, reject) => {
      const onAbort = () =>
        finish(() => reject(driverError("ERR_ABORTED", `${type} #${traceId} aborted`, { cause: how.signal?.reason })));
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              driverError(how.timeoutCode, `no answer to ${type} #${traceId} from the iframe within ${timeout} s`),
            ),
          ),
        waitMs,
      );
      /** @param {() => void} outcome */
      const finish = (outcome) => {
        if (!pending.has(traceId)) return;
        pending.delete(traceId);
        clearTimeout(timer);
        how.signal?.removeEventListener("abort", onAbort);
        outcome();
        markSettled();
      };
      pending.set(traceId, {
        type,
        refusedCode: how.refusedCode,
        settled,
        resolve: (value) => finish(() => resolve(value)),
        reject: (error) => finish(() => reject(error)),
      });
      how.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        post({ type, data, traceId });
      } catch (error) {
        finish(() => reject(error));
      }
    });
  }

  function setup() {
    const data = {
      startedLoadingAt,
      finishedLoadingAt,
      timeout: waitMs,
      ...(deviceIdentifier !== undefined ? { deviceIdentifier } : {}),
    };
    return exchange("setup", data, { timeoutCode: "ERR_SETUP_TIMEOUT", refusedCode: "ERR_SETUP_REFUSED" }).then(
      () => undefined,
    );
  }

  /** Replace the current setup (the callers of awaitReady() follow the newest one). @param {Promise<void>} next */
  function setReady(next) {
    ready = next;
    next.catch(() => {}); // observed by awaitReady(); not an unhandled rejection meanwhile
  }

  /** The iframe has a new document: whatever the old one was doing is lost, and it needs a setup. */
  function onLoaded() {
    finishedLoadingAt = Date.now();
    if (awaitingLoaded) {
      const resolveLoaded = awaitingLoaded;
      awaitingLoaded = null;
      resolveLoaded();
      return;
    }
    if (!ready) return; // not initialised (or failed and torn down): nothing to set up
    rejectAll((entry) =>
      driverError("ERR_IFRAME_RELOADED", `the iframe loaded a new document before it answered ${entry.type}`),
    );
    setReady(setup());
  }

  /**
   * The iframe asks for a new setup: let pending requests finish, tell it `reload`, wait until it
   * announces itself again (`loaded`), and set it up again.
   */
  function onReloadRequested() {
    if (!ready) return;
    const previous = Promise.all([...pending.values()].map((entry) => entry.settled));
    setReady(
      previous.then(async () => {
        const loaded = nextLoaded();
        post({ type: "reload" });
        await loaded;
        return setup();
      }),
    );
  }

  /** Resolves on the iframe's next `loaded`; rejects after the timeout. */
  function nextLoaded() {
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    return new Promise((resolveLoaded, rejectLoaded) => {
      awaitingLoaded = () => {
        clearTimeout(timer);
        resolveLoaded(undefined);
      };
      timer = setTimeout(() => {
        awaitingLoaded = null;
        rejectLoaded(
          driverError(
            "ERR_LOADED_TIMEOUT",
            `the iframe ${targetOrigin} did not announce itself within ${timeout} s; is ${window.location.origin} one of the allowed origins of client ${clientId}?`,
          ),
        );
      }, waitMs);
    });
  }

  /** @param {{ traceId?: unknown, data?: unknown }} message */
  function onError(message) {
    const text = typeof message.data === "string" ? message.data : JSON.stringify(message.data ?? "error");
    if (typeof message.traceId === "number") {
      const entry = pending.get(message.traceId);
      entry?.reject(driverError(entry.refusedCode, text));
      return;
    }
    // Without a traceId it concerns whatever is waiting: the setup, or every request.
    rejectAll((entry) => driverError(entry.refusedCode, text));
  }

  /** @param {MessageEvent} event */
  function onMessage(event) {
    // Only the iframe's own window, from the iframe's origin, and only protocol messages.
    if (!iframe || event.source !== iframe.contentWindow || event.origin !== targetOrigin) return;
    const message = event.data;
    if (typeof message !== "object" || message === null || typeof message.type !== "string") return;
    emit("in", message);
    switch (message.type) {
      case "loaded":
        return onLoaded();
      case "ready": {
        const entry = pending.get(message.traceId);
        if (entry?.type === "setup") entry.resolve(undefined);
        return;
      }
      case "api-response": {
        const entry = pending.get(message.traceId);
        if (entry?.type === "api-request") entry.resolve(message.data);
        return;
      }
      case "error":
        return onError(message);
      case "reload":
        return onReloadRequested();
      default:
        return; // a type this driver does not know: ignored
    }
  }

  function teardown() {
    window.removeEventListener("message", onMessage);
    iframe?.remove();
    iframe = null;
    awaitingLoaded = null;
  }

  async function start() {
    const frame = document.createElement("iframe");
    frame.src = source.href;
    frame.title = "HAAPI";
    frame.hidden = true;
    frame.setAttribute("aria-hidden", "true");
    iframe = frame;
    window.addEventListener("message", onMessage);
    const loaded = nextLoaded();
    startedLoadingAt = Date.now();
    document.body.append(frame);
    await loaded;
    await setup();
  }

  /** Wait for the newest setup: a reload during the wait replaces it, and the wait goes on with the new one. */
  async function awaitReady() {
    for (;;) {
      const current = ready;
      if (!current) throw driverError("ERR_CLOSED", "the driver is not initialised");
      try {
        await current;
      } catch (error) {
        if (current !== ready && ready !== null) continue;
        throw error;
      }
      if (current === ready) return;
    }
  }

  function init() {
    if (closed) return Promise.reject(driverError("ERR_CLOSED", "the driver was closed"));
    if (!ready) {
      const starting = start().catch((error) => {
        // A failed start leaves nothing behind, so a later call may try again.
        if (ready === starting) {
          ready = null;
          rejectAll(() => driverError("ERR_CLOSED", "the driver's start failed"));
          teardown();
        }
        throw error;
      });
      setReady(starting);
    }
    return awaitReady();
  }

  /** @param {string | URL} input @param {HaapiRequestInit} [requestInit] */
  async function haapiFetch(input, requestInit = {}) {
    if (typeof input !== "string" && !(input instanceof URL))
      throw new TypeError("haapiFetch takes a URL (string or URL), not a Request");
    const href = new URL(input, baseUrl).href;
    const signal = requestInit.signal ?? undefined;
    await init();
    signal?.throwIfAborted();
    // Built after the wait, so the Session-Id of a request answered meanwhile is the one sent.
    const wire = wireRequest(requestInit, sessionId);
    const data = await exchange(
      "api-request",
      { href, init: wire },
      { timeoutCode: "ERR_RESPONSE_TIMEOUT", refusedCode: "ERR_REQUEST_REFUSED", ...(signal ? { signal } : {}) },
    );
    const { response, setSessionId } = responseOf(data);
    if (setSessionId !== null) sessionId = setSessionId;
    return response;
  }

  function close() {
    closed = true;
    ready = null;
    rejectAll(() => driverError("ERR_CLOSED", "the driver was closed"));
    teardown();
  }

  return /** @type {HaapiFetch} */ (
    Object.defineProperties(haapiFetch, {
      init: { value: init },
      close: { value: close },
      sessionId: { get: () => sessionId },
      iframe: { get: () => iframe },
    })
  );
}
