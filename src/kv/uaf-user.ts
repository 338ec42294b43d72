/**
 * UAF users: one record per FIDO UAF user, named by the lower-cased username. Its id (hex) is the user's
 * `userId` in the Authentication Cloud API. It holds the user's registered authenticators, the devices
 * they live on (the Nevis SDK's DeviceInformation), and the challenges already answered
 * (./uaf-user-record.ts).
 *
 * Every change is one operation, so it is atomic. The two that answer a challenge, registration and
 * authentication, are in ./uaf-user-ceremonies.ts; here are the rest: reading, the enrollment, and the
 * device's management. Removing a device's last authenticator removes the device.
 */
import type { JWK } from "jose";
import { recordKind, type Step } from "./record";
import { authenticate, register } from "./uaf-user-ceremonies";
import {
  emptyUser,
  type Outcome,
  type UafAuthenticatorRecord,
  type UafDeviceRecord,
  type UafUserRecord,
  type UafUserState,
} from "./uaf-user-record";

export type { AuthenticateRefusal, RegisterRefusal } from "./uaf-user-ceremonies";
export type {
  DeviceInformation,
  NewUafAuthenticator,
  Outcome,
  UafAuthenticatorRecord,
  UafDeviceRecord,
  UafPublicKey,
  UafUserRecord,
  UafUserState,
} from "./uaf-user-record";

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

    /** Register authenticators on a device, answering a registration challenge (./uaf-user-ceremonies.ts). */
    register,

    /** Record an authentication: spend its challenge, move the sign counter (./uaf-user-ceremonies.ts). */
    authenticate,

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

/** The name of a UAF user's record: the lower-cased username. Its id is the user's `userId`. */
export function uafUserName(username: string): string {
  return username.toLowerCase();
}
