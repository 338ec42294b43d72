/**
 * base64url (RFC 4648 §5) as UAF clients send it: the URL-safe alphabet only, with or without
 * correct `=` padding (Android's Base64.URL_SAFE keeps the padding; most clients drop it; the eBay
 * DER vector's fcParams ends in "=="). Anything else (standard-alphabet `+` `/`, whitespace, a
 * dangling character, padding in the middle) is refused, so one wire value has one meaning.
 *
 * Decoding returns null instead of throwing: callers turn that into their own precise reason.
 */
import { base64url } from "jose";

const SHAPE = /^[A-Za-z0-9_-]*(?:={1,2})?$/;

/** Bytes of `text`, or null when it is not base64url (padded or not). */
export function decodeBase64url(text: string): Uint8Array | null {
  if (typeof text !== "string" || !SHAPE.test(text)) return null;
  const unpadded = text.replace(/=+$/, "");
  const padding = text.length - unpadded.length;
  if (unpadded.length % 4 === 1) return null; // no byte ends after 6 bits
  if (padding > 0 && (unpadded.length + padding) % 4 !== 0) return null; // wrong amount of padding
  const binary = atob(unpadded.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (unpadded.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** base64url without padding (how this server writes key ids and keys). */
export function encodeBase64url(bytes: Uint8Array): string {
  return base64url.encode(bytes);
}
