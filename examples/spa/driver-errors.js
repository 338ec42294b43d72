// The driver's errors (haapi-fetch.js): one class for every failure, with a stable `code`, and a
// subclass for a failed initialisation.

/**
 * Why a call failed. A closed set, so callers can switch on it:
 * - ERR_LOADED_TIMEOUT: the iframe did not announce `loaded` in time (the usual sign of an origin the
 *   client does not allow: the browser refuses to render the page in a frame);
 * - ERR_SETUP_TIMEOUT, ERR_SETUP_REFUSED: `setup` got no `ready`, or an `error`;
 * - ERR_RESPONSE_TIMEOUT, ERR_REQUEST_REFUSED: an `api-request` got no `api-response`, or an `error`;
 * - ERR_MALFORMED_RESPONSE: an `api-response` that is not one;
 * - ERR_IFRAME_RELOADED: the iframe loaded a new document before it answered;
 * - ERR_ABORTED: the caller's signal aborted; ERR_CLOSED: close() was called.
 * @typedef {"ERR_LOADED_TIMEOUT" | "ERR_SETUP_TIMEOUT" | "ERR_SETUP_REFUSED" | "ERR_RESPONSE_TIMEOUT" | "ERR_REQUEST_REFUSED"
 *   | "ERR_MALFORMED_RESPONSE" | "ERR_IFRAME_RELOADED" | "ERR_ABORTED" | "ERR_CLOSED"} DriverErrorCode
 */

/** A failure of the driver or of the iframe; `code` says which. */
export class HaapiDriverError extends Error {
  /** @param {DriverErrorCode} code @param {string} message @param {ErrorOptions} [options] */
  constructor(code, message, options) {
    super(message, options);
    this.name = "HaapiDriverError";
    /** @type {DriverErrorCode} */
    this.code = code;
  }
}

/** The driver could not get the iframe ready (loaded, setup). */
export class InitializationError extends HaapiDriverError {
  /** @param {DriverErrorCode} code @param {string} message @param {ErrorOptions} [options] */
  constructor(code, message, options) {
    super(code, message, options);
    this.name = "InitializationError";
  }
}

const INITIALIZATION_CODES = new Set(["ERR_LOADED_TIMEOUT", "ERR_SETUP_TIMEOUT", "ERR_SETUP_REFUSED"]);

/** @param {DriverErrorCode} code @param {string} message @param {ErrorOptions} [options] */
export function driverError(code, message, options) {
  return INITIALIZATION_CODES.has(code)
    ? new InitializationError(code, message, options)
    : new HaapiDriverError(code, message, options);
}
