/**
 * iOS App Attest assertions (generateAssertion), checked with the key stored at attestation
 * (./app-attest.ts), as Apple's "Validating apps that connect to your server" describes (its
 * "Verify the assertion" steps).
 *
 * Pure: no clock, no I/O. The caller owns, and this function does NOT check: the challenge behind
 * clientDataHash (issued, and spent once), and storing the returned counter atomically
 * (compare-and-set against `previousCounter`).
 *
 * Bad input is a returned reason ("malformed" for truncated or garbage bytes), never an exception.
 * A caller's mistake (clientDataHash not bytes, an unusable stored key) is a TypeError.
 */
import { bufferSource, concatBytes, toHex } from "../bytes";
import { sha256 } from "../hash";
import { ecdsaDerToRaw } from "../x509/signature";
import { bytesAt, decodeCbor, matchAppId, requireBytes } from "./app-attest-encoding";
import { fail, ok, type Result } from "./result";

export type AppAttestAssertionFailure = "malformed" | "bad_signature" | "app_id_mismatch" | "counter_not_increasing";

export interface AppAttestAssertionPolicy {
  readonly appIds: readonly string[];
}

export interface AppAttestAssertionDeps {
  /** The key stored at attestation (its JWK, or an imported ECDSA P-256 verify key). */
  readonly publicKey: JsonWebKey | CryptoKey;
  /** The counter stored with the key (0 right after attestation). */
  readonly previousCounter: number;
}

async function importVerifyKey(key: JsonWebKey | CryptoKey): Promise<CryptoKey> {
  if (key instanceof CryptoKey) return key;
  if (key.kty !== "EC" || key.crv !== "P-256" || typeof key.x !== "string" || typeof key.y !== "string") {
    throw new TypeError("publicKey must be an EC P-256 JWK");
  }
  try {
    return await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: key.x, y: key.y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
  } catch (error) {
    throw new TypeError(`publicKey is not a usable P-256 key: ${(error as Error).message}`);
  }
}

/**
 * Verify an App Attest assertion with the key stored at attestation: signature, App ID, counter.
 * The device signs nonce = SHA-256(authenticatorData || clientDataHash) with ECDSA P-256 / SHA-256,
 * so the nonce is hashed once more inside the signature (as in all of the public vectors).
 * On success, store the returned counter (compare-and-set against `previousCounter`).
 */
export async function verifyAppAttestAssertion(
  assertion: Uint8Array,
  input: { readonly clientDataHash: Uint8Array },
  policy: AppAttestAssertionPolicy,
  deps: AppAttestAssertionDeps,
): Promise<Result<{ counter: number; appId: string }, AppAttestAssertionFailure>> {
  requireBytes(input.clientDataHash, "clientDataHash");
  if (!Number.isSafeInteger(deps.previousCounter) || deps.previousCounter < 0)
    throw new TypeError("previousCounter must be a non-negative integer");
  if (!(assertion instanceof Uint8Array)) return fail("malformed", { field: "assertion" });

  // { signature: DER ECDSA, authenticatorData: rpIdHash 32 | flags 1 | counter 4 }
  const object = decodeCbor(assertion);
  if (!(object instanceof Map)) return fail("malformed", { field: "assertion" });
  const signature = bytesAt(object, "signature");
  const authData = bytesAt(object, "authenticatorData");
  if (!signature) return fail("malformed", { field: "signature" });
  if (!authData || authData.length < 37) return fail("malformed", { field: "authenticatorData" });
  const raw = ecdsaDerToRaw(signature, 32);
  if (!raw) return fail("malformed", { field: "signature" });

  // 1-3. The signature over the nonce verifies with the stored key.
  const key = await importVerifyKey(deps.publicKey);
  const nonce = await sha256(concatBytes(authData, input.clientDataHash));
  if (!(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, bufferSource(raw), bufferSource(nonce))))
    return fail("bad_signature");

  // 4. rpIdHash is SHA-256 of an accepted App ID.
  const appId = await matchAppId(authData.subarray(0, 32), policy.appIds);
  if (!appId) return fail("app_id_mismatch", { rpIdHash: toHex(authData.subarray(0, 32)), appIds: [...policy.appIds] });

  // 5. The counter only goes up (a replayed or cloned assertion repeats an old one).
  const counter = new DataView(authData.buffer, authData.byteOffset, authData.byteLength).getUint32(33);
  if (counter <= deps.previousCounter)
    return fail("counter_not_increasing", { counter, previousCounter: deps.previousCounter });
  return ok({ counter, appId });
}
