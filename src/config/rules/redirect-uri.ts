/**
 * Which redirect URIs a client may register: absolute, without a fragment (RFC 6749 §3.1.2), https,
 * http only on a loopback address, or a private-use scheme such as app://haapi (RFC 8252 §7.1); never
 * a scheme that runs or embeds content.
 */
import { LOOPBACK_HOSTS } from "../../protocol";

const REFUSED_SCHEMES = new Set(["javascript:", "data:", "file:", "blob:"]);

/** Why `value` is not an acceptable redirect URI, or null. */
export function redirectUriProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "not an absolute URI";
  }
  if (url.hash || value.includes("#")) return "has a fragment";
  if (REFUSED_SCHEMES.has(url.protocol)) return `scheme ${url.protocol} is not allowed`;
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname))
    return "http is only allowed on a loopback address";
  return null;
}
