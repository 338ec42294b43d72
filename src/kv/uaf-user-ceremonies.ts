/**
 * The two operations of the UAF user kind (./uaf-user.ts) that answer a challenge, each in one atomic
 * step: a registration checks its challenge, the AAID+KeyID pair and the one-authenticator-per-type
 * rule, creates the device with its first authenticator, and stores all of it, or nothing; an
 * authentication spends its challenge and moves the sign counter forward. A challenge is spent once
 * (isSpent, spending), whichever of the two answers it.
 */
import type { Step } from "./record";
import {
  type DeviceInformation,
  emptyUser,
  type NewUafAuthenticator,
  type Outcome,
  type UafAuthenticatorRecord,
  type UafUserRecord,
  type UafUserState,
} from "./uaf-user-record";

export type RegisterRefusal =
  | "challenge_spent"
  | "key_already_registered"
  | "authenticator_type_already_registered"
  | "device_information_required"
  | "device_name_taken";
export type AuthenticateRefusal = "challenge_spent" | "unknown_key" | "counter_regressed";

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

/**
 * Register `authenticators` on `deviceId`, answering `challenge`. The device is created with its first
 * authenticator from `device` (required then), and `device` is ignored when the device exists.
 */
export function register(
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
): Step<UafUserState, Outcome<UafUserRecord, RegisterRefusal>> {
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
}

/**
 * Record an authentication: spend the challenge and move the sign counter. A counter that does not
 * increase (both non-zero) is refused unless `allowCounterRegression` (then it is still stored as is).
 */
export function authenticate(
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
): Step<UafUserState, Outcome<UafAuthenticatorRecord, AuthenticateRefusal>> {
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
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}
