/**
 * iOS App Attest attestation objects (DCAppAttestService.attestKey), checked step by step as Apple's
 * "Validating apps that connect to your server" describes (assertions: ./app-attest-assertion.ts):
 * https://developer.apple.com/documentation/devicecheck/validating-apps-that-connect-to-your-server
 *
 * Pure: no clock (`now` is passed in), no I/O. The caller owns, and these functions do NOT check:
 * - the challenge: the caller builds clientDataHash from its own single-use challenge (haapi-edge:
 *   SHA-256(UTF-8(challenge + "." + jkt))) and makes sure that challenge was issued and is spent once;
 * - the key record: after an attestation it stores keyId, publicKey and counter 0 (later assertions
 *   pass the stored counter);
 * - the receipt: returned as sent, not validated (it is only needed for Apple's fraud-metric service).
 *
 * Bad input is a returned reason ("malformed" for truncated or garbage bytes), never an exception.
 * A caller's mistake (keyId or clientDataHash not bytes) is a TypeError.
 */
import { base64url } from "jose";
import { concatBytes, toBase64, toHex } from "../bytes";
import { sha256 } from "../hash";
import { type ChainFailure, type TrustAnchor, verifyChain } from "../x509/chain";
import { contentOf, readChildren, readWhole } from "../x509/der";
import { type ParsedCertificate, parseCertificateChain } from "../x509/parse-certificate";
import { OID_EC_PUBLIC_KEY, OID_P256, spkiAlgorithm } from "../x509/signature";
import { bytesAt, decodeCbor, matchAppId, requireBytes } from "./app-attest-encoding";
import { equalBytes } from "./constant-time";
import { fail, ok, type Result } from "./result";

export type AppAttestFailure =
  | "malformed"
  | "format"
  | `chain_${ChainFailure}`
  | "nonce_mismatch"
  | "key_id_mismatch"
  | "app_id_mismatch"
  | "counter_not_zero"
  | "aaguid_not_allowed"
  | "credential_id_mismatch"
  | "public_key_mismatch";

export interface AppAttestPolicy {
  /** Accepted App IDs, "<teamId>.<bundleId>"; rpIdHash must be the SHA-256 of one of them. */
  readonly appIds: readonly string[];
  /**
   * "production" accepts only the production aaguid ("appattest" + 7 zero bytes); "non-production"
   * accepts only "appattestdevelop". Strict both ways: a server configured for development does not
   * take App Store/TestFlight keys, and a development key never reaches production.
   */
  readonly mode: "production" | "non-production";
}

export interface AppAttestDeps {
  /** Apple App Attestation Root CA (src/x509/roots/apple.ts), or test anchors. */
  readonly anchors: readonly TrustAnchor[];
}

export interface AttestedP256Jwk {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
}

export interface AppAttestation {
  readonly platform: "ios";
  readonly appId: string;
  readonly environment: "production" | "development";
  /** base64 (standard, padded: what DCAppAttestService hands the app) of SHA-256 of the key's point. */
  readonly keyId: string;
  /** The attested key, to verify later assertions. */
  readonly publicKey: AttestedP256Jwk;
  readonly counter: 0;
  /** base64 of the receipt (PKCS #7), not validated. */
  readonly receipt: string;
}

/** Apple's OID for the credCert extension holding the nonce. */
const OID_NONCE = "1.2.840.113635.100.8.2";
const AAGUID_DEVELOPMENT = new TextEncoder().encode("appattestdevelop");
const AAGUID_PRODUCTION = Uint8Array.from([...new TextEncoder().encode("appattest"), 0, 0, 0, 0, 0, 0, 0]);
/** authenticatorData flag: attested credential data present (WebAuthn §6.1). */
const FLAG_AT = 0x40;

