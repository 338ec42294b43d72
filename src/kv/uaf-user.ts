/**
 * UAF users: one record per FIDO UAF user, named by the lower-cased username. Its id (hex) is the user's
 * `userId` in the Authentication Cloud API. It holds the user's registered authenticators, the devices
 * they live on (the Nevis SDK's DeviceInformation), and the challenges already answered.
 *
 * Every change is one operation, so it is atomic: a registration checks its challenge, the AAID+KeyID pair
 * and the one-authenticator-per-type rule, creates the device with its first authenticator, and stores
 * all of it, or nothing. An authentication spends its challenge and moves the sign counter forward in
 * the same call. Removing a device's last authenticator removes the device.
 */
import type { JWK } from "jose";
import type { StoredUafPublicKey } from "../uaf/algorithms";
import { recordKind, type Step } from "./record";

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

export type RegisterRefusal =
  | "challenge_spent"
  | "key_already_registered"
  | "authenticator_type_already_registered"
  | "device_information_required"
  | "device_name_taken";
export type AuthenticateRefusal = "challenge_spent" | "unknown_key" | "counter_regressed";

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

function isSpent(state: UafUserState | null, challenge: string, now: number): boolean {
  return state?.spent.some((spent) => spent.challenge === challenge && spent.expires_at > now) ?? false;
}

/** The state with `user`, the challenge spent until `expiresAt`, and spent challenges that expired dropped. */
function spending(
  state: UafUserState | null,
  user: UafUserRecord,
  challenge: string,
  expiresAt: number,
  now: number,
): UafUserState {
  return {
    user,
    spent: [...(state?.spent ?? []).filter((spent) => spent.expires_at > now), { challenge, expires_at: expiresAt }],
  };
}

function emptyUser(userId: string, username: string, now: number): UafUserRecord {
  return { userId, username, created_at: now, updated_at: now, authenticators: [], devices: [] };
}

