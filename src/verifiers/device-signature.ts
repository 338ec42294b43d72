/**
 * The `Device-Signature` header of the UAF device service (the Nevis SDK's JwsAuthorizationProvider):
 * a compact JWS, ES256, signed by the device's registered signature key (its DeviceInformation /
 * dispatch target). The payload names the device (`dispatchTargetId`) and the user, and is fresh
 * (`iat` within `maxAge`, optional `exp`) and single use (`jti`, recorded by the caller).
 *
 * Pure: the key and `now` are passed in.
 */
import { decodeJwt, importJWK, jwtVerify, type JWK } from "jose";
import { fail, ok, type Result } from "./result";

export type DeviceSignatureFailure =
  | "device_signature_malformed"
  | "device_signature_invalid"
  | "device_signature_stale"
  | "device_signature_wrong_device"
  | "device_signature_wrong_user";

export interface DeviceSignatureClaims {
  readonly deviceId: string;
  readonly username: string;
  readonly jti: string;
  /** When the jti may be forgotten (epoch seconds). */
  readonly expiresAt: number;
}

/** Who the JWS says it is, before verifying it (to find the key). Null when it is not a JWS with those members. */
export function deviceSignatureSubject(jws: string): { deviceId: string; username: string } | null {
  try {
    const payload = decodeJwt(jws);
    const deviceId = payload.dispatchTargetId;
    const username = payload.username ?? payload.sub;
    if (typeof deviceId !== "string" || typeof username !== "string" || deviceId.length > 200 || username.length > 100)
      return null;
    return { deviceId, username };
  } catch {
    return null;
  }
}

export async function verifyDeviceSignature(
  jws: string,
  key: JWK,
  expected: {
    readonly deviceId: string;
    readonly username: string;
    readonly maxAge: number;
    readonly clockSkew: number;
  },
  now: number,
): Promise<Result<DeviceSignatureClaims, DeviceSignatureFailure>> {
  let payload: Record<string, unknown>;
  try {
    const publicKey = await importJWK({ kty: key.kty, crv: key.crv, x: key.x, y: key.y }, "ES256");
    ({ payload } = await jwtVerify(jws, publicKey, {
      algorithms: ["ES256"],
      currentDate: new Date(now * 1000),
      clockTolerance: expected.clockSkew,
      maxTokenAge: expected.maxAge,
      requiredClaims: ["iat", "jti"],
    }));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (
      code === "ERR_JWT_EXPIRED" ||
      (code === "ERR_JWT_CLAIM_VALIDATION_FAILED" && (error as { claim?: string }).claim === "iat")
    )
      return fail("device_signature_stale");
    if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") return fail("device_signature_invalid");
    return fail("device_signature_malformed", { code });
  }
  if (payload.dispatchTargetId !== expected.deviceId) return fail("device_signature_wrong_device");
  const username = payload.username ?? payload.sub;
  if (typeof username !== "string" || username.toLowerCase() !== expected.username.toLowerCase())
    return fail("device_signature_wrong_user");
  if (typeof payload.jti !== "string" || payload.jti.length > 200) return fail("device_signature_malformed");
  const iat = payload.iat as number;
  return ok({
    deviceId: expected.deviceId,
    username,
    jti: payload.jti,
    expiresAt: Math.max(iat + expected.maxAge, typeof payload.exp === "number" ? payload.exp : 0) + expected.clockSkew,
  });
}

export type DeviceKeyFailure = "signature_key_unusable" | "encryption_key_unusable";

/**
 * The keys a device registers with its DeviceInformation, checked once when they arrive: the
 * signature key must verify ES256 (Device-Signature), the encryption key must take ECDH-ES+A256KW (EC)
 * or RSA-OAEP-256 (RSA) push payloads. A key that fails later would lock the device out for good.
 */
export async function checkDeviceKeys(keys: {
  readonly signatureKey?: JWK | undefined;
  readonly encryptionKey?: JWK | undefined;
}): Promise<Result<true, DeviceKeyFailure>> {
  if (keys.signatureKey) {
    try {
      await importJWK(
        { kty: keys.signatureKey.kty, crv: keys.signatureKey.crv, x: keys.signatureKey.x, y: keys.signatureKey.y },
        "ES256",
      );
    } catch {
      return fail("signature_key_unusable");
    }
  }
  if (keys.encryptionKey) {
    try {
      await importJWK(keys.encryptionKey, encryptionAlgorithmOf(keys.encryptionKey));
    } catch {
      return fail("encryption_key_unusable");
    }
  }
  return ok(true);
}

/** The JWE key management algorithm for a device's encryption key. */
export function encryptionAlgorithmOf(key: JWK): "RSA-OAEP-256" | "ECDH-ES+A256KW" {
  return key.kty === "RSA" ? "RSA-OAEP-256" : "ECDH-ES+A256KW";
}
