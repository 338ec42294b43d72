/**
 * SHA-256, the one digest the server computes: of bytes, or of a string's UTF-8 encoding (for ASCII
 * input, such as tokens and PKCE verifiers, the same bytes as the specifications' ASCII()).
 */
import { base64url } from "jose";
import { bufferSource } from "./bytes";

const encoder = new TextEncoder();

export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? encoder.encode(data) : bufferSource(data);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * base64url without padding of SHA-256: DPoP's `ath` (RFC 9449 §4.2), PKCE's S256 (RFC 7636 §4.2),
 * `x5t#S256` (RFC 8705 §3.1), and the hashes this server stores instead of tokens.
 */
export async function sha256Base64url(data: Uint8Array | string): Promise<string> {
  return base64url.encode(await sha256(data));
}
