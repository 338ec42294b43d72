// What the simulator CLI sends and prints (Node only): HTTP with readable failures, the DPoP nonce
// retry, and the human-readable output, which goes to stdout, or to stderr with --json.

import { decodeJwt, decodeProtectedHeader } from "jose";
import { createDpopProof } from "./dpop.mjs";

/** A failure the CLI reports as one message (no stack trace) before exiting 1. */
export class CliError extends Error {}

/** The server answered with an error status: the evidence is kept for the caller. */
export class RefusedError extends CliError {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string} body
   */
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }

  /** The RFC 6749 `error` code of a JSON error body, if there is one. */
  get error() {
    try {
      const parsed = JSON.parse(this.body);
      return typeof parsed?.error === "string" ? parsed.error : undefined;
    } catch {
      return undefined;
    }
  }
}

/** @param {string} msg @returns {never} */
export function fail(msg) {
  throw new CliError(msg);
}

/**
 * fetch, with "is the server running?" instead of a bare network error.
 * @param {string} label
 * @param {string} url
 * @param {RequestInit} init
 * @returns {Promise<Response>}
 */
export async function send(label, url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = /** @type {any} */ (e)?.cause?.code ?? /** @type {Error} */ (e).message;
    return fail(`${label}: cannot reach ${url} (${cause}). Is the server running (npm start)?`);
  }
}

/**
 * Throw a RefusedError with the status, the challenge headers and the body.
 * @param {string} label
 * @param {Response} res
 * @param {string} [hint] appended on its own line
 * @returns {Promise<never>}
 */
export async function refused(label, res, hint) {
  const body = await res.text();
  const headers = ["www-authenticate", "dpop-nonce", "retry-after"]
    .map((h) => (res.headers.get(h) ? `\n  ${h}: ${res.headers.get(h)}` : ""))
    .join("");
  const message = `${label} refused: HTTP ${res.status} ${res.statusText}${headers}\n  body: ${body || "(empty)"}${hint ? `\n  ${hint}` : ""}`;
  throw new RefusedError(message, res.status, body);
}

/**
 * A JSON response body, or a CliError naming the request.
 * @param {string} label
 * @param {Response} res
 * @returns {Promise<any>}
 */
export async function jsonBody(label, res) {
  return res.json().catch(() => fail(`${label}: response is not JSON`));
}

/** @type {(text: string) => void} */
let write = (text) => console.log(text);

/** With --json, human-readable output goes to stderr: stdout is then the JSON result alone. */
export function textToStderr() {
  write = (text) => console.error(text);
}

/** @param {string} text */
export function say(text) {
  write(text);
}

/** @param {string} title @param {unknown} value */
export function show(title, value) {
  write(`\n== ${title}`);
  write(typeof value === "string" ? value : JSON.stringify(value, null, 2));
}

/**
 * A JWT's header and claims, without verifying it; undefined if it does not decode.
 * @param {string} jwt
 * @returns {{ header: import("jose").ProtectedHeaderParameters, claims: import("jose").JWTPayload } | undefined}
 */
export function decoded(jwt) {
  try {
    return { header: decodeProtectedHeader(jwt), claims: decodeJwt(jwt) };
  } catch {
    return undefined;
  }
}

/**
 * POST a form with a DPoP proof; retry once with the server's nonce on use_dpop_nonce.
 * The form is sent twice as is: it must not carry a single-use client assertion.
 * @param {string} label
 * @param {string} url
 * @param {URLSearchParams} form
 * @param {CryptoKeyPair} keyPair
 * @param {Record<string, string>} [headers] e.g. Authorization for a Basic-authenticated client
 * @returns {Promise<Response>}
 */
export async function postWithDpop(label, url, form, keyPair, headers = {}) {
  /** @param {string} [nonce] */
  const attempt = async (nonce) =>
    send(label, url, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        DPoP: await createDpopProof({ keyPair, htm: "POST", htu: url, nonce }),
      },
      body: form.toString(),
    });
  let res = await attempt();
  const nonce = res.headers.get("dpop-nonce");
  if ((res.status === 400 || res.status === 401) && nonce) {
    const body = await res.clone().text();
    const wantsNonce =
      body.includes("use_dpop_nonce") || (res.headers.get("www-authenticate") ?? "").includes("use_dpop_nonce");
    if (wantsNonce) {
      say(`(${label}: server asked for a DPoP nonce; retrying with it)`);
      res = await attempt(nonce);
    }
  }
  return res;
}
