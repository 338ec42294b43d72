/**
 * RFC 9449 §4.3 (9): `htu` is compared to the request URL without query and fragment,
 * scheme and host case-insensitively, default ports normalized. WHATWG URL parsing does the
 * normalization (lower-cased scheme and host, default port dropped).
 */

/** The comparable form of a URL, or null when it is not an absolute http(s) URL. */
export function normalizeHtu(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username || url.password) return null;
  return `${url.protocol}//${url.host}${url.pathname}`;
}
