/**
 * RFC 9449 §4.3 (9): `htu` is compared to the request URL without query and fragment, after
 * RFC 3986 §6.2.2 normalization. WHATWG URL parsing lower-cases scheme and host, drops default
 * ports and resolves dot segments; percent-encoding is normalized here (§6.2.2.1-2): encoded
 * unreserved characters are decoded, other escapes get upper-case hex.
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function normalizePercentEncoding(path: string): string {
  return path.replace(/%[0-9a-fA-F]{2}/g, (encoded) => {
    const char = String.fromCharCode(parseInt(encoded.slice(1), 16));
    return UNRESERVED.test(char) ? char : encoded.toUpperCase();
  });
}

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
  return `${url.protocol}//${url.host}${normalizePercentEncoding(url.pathname)}`;
}
