/**
 * Web "attestation": a browser cannot prove much about the app, but it does send an `Origin` it cannot
 * forge on a cross-origin request. The origin must be one of the client's `allowed_origins`
 * (scheme, host and port compared exactly), unless the web policy disables the check.
 *
 * Pure.
 */
import { fail, ok, type Result } from "./result";

export type WebOriginFailure = "origin_missing" | "origin_invalid" | "origin_not_allowed";

export interface WebOriginPolicy {
  readonly allowedOrigins: readonly string[];
  readonly disableOriginVerification: boolean;
}

export function verifyWebOrigin(origin: string | null, policy: WebOriginPolicy): Result<{ origin: string | null; verified: boolean }, WebOriginFailure> {
  if (policy.disableOriginVerification) return ok({ origin, verified: false });
  if (origin === null || origin === "null") return fail("origin_missing");
  let normalized: string;
  try {
    const url = new URL(origin);
    if (url.origin === "null" || url.pathname !== "/" || url.search || url.hash || origin.endsWith("/")) return fail("origin_invalid", { origin: origin.slice(0, 200) });
    normalized = url.origin;
  } catch {
    return fail("origin_invalid", { origin: origin.slice(0, 200) });
  }
  const allowed = policy.allowedOrigins.some((candidate) => new URL(candidate).origin === normalized);
  if (!allowed) return fail("origin_not_allowed", { origin: normalized, allowed: policy.allowedOrigins });
  return ok({ origin: normalized, verified: true });
}
