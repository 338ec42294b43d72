// The UAF client simulator's one error for what it cannot do with what it was given: a payload or link
// that is not an out-of-band payload, a request from the server it cannot answer, an authenticator the
// request's policy refuses, a server it cannot reach. The CLI prints such errors as one line; a
// TypeError stays a programming mistake of the caller (and a bug report when the CLI hits one).
// Its own module so that uaf-authenticator.mjs and uaf-out-of-band.mjs can throw it without importing
// uaf-client.mjs, which imports them. Plain ESM: Node 22 and workerd.

/** A flow that could not complete on the client side. */
export class UafClientError extends Error {}