interface AttestedAuthData {
  readonly rpIdHash: Uint8Array;
  readonly counter: number;
  readonly aaguid: Uint8Array;
  readonly credentialId: Uint8Array;
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

/**
 * rpIdHash 32 | flags 1 | counter 4 (big-endian) | aaguid 16 | credIdLen 2 | credentialId | COSE_Key,
 * then whatever follows the COSE key (iOS 27 appends an extension map, flags still 0x40): ignored.
 */
function parseAttestedAuthData(authData: Uint8Array): AttestedAuthData | null {
  if (authData.length < 55 || (authData[32]! & FLAG_AT) === 0) return null;
  const view = new DataView(authData.buffer, authData.byteOffset, authData.byteLength);
  const credentialIdLength = view.getUint16(53);
  const keyStart = 55 + credentialIdLength;
  if (keyStart >= authData.length) return null;
  const coseKey = decodeCbor(authData.subarray(keyStart));
  // COSE_Key EC2 (kty 2) on P-256 (crv 1), ES256 (alg -7) if stated; x (-2) and y (-3) 32 bytes each.
  if (!(coseKey instanceof Map) || coseKey.get(1) !== 2 || coseKey.get(-1) !== 1) return null;
  if (coseKey.has(3) && coseKey.get(3) !== -7) return null;
  const x = bytesAt(coseKey, -2);
  const y = bytesAt(coseKey, -3);
  if (x?.length !== 32 || y?.length !== 32) return null;
  return {
    rpIdHash: authData.subarray(0, 32),
    counter: view.getUint32(33),
    aaguid: authData.subarray(37, 53),
    credentialId: authData.subarray(55, keyStart),
    x,
    y,
  };
}

/** The 65-byte uncompressed point (04 || X || Y) of a P-256 SubjectPublicKeyInfo; null for any other key. */
function p256Point(spki: Uint8Array): Uint8Array | null {
  const algorithm = spkiAlgorithm(spki);
  if (algorithm?.algorithm !== OID_EC_PUBLIC_KEY || algorithm.curve !== OID_P256) return null;
  const top = readWhole(spki, 0x30);
  const bits = top ? readChildren(spki, top)?.[1] : undefined;
  if (bits?.tagByte !== 0x03) return null;
  const point = contentOf(spki, bits);
  // Leading octet 0 = no unused bits; then 04 = uncompressed.
  return point.length === 66 && point[0] === 0 && point[1] === 0x04 ? point.subarray(1) : null;
}

/** The nonce in credCert extension 1.2.840.113635.100.8.2: SEQUENCE { [1] EXPLICIT OCTET STRING (32) }. */
function certificateNonce(leaf: ParsedCertificate): Uint8Array | null {
  const value = leaf.extension(OID_NONCE)?.value;
  if (!value) return null;
  const sequence = readWhole(value, 0x30);
  const tagged = sequence && readChildren(value, sequence);
  if (tagged?.length !== 1 || tagged[0]!.tagByte !== 0xa1) return null;
  const octets = readChildren(value, tagged[0]!);
  if (octets?.length !== 1 || octets[0]!.tagByte !== 0x04) return null;
  const nonce = contentOf(value, octets[0]!);
  return nonce.length === 32 ? nonce : null;
}

/**
 * Verify an App Attest attestation object: Apple's nine steps, then that the COSE key in authData is
 * the credCert's key. On success the value holds what to store for later assertions.
 *
 * @example
 *   const anchors = importTrustAnchors([APPLE_APP_ATTESTATION_ROOT_CA_PEM]);
 *   const clientDataHash = await sha256(`${challenge}.${jkt}`);
 *   const result = await verifyAppAttestation(attestation, { keyId, clientDataHash },
 *     { appIds: ["ABCDE12345.com.example.app"], mode: "production" }, { anchors }, new Date());
 */
export async function verifyAppAttestation(
  attestationObject: Uint8Array,
  input: { readonly keyId: Uint8Array; readonly clientDataHash: Uint8Array },
  policy: AppAttestPolicy,
  deps: AppAttestDeps,
  now: Date,
): Promise<Result<AppAttestation, AppAttestFailure>> {
  requireBytes(input.keyId, "keyId");
  requireBytes(input.clientDataHash, "clientDataHash");
  if (!(attestationObject instanceof Uint8Array)) return fail("malformed", { field: "attestationObject" });

  // Structure: { fmt, attStmt: { x5c: [credCert, intermediate], receipt }, authData }.
  const object = decodeCbor(attestationObject);
  if (!(object instanceof Map)) return fail("malformed", { field: "attestationObject" });
  const fmt = object.get("fmt");
  if (typeof fmt !== "string") return fail("malformed", { field: "fmt" });
  if (fmt !== "apple-appattest") return fail("format", { fmt });
  const statement = object.get("attStmt");
  if (!(statement instanceof Map)) return fail("malformed", { field: "attStmt" });
  const x5c = statement.get("x5c");
  if (!Array.isArray(x5c) || x5c.length === 0 || x5c.length > 3 || !x5c.every((cert) => cert instanceof Uint8Array)) {
    return fail("malformed", { field: "x5c" });
  }
  const receipt = bytesAt(statement, "receipt");
  if (!receipt) return fail("malformed", { field: "receipt" });
  const authDataBytes = bytesAt(object, "authData");
  const authData = authDataBytes && parseAttestedAuthData(authDataBytes);
  if (!authDataBytes || !authData) return fail("malformed", { field: "authData" });
  const parsed = parseCertificateChain(x5c as Uint8Array[]);
  if (!parsed.ok) return fail("malformed", { field: "x5c", error: parsed.detail?.why });
  const chain = parsed.value;
  const credCert = chain[0]!;

  // 1. The chain ends at Apple's App Attestation root, every certificate valid at `now`.
  const verified = await verifyChain(chain, deps.anchors, { now });
  if (!verified.ok) return fail(`chain_${verified.reason}`, verified.detail);

  // 2-4. nonce = SHA-256(authData || clientDataHash) is the one in the credCert.
  const nonce = await sha256(concatBytes(authDataBytes, input.clientDataHash));
  const certNonce = certificateNonce(credCert);
  if (!certNonce) return fail("malformed", { field: "credCert nonce extension" });
  if (!equalBytes(nonce, certNonce))
    return fail("nonce_mismatch", { expected: toBase64(nonce), actual: toBase64(certNonce) });

  // 5. keyId is the SHA-256 of the credCert's public key point (65 bytes, not the SPKI).
  const point = p256Point(credCert.spki);
  if (!point) return fail("malformed", { field: "credCert public key" });
  const keyId = await sha256(point);
  if (!equalBytes(keyId, input.keyId))
    return fail("key_id_mismatch", { expected: toBase64(input.keyId), actual: toBase64(keyId) });

  // 6. rpIdHash is SHA-256 of an accepted App ID.
  const appId = await matchAppId(authData.rpIdHash, policy.appIds);
  if (!appId) return fail("app_id_mismatch", { rpIdHash: toHex(authData.rpIdHash), appIds: [...policy.appIds] });

  // 7. A new key has signed nothing yet.
  if (authData.counter !== 0) return fail("counter_not_zero", { counter: authData.counter });

  // 8. The aaguid names the App Attest environment; the policy decides which one is accepted.
  const environment = equalBytes(authData.aaguid, AAGUID_PRODUCTION)
    ? "production"
    : equalBytes(authData.aaguid, AAGUID_DEVELOPMENT)
      ? "development"
      : null;
  if (environment !== (policy.mode === "production" ? "production" : "development")) {
    return fail("aaguid_not_allowed", { aaguid: toHex(authData.aaguid), environment, mode: policy.mode });
  }

  // 9. credentialId is the keyId.
  if (!equalBytes(authData.credentialId, keyId)) {
    return fail("credential_id_mismatch", { expected: toBase64(keyId), actual: toBase64(authData.credentialId) });
  }

  // Not one of Apple's steps: the key in authData, which we hand out for assertions, is the certified one.
  if (!equalBytes(point.subarray(1, 33), authData.x) || !equalBytes(point.subarray(33), authData.y)) {
    return fail("public_key_mismatch", {
      certificate: toBase64(point),
      authData: toBase64(concatBytes(authData.x, authData.y)),
    });
  }

  return ok({
    platform: "ios",
    appId,
    environment,
    keyId: toBase64(keyId),
    publicKey: { kty: "EC", crv: "P-256", x: base64url.encode(authData.x), y: base64url.encode(authData.y) },
    counter: 0,
    receipt: toBase64(receipt),
  });
}
