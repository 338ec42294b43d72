/**
 * Trusted facets (FIDO AppID and Facet Specification v1.1 §3.1.2): the document served,
 * unauthenticated, at the AppID URL with content type `application/fido.trusted-apps+json`, and
 * the syntax of the facet IDs the configuration may list:
 *
 * - `android:apk-key-hash:<base64, no padding, of the SHA-1 of the APK signing certificate>` (27 chars)
 * - `android:apk-key-hash-sha256:<the same with SHA-256>` (43 chars; some SDKs send this form)
 * - `ios:bundle-id:<bundle id>`
 * - `https://host[:port]`: a web origin, exactly as a browser serialises it (no path, no slash).
 *
 * Android facet hashes use the standard base64 alphabet (`+`, `/`), as Android computes them.
 */
import { fail, ok, type Result } from "../verifiers/result";

export const TRUSTED_FACETS_MEDIA_TYPE = "application/fido.trusted-apps+json";

export interface TrustedFacetsDocument {
  readonly trustedFacets: readonly {
    readonly version: { readonly major: number; readonly minor: number };
    readonly ids: readonly string[];
  }[];
}

export type FacetIdReason =
  | "facet_android_hash_invalid"
  | "facet_android_sha256_hash_invalid"
  | "facet_ios_bundle_id_invalid"
  | "facet_origin_invalid"
  | "facet_scheme_unknown";

const ANDROID_SHA1 = "android:apk-key-hash:";
const ANDROID_SHA256 = "android:apk-key-hash-sha256:";
const IOS = "ios:bundle-id:";

/** Unpadded standard base64 of `bytes` bytes, with zero unused bits (one spelling per hash). */
function isUnpaddedBase64(text: string, bytes: number): boolean {
  const length = Math.ceil((bytes * 4) / 3);
  if (text.length !== length || !/^[A-Za-z0-9+/]+$/.test(text)) return false;
  const decoded = atob(text + "=".repeat((4 - (length % 4)) % 4));
  return decoded.length === bytes && btoa(decoded).replace(/=+$/, "") === text;
}

/** `id` if it is a facet ID this server can list, else the precise reason. */
export function checkFacetId(id: string): Result<string, FacetIdReason> {
  if (id.startsWith(ANDROID_SHA256)) {
    return isUnpaddedBase64(id.slice(ANDROID_SHA256.length), 32)
      ? ok(id)
      : fail("facet_android_sha256_hash_invalid", { id, expected: "43 characters of unpadded base64 (SHA-256)" });
  }
  if (id.startsWith(ANDROID_SHA1)) {
    return isUnpaddedBase64(id.slice(ANDROID_SHA1.length), 20)
      ? ok(id)
      : fail("facet_android_hash_invalid", { id, expected: "27 characters of unpadded base64 (SHA-1)" });
  }
  if (id.startsWith(IOS)) {
    const bundleId = id.slice(IOS.length);
    return bundleId.length <= 255 && /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(bundleId)
      ? ok(id)
      : fail("facet_ios_bundle_id_invalid", { id, expected: "a reverse-DNS bundle ID such as com.example.app" });
  }
  if (id.startsWith("https://")) {
    let origin: string | null = null;
    try {
      origin = new URL(id).origin;
    } catch {
      // not a URL
    }
    return origin === id
      ? ok(id)
      : fail("facet_origin_invalid", { id, expected: "https://host[:port] with no path or trailing slash" });
  }
  return fail("facet_scheme_unknown", { id });
}

/** The trusted facets document for `ids` (UAF 1.1; `ids` are listed as given, duplicates dropped). */
export function trustedFacets(ids: readonly string[]): TrustedFacetsDocument {
  return { trustedFacets: [{ version: { major: 1, minor: 1 }, ids: [...new Set(ids)] }] };
}
