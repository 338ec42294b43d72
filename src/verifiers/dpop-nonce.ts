/**
 * Stateless DPoP nonces (RFC 9449 §8): base64url(HMAC-SHA-256(key, "dpop-nonce:" + step))[0..16 bytes],
 * where step = floor(now / stepSeconds). Every isolate in every region derives the same value, so a
 * nonce issued by one instance is accepted by all of them. A nonce is valid during its own step and
 * the next one: between one and two steps of life.
 *
 * Pure: `now` (epoch seconds) and the key are arguments.
 */
import { base64url } from "jose";
import { constantTimeEqual } from "./constant-time";

const encoder = new TextEncoder();
const NONCE_BYTES = 16;

export function nonceStep(now: number, stepSeconds: number): number {
  return Math.floor(now / stepSeconds);
}

/** The nonce of one time step. */
export async function dpopNonceForStep(key: CryptoKey, step: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`dpop-nonce:${step}`));
  return base64url.encode(new Uint8Array(mac, 0, NONCE_BYTES));
}

/** Whether `nonce` is the nonce of the current or the previous step. */
export async function isDpopNonceValid(
  nonce: string,
  key: CryptoKey,
  now: number,
  stepSeconds: number,
): Promise<boolean> {
  if (nonce.length !== 22) return false;
  const step = nonceStep(now, stepSeconds);
  for (const candidate of [step, step - 1]) {
    if (constantTimeEqual(nonce, await dpopNonceForStep(key, candidate))) return true;
  }
  return false;
}