export const uafUserKind = recordKind({
  name: "uaf-user",
  expiresAt: (_record: UafUserState) => Infinity,
  operations: {
    /** The user, or null before the first contact. */
    read: (current: UafUserState | null): Step<UafUserState, UafUserRecord | null> => ({
      outcome: current?.user ?? null,
    }),

    /** The user, created (without authenticators) when absent: the enrollment of the Authentication Cloud API. */
    ensure: (
      current: UafUserState | null,
      input: { readonly userId: string; readonly username: string },
      now: number,
    ): Step<UafUserState, UafUserRecord> => {
      if (current) return { outcome: current.user };
      const user = emptyUser(input.userId, input.username, now);
      return { next: { user, spent: [] }, outcome: user };
    },

    /**
     * Register `authenticators` on `deviceId`, answering `challenge`. The device is created with its first
     * authenticator from `device` (required then), and `device` is ignored when the device exists.
     */
    register: (
      current: UafUserState | null,
      input: {
        readonly userId: string;
        readonly username: string;
        readonly challenge: string;
        readonly challengeExpiresAt: number;
        readonly deviceId: string;
        readonly device: DeviceInformation | null;
        readonly authenticators: readonly NewUafAuthenticator[];
      },
      now: number,
    ): Step<UafUserState, Outcome<UafUserRecord, RegisterRefusal>> => {
      const user = current?.user ?? emptyUser(input.userId, input.username, now);
      if (isSpent(current, input.challenge, now)) return { outcome: { ok: false, reason: "challenge_spent" } };
      const existingDevice = user.devices.find((device) => device.deviceId === input.deviceId);
      if (!existingDevice && !input.device) return { outcome: { ok: false, reason: "device_information_required" } };
      if (!existingDevice && user.devices.some((device) => device.name === input.device!.name))
        return { outcome: { ok: false, reason: "device_name_taken" } };
      const onDevice = user.authenticators.filter((authenticator) => authenticator.deviceId === input.deviceId);
      for (const [i, candidate] of input.authenticators.entries()) {
        const earlier = input.authenticators.slice(0, i);
        if (
          user.authenticators.some((stored) => stored.aaid === candidate.aaid && stored.keyId === candidate.keyId) ||
          earlier.some((other) => other.aaid === candidate.aaid && other.keyId === candidate.keyId)
        ) {
          return { outcome: { ok: false, reason: "key_already_registered" } };
        }
        // The Nevis SDK registers one authenticator of each type per user and device.
        if (
          onDevice.some((stored) => stored.aaid === candidate.aaid) ||
          earlier.some((other) => other.aaid === candidate.aaid)
        ) {
          return { outcome: { ok: false, reason: "authenticator_type_already_registered" } };
        }
      }
      const devices = existingDevice
        ? user.devices
        : [
            ...user.devices,
            { deviceId: input.deviceId, ...withoutUndefined(input.device!), created_at: now, updated_at: now },
          ];
      const updated: UafUserRecord = {
        ...user,
        updated_at: now,
        devices,
        authenticators: [
          ...user.authenticators,
          ...input.authenticators.map((authenticator) => ({
            ...authenticator,
            deviceId: input.deviceId,
            registered_at: now,
            last_used_at: null,
          })),
        ],
      };
      return {
        next: spending(current, updated, input.challenge, input.challengeExpiresAt, now),
        outcome: { ok: true, value: updated },
      };
    },

    /**
     * Record an authentication: spend the challenge and move the sign counter. A counter that does not
     * increase (both non-zero) is refused unless `allowCounterRegression` (then it is still stored as is).
     */
    authenticate: (
      current: UafUserState | null,
      input: {
        readonly challenge: string;
        readonly challengeExpiresAt: number;
        readonly aaid: string;
        readonly keyId: string;
        readonly signCounter: number;
        readonly allowCounterRegression: boolean;
      },
      now: number,
    ): Step<UafUserState, Outcome<UafAuthenticatorRecord, AuthenticateRefusal>> => {
      const user = current?.user;
      const index =
        user?.authenticators.findIndex((stored) => stored.aaid === input.aaid && stored.keyId === input.keyId) ?? -1;
      if (!user || index < 0) return { outcome: { ok: false, reason: "unknown_key" } };
      if (isSpent(current, input.challenge, now)) return { outcome: { ok: false, reason: "challenge_spent" } };
      const stored = user.authenticators[index]!;
      const regressed = input.signCounter !== 0 && stored.signCounter !== 0 && input.signCounter <= stored.signCounter;
      if (regressed && !input.allowCounterRegression) return { outcome: { ok: false, reason: "counter_regressed" } };
      const updatedAuthenticator = {
        ...stored,
        signCounter: Math.max(stored.signCounter, input.signCounter),
        last_used_at: now,
      };
      const authenticators = user.authenticators.map((authenticator, i) =>
        i === index ? updatedAuthenticator : authenticator,
      );
      return {
        next: spending(
          current,
          { ...user, authenticators, updated_at: now },
          input.challenge,
          input.challengeExpiresAt,
          now,
        ),
        outcome: { ok: true, value: updatedAuthenticator },
      };
    },

    /**
     * Remove the authenticators matching the filter (all of the user's without one), then every device
     * left without an authenticator. Returns the removed authenticators.
     */
    deregister: (
      current: UafUserState | null,
      filter: { readonly aaid?: string; readonly keyId?: string; readonly deviceId?: string },
      now: number,
    ): Step<UafUserState, readonly UafAuthenticatorRecord[]> => {
      const user = current?.user;
      if (!current || !user) return { outcome: [] };
      const matches = (authenticator: UafAuthenticatorRecord) =>
        (filter.aaid === undefined || authenticator.aaid === filter.aaid) &&
        (filter.keyId === undefined || authenticator.keyId === filter.keyId) &&
        (filter.deviceId === undefined || authenticator.deviceId === filter.deviceId);
      const removed = user.authenticators.filter(matches);
      if (removed.length === 0) return { outcome: [] };
      const authenticators = user.authenticators.filter((authenticator) => !matches(authenticator));
      const devices = user.devices.filter((device) =>
        authenticators.some((authenticator) => authenticator.deviceId === device.deviceId),
      );
      return { next: { ...current, user: { ...user, authenticators, devices, updated_at: now } }, outcome: removed };
    },

    /** Change a device's name, FCM registration token (null removes it) or encryption key ("change device information"). */
    changeDevice: (
      current: UafUserState | null,
      input: {
        readonly deviceId: string;
        readonly change: {
          readonly name?: string;
          readonly fcmRegistrationToken?: string | null;
          readonly encryptionKey?: JWK;
        };
      },
      now: number,
    ): Step<
      UafUserState,
      Outcome<UafDeviceRecord & { readonly user: UafUserRecord }, "unknown_device" | "device_name_taken">
    > => {
      const { deviceId, change } = input;
      const user = current?.user;
      const device = user?.devices.find((candidate) => candidate.deviceId === deviceId);
      if (!current || !user || !device) return { outcome: { ok: false, reason: "unknown_device" } };
      if (
        change.name !== undefined &&
        user.devices.some((other) => other.deviceId !== deviceId && other.name === change.name)
      )
        return { outcome: { ok: false, reason: "device_name_taken" } };
      const { fcmRegistrationToken: _previous, ...rest } = device;
      const token =
        change.fcmRegistrationToken === undefined
          ? device.fcmRegistrationToken
          : (change.fcmRegistrationToken ?? undefined);
      const updated: UafDeviceRecord = {
        ...rest,
        ...(change.name !== undefined ? { name: change.name } : {}),
        ...(token !== undefined ? { fcmRegistrationToken: token } : {}),
        ...(change.encryptionKey ? { encryptionKey: change.encryptionKey } : {}),
        updated_at: now,
      };
      const changedUser = {
        ...user,
        devices: user.devices.map((candidate) => (candidate.deviceId === deviceId ? updated : candidate)),
        updated_at: now,
      };
      return {
        next: { ...current, user: changedUser },
        outcome: { ok: true, value: { ...updated, user: changedUser } },
      };
    },
  },
});

export type UafUserOperations = typeof uafUserKind.operations;

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/** The name of a UAF user's record: the lower-cased username. Its id is the user's `userId`. */
export function uafUserName(username: string): string {
  return username.toLowerCase();
}
