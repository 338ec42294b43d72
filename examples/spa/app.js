// The example single-page app: logs a user in through HAAPI in the server's iframe (haapi-fetch.js),
// redeems the code itself as a public client, and shows the userinfo.
//
// Query parameters (all optional): issuer (default http://127.0.0.1:8787), client_id (default web-spa),
// token_endpoint (default <issuer>/oauth/v2/oauth-token), scope (default "openid profile"),
// timeout (seconds per wait for the iframe, default 5), pause=1 (stop at the login form until
// "Send the login form" is pressed), autorun=1 (start on load).
//
// For tests and for the curious, window.__spa has the settings, the driver (haapiFetch), every
// message the driver exchanged with the iframe (events) and run(). <body data-state> tells where the
// app is: idle, initialising, authorizing, login-form (paused), redeeming, done or error.

import { createHaapiFetch } from "./haapi-fetch.js";
import { loginRequest, nextStep, readRepresentation } from "./haapi-steps.js";
import { authorizeUrl, pkce, randomToken, redeemCode, unverifiedClaims, userinfo } from "./oauth.js";

/** More steps than a password login takes means the app is going round in circles. */
const MAX_STEPS = 10;

/** @param {Location} location */
function readSettings(location) {
  const query = new URLSearchParams(location.search);
  const issuer = (query.get("issuer") ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
  const timeout = Number(query.get("timeout") ?? "5");
  return Object.freeze({
    issuer,
    clientId: query.get("client_id") ?? "web-spa",
    tokenEndpoint: query.get("token_endpoint") ?? `${issuer}/oauth/v2/oauth-token`,
    redirectUri: `${location.origin}/callback`,
    scope: query.get("scope") ?? "openid profile",
    timeout: Number.isFinite(timeout) && timeout > 0 ? timeout : 5,
    pause: query.get("pause") === "1",
    autorun: query.get("autorun") === "1",
  });
}

/** @param {string} id */
function element(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}

const settings = readSettings(window.location);
const ui = {
  form: /** @type {HTMLFormElement} */ (element("login")),
  username: /** @type {HTMLInputElement} */ (element("username")),
  password: /** @type {HTMLInputElement} */ (element("password")),
  pause: /** @type {HTMLInputElement} */ (element("pause")),
  start: /** @type {HTMLButtonElement} */ (element("start")),
  submit: /** @type {HTMLButtonElement} */ (element("submit")),
  settings: element("settings"),
  log: element("log"),
  result: element("result"),
};

/** @param {string} line */
function log(line) {
  ui.log.textContent += `${line}\n`;
}

/** @param {"idle" | "initialising" | "authorizing" | "login-form" | "redeeming" | "done" | "error"} state */
function setState(state) {
  document.body.dataset.state = state;
}

/** @type {import("./haapi-fetch.js").DriverEvent[]} */
const events = [];
const haapiFetch = createHaapiFetch({
  clientId: settings.clientId,
  tokenEndpoint: settings.tokenEndpoint,
  timeout: settings.timeout,
  onEvent(event) {
    events.push(event);
    const trace = event.traceId === undefined ? "" : ` #${event.traceId}`;
    const said = event.type === "error" ? `: ${JSON.stringify(event.data)}` : "";
    log(`  iframe ${event.direction === "out" ? "<-" : "->"} ${event.type}${trace}${said}`);
  },
});

/** Resolves on the next click of `button`, which is shown meanwhile. @param {HTMLButtonElement} button */
function nextClick(button) {
  button.hidden = false;
  return new Promise((resolve) =>
    button.addEventListener(
      "click",
      () => {
        button.hidden = true;
        resolve(undefined);
      },
      { once: true },
    ),
  );
}

/** Send a request of the flow through the iframe. @param {import("./haapi-steps.js").NextRequest} request */
function send(request) {
  log(`${request.method} ${request.href} (${request.title})`);
  if (request.method === "GET") {
    const url = new URL(request.href);
    for (const [name, value] of Object.entries(request.body ?? {})) url.searchParams.set(name, value);
    return haapiFetch(url.href);
  }
  return haapiFetch(request.href, { method: "POST", body: request.body ?? {} });
}

/** The HAAPI flow, from the authorization request to the code. */
async function authorize() {
  const { verifier, challenge } = await pkce();
  const state = randomToken(16);
  /** @type {import("./haapi-steps.js").NextRequest} */
  let request = {
    href: authorizeUrl(settings.issuer, {
      clientId: settings.clientId,
      redirectUri: settings.redirectUri,
      scope: settings.scope,
      state,
      codeChallenge: challenge,
    }),
    method: "GET",
    title: "authorization request",
  };
  for (let step = 0; step < MAX_STEPS; step++) {
    const representation = await readRepresentation(await send(request));
    log(
      `  = ${representation.type}${representation.metadata?.viewName ? ` (${representation.metadata.viewName})` : ""}`,
    );
    const next = nextStep(representation);
    if (next.kind === "done") {
      if (next.state !== state) throw new Error("the authorization response's state is not the one this app sent");
      return { code: next.code, verifier };
    }
    if (next.kind === "follow") {
      request = next.request;
      continue;
    }
    if (ui.pause.checked) {
      setState("login-form");
      log('waiting: press "Send the login form"');
      await nextClick(ui.submit);
      setState("authorizing");
    }
    request = loginRequest(next.action, { username: ui.username.value, password: ui.password.value });
  }
  throw new Error(`no authorization response after ${MAX_STEPS} steps`);
}

let running = false;

/** Initialise the driver, log in, redeem the code, show the userinfo. Never throws: the page shows the outcome. */
async function run() {
  if (running) return;
  running = true;
  ui.start.disabled = true;
  ui.result.textContent = "";
  try {
    setState("initialising");
    log(`driver: client ${settings.clientId}, token endpoint ${settings.tokenEndpoint}`);
    await haapiFetch.init();
    setState("authorizing");
    const { code, verifier } = await authorize();
    setState("redeeming");
    log(`POST ${settings.tokenEndpoint} (authorization_code, PKCE, public client ${settings.clientId})`);
    const tokens = await redeemCode(settings.tokenEndpoint, {
      code,
      redirectUri: settings.redirectUri,
      codeVerifier: verifier,
      clientId: settings.clientId,
    });
    log(`  = ${tokens.token_type} access token, scope ${tokens.scope}`);
    log(`GET ${settings.issuer}/oauth/v2/oauth-userinfo`);
    const claims = await userinfo(settings.issuer, tokens);
    ui.result.textContent = JSON.stringify(
      {
        userinfo: claims,
        token: {
          token_type: tokens.token_type,
          scope: tokens.scope,
          expires_in: tokens.expires_in,
          refresh_token: typeof tokens.refresh_token === "string",
        },
        ...(typeof tokens.id_token === "string" ? { id_token_claims: unverifiedClaims(tokens.id_token) } : {}),
      },
      null,
      2,
    );
    log(`done: logged in as ${claims.sub}`);
    setState("done");
  } catch (error) {
    const failure = /** @type {Error & { code?: string }} */ (error);
    log(`failed: ${failure.name}${failure.code ? ` ${failure.code}` : ""}: ${failure.message}`);
    ui.result.textContent = JSON.stringify(
      { error: { name: failure.name, ...(failure.code ? { code: failure.code } : {}), message: failure.message } },
      null,
      2,
    );
    setState("error");
  } finally {
    ui.submit.hidden = true;
    ui.start.disabled = false;
    running = false;
  }
}

ui.settings.textContent = `${window.location.origin} -> ${settings.issuer}, client ${settings.clientId}`;
ui.pause.checked = settings.pause;
ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  void run();
});
Object.defineProperty(window, "__spa", { value: Object.freeze({ settings, haapiFetch, events, run }) });
setState("idle");
if (settings.autorun) void run();
