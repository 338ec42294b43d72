/**
 * The client's address, as the rate limits see it (registration and failed logins per source, mobile
 * approvals per source): the `CF-Connecting-IP` header. On Workers, Cloudflare sets it and replaces any
 * value a client sent. Elsewhere nothing does, and a client could name any address, or none and share
 * one bucket with everyone: so the Deno entry point (src/deno.ts) sets it itself, from the connection's
 * peer, or from the header a trusted reverse proxy puts its client's address in (`SOURCE_ADDRESS_HEADER`),
 * and drops whatever the client sent.
 */

export const SOURCE_ADDRESS = "CF-Connecting-IP";

/** RFC 9110 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Check a configured proxy header name: an error message naming the problem, or null. */
export function sourceHeaderProblem(name: string): string | null {
  if (!HEADER_NAME.test(name)) return `not a header name: ${JSON.stringify(name)}`;
  if (name.toLowerCase() === SOURCE_ADDRESS.toLowerCase())
    return `${SOURCE_ADDRESS} is what this header sets; name the header your proxy writes (X-Real-IP, X-Forwarded-For)`;
  return null;
}

/**
 * `request` with `CF-Connecting-IP` set to its client's address: the last entry of `proxyHeader` when
 * one is configured and present (a proxy appends the address it saw to X-Forwarded-For, so the last entry
 * is the only one it vouches for), otherwise `peer`, the connection's remote address.
 */
export function withSourceAddress(request: Request, peer: string, proxyHeader?: string): Request {
  const forwarded = proxyHeader ? request.headers.get(proxyHeader) : null;
  const last = forwarded?.split(",").at(-1)?.trim();
  const headers = new Headers(request.headers);
  headers.set(SOURCE_ADDRESS, last ? last : peer);
  return new Request(request, { headers });
}
