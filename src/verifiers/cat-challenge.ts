/**
 * CAT challenges (HAAPI draft §2: `GET {cat}?client_id=` answers a challenge that the attestation
 * must cover). Stateless: the challenge carries its client, a random id and its expiry under an HMAC,
 * so a GET stores nothing and anyone fetching challenges cannot fill storage. Single use is enforced
 * when a challenge is answered: the route records its id in the replay store (atomic).
 *
 * Format (opaque to clients): `c1.<b64url client_id>.<b64url 16 random bytes>.<expiry epoch s>.<b64url HMAC-SHA-256>`.
 * Pure: the random bytes and `now` come from the caller.
 */
import { base64url } from "jose";
import { fail, ok, type Result } from "./result";
import { bufferSource } from "../bytes";
import { sha256 } from "../hash";

export type ChallengeFailure = "malformed" | "bad_mac" | "expired";

export interface CatChallenge {
  readonly clientId: string;
  /** The random part, base64url: the single-use identifier. */
  readonly id: string;
  readonly expiresAt: number;
}

const encoder = new TextEncoder();
const VERSION = "c1";
const SHAPE = /^c1\.([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{22})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/;

const macInput = (clientPart: string, id: string, expiresAt: number) =>
  encoder.encode(`haapi-edge cat challenge\u0000${VERSION}.${clientPart}.${id}.${expiresAt}`);

/** A new challenge for `clientId`, valid until `expiresAt` (epoch seconds). `random` must be 16 fresh random bytes. */
export async function issueCatChallenge(
  key: CryptoKey,
  clientId: string,
  random: Uint8Array,
  expiresAt: number,
): Promise<string> {
  if (random.length !== 16) throw new TypeError("a CAT challenge needs 16 random bytes");
  const clientPart = base64url.encode(clientId);
  const id = base64url.encode(random);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, macInput(clientPart, id, expiresAt)));
  return `${VERSION}.${clientPart}.${id}.${expiresAt}.${base64url.encode(mac)}`;
}

/** Check a challenge's form, MAC and expiry; it says nothing about whether it was already used. */
export async function readCatChallenge(
  key: CryptoKey,
  challenge: string,
  now: number,
): Promise<Result<CatChallenge, ChallengeFailure>> {
  const match = SHAPE.exec(challenge);
  if (!match) return fail("malformed");
  const [, clientPart, id, expiry, macPart] = match as unknown as [string, string, string, string, string];
  let clientId: string;
  let mac: Uint8Array;
  try {
    clientId = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(base64url.decode(clientPart));
    mac = base64url.decode(macPart);
  } catch {
    return fail("malformed");
  }
  const expiresAt = Number(expiry);
  // crypto.subtle.verify compares in constant time.
  if (!(await crypto.subtle.verify("HMAC", key, bufferSource(mac), bufferSource(macInput(clientPart, id, expiresAt)))))
    return fail("bad_mac");
  if (now >= expiresAt) return fail("expired", { expired_at: expiresAt, now });
  return ok({ clientId, id, expiresAt });
}

/**
 * The attested bytes: SHA-256(UTF-8(challenge + "." + jkt)). Android's `attestationChallenge` and
 * iOS's `clientDataHash`; binding the hardware attestation to the DPoP key that signs every later request.
 */
export function attestedBytes(challenge: string, jkt: string): Promise<Uint8Array> {
  return sha256(`${challenge}.${jkt}`);
}
