/**
 * A UAF user's record (./uaf-user.ts): the user, the authenticators registered to it and the devices they
 * live on (the Nevis SDK's DeviceInformation), and the challenges it already answered. Types only, and the
 * empty user; the transitions are the kind's.
 */
import type { JWK } from "jose";
import type { StoredUafPublicKey } from "../uaf/algorithms";

/** UAF public key encoding (0x100 ECC X9.62 raw, 0x101 SPKI DER, ...) and the PUB_KEY bytes (base64url). */
export type UafPublicKey = StoredUafPublicKey;

export interface UafAuthenticatorRecord {
  readonly aaid: string;
  readonly keyId: string;
  readonly publicKey: UafPublicKey;
  readonly signAlg: number;
  readonly signCounter: number;
  readonly authenticatorVersion: number;
  readonly attestation: "basic_full" | "basic_surrogate";
  readonly deviceId: string;
  readonly registered_at: number;
  readonly last_used_at: number | null;
}

/** DeviceInformation (the SDK's dispatch target): one per device and user. */
export interface UafDeviceRecord {
  readonly deviceId: string;
  readonly name: string;
  readonly fcmRegistrationToken?: string;
  /** The device's public key for `Device-Signature` JWS (EC P-256). */
  readonly signatureKey?: JWK;
  readonly encryptionKey?: JWK;
  readonly created_at: number;
  readonly updated_at: number;
}

export type DeviceInformation = Pick<
  UafDeviceRecord,
  "name" | "fcmRegistrationToken" | "signatureKey" | "encryptionKey"
>;

export interface UafUserRecord {
  readonly userId: string;
  readonly username: string;
  readonly created_at: number;
  readonly updated_at: number;
  readonly authenticators: readonly UafAuthenticatorRecord[];
  readonly devices: readonly UafDeviceRecord[];
}

export type NewUafAuthenticator = Omit<UafAuthenticatorRecord, "deviceId" | "registered_at" | "last_used_at">;

/** A store's answer. (Not verifiers/result.ts's Result: its optional `detail` does not narrow across the RPC boundary.) */
export type Outcome<T, R extends string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: R };

/** A challenge already answered, remembered until it could no longer be answered anyway. */
interface SpentChallenge {
  readonly challenge: string;
  readonly expires_at: number;
}

/** What the record holds: the user, and the challenges answered (pruned at every write). */
export interface UafUserState {
  readonly user: UafUserRecord;
  readonly spent: readonly SpentChallenge[];
}

/** A user before its first registration. */
export function emptyUser(userId: string, username: string, now: number): UafUserRecord {
  return { userId, username, created_at: now, updated_at: now, authenticators: [], devices: [] };
}
