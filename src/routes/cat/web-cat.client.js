// @ts-check
/**
 * The web driver's CAT iframe, browser side (served by web-cat-page.ts; the protocol is in
 * docs/web-apps.md). It runs in a page of this server framed by a browser app's driver, and does
 * everything that needs a key, so the app's page never sees one:
 *
 *   iframe -> app   {type: "loaded"}                               when ready to be set up
 *   app -> iframe   {type: "setup", data, traceId}             ->  {type: "ready", traceId} | {type: "error", data, traceId}
 *   app -> iframe   {type: "api-request", data: {href, init}, traceId}
 *                                                              ->  {type: "api-response", data: {body, init}, traceId} | error
 *   app -> iframe   {type: "reload"}                           ->  state dropped, {type: "loaded"} again
 *   iframe -> app   {type: "reload"}                               when the HAAPI token cannot be renewed
 *
 * - Messages are taken only from the parent window and from an allowed origin (the first one fixes the
 *   app's origin), and posted with that origin as targetOrigin, never "*".
 * - The DPoP key is a non-extractable ECDSA P-256 WebCrypto key. It and the HAAPI token are kept in
 *   IndexedDB (this server's origin, partitioned by the app's site), so a reloaded iframe resumes a
 *   login with the same token while it lives.
 * - Setup: a CAT challenge, the CAT (platform "web", attesting the app's origin), then the HAAPI token
 *   (client_credentials with the CAT as client assertion); every request with a DPoP proof, retried
 *   once with the server's nonce.
 * - An api-request goes only to this server's HAAPI paths (authorize, /authn/...), with the token as
 *   `Authorization: DPoP` and a proof with `ath`; anything else is answered with an error. The token is
 *   renewed shortly before it expires; if that fails, the app is asked to reload.
 * Plain ES2020 in a classic script: no imports, no build.
 */
