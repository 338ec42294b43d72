/**
 * Web "attestation": a browser cannot prove much about the app, but it enforces two things a page
 * cannot forge: the `Origin` of a request, and which pages may frame the server's own (CSP
 * `frame-ancestors`). Either way the app's origin must be one of the client's `allowed_origins`
 * (scheme, host and port compared exactly), unless the web policy disables the check.
 *
 * Two ways a CAT request arrives:
 * - from the web driver's iframe (the server's own page, framed only by allowed origins): the request
 *   is same-origin with the server (`Origin` is the server's, `Sec-Fetch-Site: same-origin`), and the
 *   embedding origin, which the page's script learned from `postMessage`, is attested in the request
 *   (`challenge_response.origin`);
 * - as a direct request: the `Origin` header is the app's origin.
 *
 * Pure.
 */
import { fail, ok, type Result } from "./result";

export type WebOriginFailure = "origin_missing" | "origin_invalid" | "origin_not_allowed" | "not_from_server_page";

export interface WebOriginPolicy {
  readonly allowedOrigins: readonly string[];
  readonly disableOriginVerification: boolean;
}

export interface WebAttestationInput {
  /** The request's `Origin` header. */
  readonly requestOrigin: string | null;
  /** The request's `Sec-Fetch-Site` header. */
  readonly fetchSite: string | null;
  /** The embedding origin the server's iframe page attests, when the request comes from it. */
  readonly attestedOrigin?: string;
}

export interface VerifiedWebOrigin {
  readonly origin: string | null;
  readonly verified: boolean;
  /** `iframe`: attested by the server's own page; `origin`: the request's Origin header. */
  readonly via: "iframe" | "origin";
}

/** `origin` as URL.origin spells it, when it is a bare origin (no path, query, fragment or trailing slash). */
function normalizeOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    if (url.origin === "null" || url.pathname !== "/" || url.search || url.hash || origin.endsWith("/")) return null;
    return url.origin;
  } catch {
    return null;
  }
}

export function verifyWebOrigin(
  origin: string | null,
  policy: WebOriginPolicy,
): Result<{ origin: string | null; verified: boolean }, WebOriginFailure> {
  if (policy.disableOriginVerification) return ok({ origin, verified: false });
  if (origin === null || origin === "null") return fail("origin_missing");
  const normalized = normalizeOrigin(origin);
  if (normalized === null) return fail("origin_invalid", { origin: origin.slice(0, 200) });
  const allowed = policy.allowedOrigins.some((candidate) => new URL(candidate).origin === normalized);
  if (!allowed) return fail("origin_not_allowed", { origin: normalized, allowed: policy.allowedOrigins });
  return ok({ origin: normalized, verified: true });
}

/**
 * A CAT request's web attestation. From the iframe, the request must be same-origin with the server
 * (`serverOrigin`), so another site cannot post an attested origin of its choosing from a browser.
 */
export function verifyWebAttestation(
  input: WebAttestationInput,
  policy: WebOriginPolicy & { readonly serverOrigin: string },
): Result<VerifiedWebOrigin, WebOriginFailure> {
  if (input.attestedOrigin === undefined) {
    const direct = verifyWebOrigin(input.requestOrigin, policy);
    return direct.ok ? ok({ ...direct.value, via: "origin" }) : direct;
  }
  if (!policy.disableOriginVerification) {
    const fromServerPage =
      input.requestOrigin !== null &&
      normalizeOrigin(input.requestOrigin) === new URL(policy.serverOrigin).origin &&
      input.fetchSite === "same-origin";
    if (!fromServerPage)
      return fail("not_from_server_page", {
        origin: input.requestOrigin?.slice(0, 200) ?? null,
        fetch_site: input.fetchSite?.slice(0, 40) ?? null,
      });
  }
  const attested = verifyWebOrigin(input.attestedOrigin, policy);
  return attested.ok ? ok({ ...attested.value, via: "iframe" }) : attested;
}