(() => {
  const HAAPI_MEDIA_TYPE = "application/vnd.auth+json";
  const CAT_ASSERTION_TYPE = "urn:se:curity:attestation:client";
  /** Renew the HAAPI token when less than this many seconds are left (or a fifth of its life). */
  const RENEW_MARGIN = 60;
  /** Headers of the app's request that the iframe sets itself or that a page may not choose. */
  const DROPPED_HEADERS = new Set([
    "authorization",
    "dpop",
    "cookie",
    "host",
    "origin",
    "referer",
    "content-length",
    "accept",
  ]);
  const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

  /**
   * @typedef {{ clientId: string, catEndpoint: string, tokenEndpoint: string, allowedOrigins: string[], apiPaths: string[], apiPrefixes: string[], scope: string, debug: boolean }} WebCatConfig
   * @typedef {{ privateKey: CryptoKey, publicJwk: { crv: string, kty: string, x: string, y: string } }} DpopKey
   * @typedef {{ accessToken: string, expiresAt: number, lifetime: number }} HaapiToken
   * @typedef {{ type: string, data?: any, traceId?: unknown }} Message
   */

  const element = document.getElementById("web-cat-config");
  /** @type {WebCatConfig} */
  const config = JSON.parse(element ? element.textContent || "{}" : "{}");
  const allowedOrigins = new Set(config.allowedOrigins || []);
  const storageKey = `web-cat:${config.clientId}`;

  /** @param {...unknown} args */
  function debug(...args) {
    if (config.debug) console.debug("[haapi-edge web-cat]", ...args);
  }

  // A page that is not framed, or framed by nothing we may talk to, does nothing.
  if (window.parent === window || allowedOrigins.size === 0) {
    debug("not framed by an allowed app; idle");
    return;
  }

  /** The app's origin, fixed by its first accepted message. @type {string | null} */
  let appOrigin = null;
  /** @type {DpopKey | null} */
  let dpopKey = null;
  /** @type {HaapiToken | null} */
  let haapiToken = null;
  /** The last DPoP-Nonce the server sent. @type {string | null} */
  let nonce = null;
  /** One acquisition at a time. @type {Promise<HaapiToken> | null} */
  let acquiring = null;
  /** Bumped by a reload: work started before it posts nothing after it. */
  let generation = 0;

  // ---- messages ----

  /** @param {Message} message */
  function post(message) {
    debug("->", message);
    if (appOrigin !== null) window.parent.postMessage(message, appOrigin);
  }

  /** Tell the app the page is ready: to its origin when known, else to each allowed origin (only the app's receives it). */
  function announceLoaded() {
    const message = { type: "loaded" };
    debug("->", message);
    const ancestor =
      location.ancestorOrigins && location.ancestorOrigins.length > 0 ? location.ancestorOrigins[0] : null;
    const targets =
      appOrigin !== null
        ? [appOrigin]
        : ancestor !== null && allowedOrigins.has(ancestor)
          ? [ancestor]
          : [...allowedOrigins];
    for (const target of targets) window.parent.postMessage(message, target);
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    if (!allowedOrigins.has(event.origin) || (appOrigin !== null && event.origin !== appOrigin)) {
      debug("ignored a message from", event.origin);
      return;
    }
    /** @type {unknown} */
    const message = event.data;
    if (typeof message !== "object" || message === null || typeof (/** @type {Message} */ (message).type) !== "string")
      return;
    appOrigin = event.origin;
    debug("<-", message);
    void handle(/** @type {Message} */ (message));
  });

  /** @param {Message} message */
  async function handle(message) {
    const { type, traceId } = message;
    const started = generation;
    /** @param {Message} answer */
    const answer = (answer) => {
      if (started === generation) post(answer);
    };
    switch (type) {
      case "setup":
        try {
          await currentToken();
          answer({ type: "ready", traceId });
        } catch (error) {
          answer({ type: "error", data: reasonOf(error), traceId });
        }
        return;
      case "api-request":
        try {
          answer({ type: "api-response", data: await apiRequest(message.data), traceId });
        } catch (error) {
          answer({ type: "error", data: reasonOf(error), traceId });
          if (error instanceof RenewalFailed) post({ type: "reload" });
        }
        return;
      case "reload":
        // The app starts over: drop the token (the key stays), and announce a fresh page.
        generation += 1;
        haapiToken = null;
        acquiring = null;
        await forget();
        announceLoaded();
        return;
      default:
        debug("unknown message type", type);
    }
  }

  /** @param {unknown} error */
  function reasonOf(error) {
    return error instanceof Error ? error.message : String(error);
  }

  class RenewalFailed extends Error {}

  // ---- the HAAPI call ----

  /**
   * @param {unknown} data
   * @returns {Promise<{ body: string | null, init: { status: number, statusText: string, headers: Record<string, string> } }>}
   */
  async function apiRequest(data) {
    const request =
      /** @type {{ href?: unknown, init?: { method?: unknown, headers?: unknown, body?: unknown, credentials?: unknown } }} */ (
        data || {}
      );
    const url = haapiUrl(request.href);
    const init = request.init || {};
    const method = typeof init.method === "string" ? init.method.toUpperCase() : "GET";
    if (!/^(GET|POST|PUT|PATCH|DELETE)$/.test(method)) throw new Error(`method ${method} is not allowed`);
    const headers = new Headers();
    if (init.headers && typeof init.headers === "object") {
      for (const [name, value] of Object.entries(init.headers)) {
        if (typeof value === "string" && !DROPPED_HEADERS.has(name.toLowerCase())) headers.set(name, value);
      }
    }
    headers.set("Accept", HAAPI_MEDIA_TYPE);
    const body = typeof init.body === "string" && method !== "GET" ? init.body : undefined;
    const credentials =
      init.credentials === "omit" || init.credentials === "include" ? init.credentials : "same-origin";
    let token;
    try {
      token = await currentToken();
    } catch (error) {
      throw new RenewalFailed(`the HAAPI token could not be renewed: ${reasonOf(error)}`);
    }
    const response = await withNonce(async () => {
      headers.set("Authorization", `DPoP ${token.accessToken}`);
      headers.set("DPoP", await proof(method, url.href, token.accessToken));
      return fetch(url.href, { method, headers, body, credentials, redirect: "manual", cache: "no-store" });
    });
    if (response.type === "opaqueredirect") throw new Error("the server answered with a redirect");
    /** @type {Record<string, string>} */
    const answerHeaders = {};
    response.headers.forEach((value, name) => {
      answerHeaders[name] = value;
    });
    const text = NULL_BODY_STATUSES.has(response.status) ? null : await response.text();
    return { body: text, init: { status: response.status, statusText: response.statusText, headers: answerHeaders } };
  }

  /** The request's URL, if it is one of this server's HAAPI paths. @param {unknown} href */
  function haapiUrl(href) {
    if (typeof href !== "string") throw new Error("api-request: href is missing");
    let url;
    try {
      url = new URL(href, location.origin);
    } catch {
      throw new Error("api-request: href is not a URL");
    }
    const allowed =
      url.origin === location.origin &&
      !url.username &&
      !url.password &&
      (config.apiPaths.includes(url.pathname) || config.apiPrefixes.some((prefix) => url.pathname.startsWith(prefix)));
    if (!allowed) throw new Error(`api-request: ${url.origin}${url.pathname} is not a HAAPI path of this server`);
    return url;
  }

  // ---- CAT and HAAPI token ----

  /** A HAAPI token with some life left: the current one, one stored by an earlier page, or a new one. */
  async function currentToken() {
    const now = Date.now() / 1000;
    if (haapiToken === null && dpopKey === null) await restore();
    if (haapiToken !== null && haapiToken.expiresAt - Math.min(RENEW_MARGIN, haapiToken.lifetime / 5) > now)
      return haapiToken;
    acquiring ??= acquire().finally(() => {
      acquiring = null;
    });
    return acquiring;
  }

  /** Attest, get a CAT, and exchange it for a HAAPI token (all with this iframe's DPoP key). */
  async function acquire() {
    const started = generation;
    const key = dpopKey ?? (await newKey());
    const challengeResponse = await fetch(`${config.catEndpoint}?client_id=${encodeURIComponent(config.clientId)}`, {
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    const challenge = await jsonOf(challengeResponse, "CAT challenge");
    const catForm = new URLSearchParams({
      challenge: String(challenge.challenge),
      challenge_response: JSON.stringify({ platform: "web", origin: appOrigin }),
    });
    const catResponse = await withNonce(async () =>
      fetch(config.catEndpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          DPoP: await proof("POST", config.catEndpoint, undefined, key),
        },
        body: catForm,
        cache: "no-store",
      }),
    );
    const { cat } = await jsonOf(catResponse, "CAT");
    const tokenForm = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: config.clientId,
      scope: config.scope,
      client_assertion_type: CAT_ASSERTION_TYPE,
      client_assertion: String(cat),
    });
    const tokenResponse = await withNonce(async () =>
      fetch(config.tokenEndpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          DPoP: await proof("POST", config.tokenEndpoint, undefined, key),
        },
        body: tokenForm,
        cache: "no-store",
      }),
    );
    const issued = await jsonOf(tokenResponse, "HAAPI token");
    if (typeof issued.access_token !== "string" || typeof issued.expires_in !== "number")
      throw new Error("HAAPI token: the token response is malformed");
    if (started !== generation) throw new Error("reloaded while setting up");
    const token = {
      accessToken: issued.access_token,
      expiresAt: Date.now() / 1000 + issued.expires_in,
      lifetime: issued.expires_in,
    };
    dpopKey = key;
    haapiToken = token;
    await remember();
    debug("HAAPI token acquired, expires in", issued.expires_in, "s");
    return token;
  }

  /** @param {Response} response @param {string} what @returns {Promise<Record<string, unknown>>} */
  async function jsonOf(response, what) {
    let body;
    try {
      body = await response.json();
    } catch {
      throw new Error(`${what}: HTTP ${response.status}, not JSON`);
    }
    if (!response.ok)
      throw new Error(
        `${what}: HTTP ${response.status} ${body?.error ? `${body.error}: ${body.error_description || ""}` : ""}`.trim(),
      );
    return body;
  }

  // ---- DPoP (RFC 9449) ----

  /** Send, and once more with the server's nonce when it asks for one (§8, §9). @param {() => Promise<Response>} send */
  async function withNonce(send) {
    let response = await send();
    keepNonce(response);
    const challenge = `${response.headers.get("WWW-Authenticate") || ""}`;
    let asksForNonce = challenge.includes("use_dpop_nonce");
    if (!asksForNonce && response.status === 400) {
      const copy = await response
        .clone()
        .json()
        .catch(() => null);
      asksForNonce = copy !== null && copy.error === "use_dpop_nonce";
    }
    if (asksForNonce && response.headers.get("DPoP-Nonce")) {
      response = await send();
      keepNonce(response);
    }
    return response;
  }

  /** @param {Response} response */
  function keepNonce(response) {
    const fresh = response.headers.get("DPoP-Nonce");
    if (fresh) nonce = fresh;
  }

  /**
   * A DPoP proof for `method` `url` (query and fragment removed), with `ath` for an access token.
   * @param {string} method @param {string} url @param {string} [accessToken] @param {DpopKey} [key]
   */
  async function proof(method, url, accessToken, key = /** @type {DpopKey} */ (dpopKey)) {
    const htu = new URL(url);
    htu.search = "";
    htu.hash = "";
    /** @type {Record<string, unknown>} */
    const payload = { jti: crypto.randomUUID(), htm: method, htu: htu.href, iat: Math.floor(Date.now() / 1000) };
    if (nonce !== null) payload.nonce = nonce;
    if (accessToken !== undefined)
      payload.ath = base64url(
        new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken))),
      );
    const header = { typ: "dpop+jwt", alg: "ES256", jwk: key.publicJwk };
    const input = `${base64url(utf8(JSON.stringify(header)))}.${base64url(utf8(JSON.stringify(payload)))}`;
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, utf8(input));
    return `${input}.${base64url(new Uint8Array(signature))}`;
  }

  /** A new non-extractable P-256 key; its public half as a JWK. @returns {Promise<DpopKey>} */
  async function newKey() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    return {
      privateKey: pair.privateKey,
      publicJwk: { crv: String(jwk.crv), kty: String(jwk.kty), x: String(jwk.x), y: String(jwk.y) },
    };
  }

  /** @param {string} text */
  function utf8(text) {
    return new TextEncoder().encode(text);
  }

  /** @param {Uint8Array} bytes */
  function base64url(bytes) {
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // ---- IndexedDB: the key and the token, for a reloaded iframe ----

  /** @returns {Promise<IDBDatabase | null>} */
  function database() {
    return new Promise((resolve) => {
      try {
        const opening = indexedDB.open("haapi-edge-web-cat", 1);
        opening.onupgradeneeded = () => opening.result.createObjectStore("state");
        opening.onsuccess = () => resolve(opening.result);
        opening.onerror = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
  }

  /** @param {"readonly" | "readwrite"} mode @param {(store: IDBObjectStore) => IDBRequest} work @returns {Promise<unknown>} */
  async function stored(mode, work) {
    const db = await database();
    if (db === null) return null;
    return new Promise((resolve) => {
      try {
        const request = work(db.transaction("state", mode).objectStore("state"));
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => resolve(null);
      } catch {
        resolve(null);
      }
    }).finally(() => db.close());
  }

  async function remember() {
    await stored("readwrite", (store) => store.put({ key: dpopKey, token: haapiToken, origin: appOrigin }, storageKey));
  }

  async function forget() {
    await stored("readwrite", (store) => store.delete(storageKey));
  }

  /** Take back the key and token an earlier page of this app stored, if they are for this app. */
  async function restore() {
    const state = /** @type {{ key?: DpopKey, token?: HaapiToken, origin?: string } | null | undefined} */ (
      await stored("readonly", (store) => store.get(storageKey))
    );
    // IndexedDB answers undefined for a missing key (and `stored` null when there is no storage).
    if (
      state === null ||
      state === undefined ||
      state.origin !== appOrigin ||
      !state.key ||
      !(state.key.privateKey instanceof CryptoKey)
    )
      return;
    dpopKey = state.key;
    if (state.token && typeof state.token.accessToken === "string") haapiToken = state.token;
    debug("restored the DPoP key", haapiToken !== null ? "and the HAAPI token" : "");
  }

  announceLoaded();
})();
