/**
 * UafUser: one Durable Object per FIDO UAF user, named `uaf:<lower-cased username>`. Its id (hex) is the
 * user's `userId` in the Authentication Cloud API. It holds the user's registered authenticators, the
 * devices they live on (the Nevis SDK's DeviceInformation), and the challenges already answered.
 *
 * Every change is one call, so it is atomic: a registration checks its challenge, the AAID+KeyID pair
 * and the one-authenticator-per-type rule, creates the device with its first authenticator, and stores
 * all of it, or nothing. An authentication spends its challenge and moves the sign counter forward in
 * the same call. Removing a device's last authenticator removes the device.
 */
import { DurableObject } from "cloudflare:workers";
import type { JWK } from "jose";
import type { Env } from "../env";
import type { StoredUafPublicKey } from "../uaf/algorithms";
import { objectByHexId } from "./object-id";

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

export type DeviceInformation = Pick<UafDeviceRecord, "name" | "fcmRegistrationToken" | "signatureKey" | "encryptionKey">;

export interface UafUserRecord {
  readonly userId: string;
  readonly username: string;
  readonly created_at: number;
  readonly updated_at: number;
  readonly authenticators: readonly UafAuthenticatorRecord[];
  readonly devices: readonly UafDeviceRecord[];
}

export type NewUafAuthenticator = Omit<UafAuthenticatorRecord, "deviceId" | "registered_at" | "last_used_at">;

export type RegisterRefusal = "challenge_spent" | "key_already_registered" | "authenticator_type_already_registered" | "device_information_required" | "device_name_taken";
export type AuthenticateRefusal = "challenge_spent" | "unknown_key" | "counter_regressed";

/** A store's answer. (Not verifiers/result.ts's Result: its optional `detail` does not narrow across the RPC boundary.) */
type Outcome<T, R extends string> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: R };

const USER = "user";
const CHALLENGE = "challenge:";

export class UafUser extends DurableObject<Env> {
  private user(): UafUserRecord | undefined {
    return this.ctx.storage.kv.get<UafUserRecord>(USER);
  }

  /** The user, or null before the first contact. */
  async read(): Promise<UafUserRecord | null> {
    return this.user() ?? null;
  }

  /** The user, created (without authenticators) when absent: the enrollment of the Authentication Cloud API. */
  async ensure(username: string, now: number): Promise<UafUserRecord> {
    const existing = this.user();
    if (existing) return existing;
    const record: UafUserRecord = { userId: this.ctx.id.toString(), username, created_at: now, updated_at: now, authenticators: [], devices: [] };
    this.ctx.storage.kv.put(USER, record);
    return record;
  }

  /** Whether a challenge was answered already. Checked first, spent (`spend`) with the change it allows, in one call. */
  private spent(challenge: string): boolean {
    return this.ctx.storage.kv.get(`${CHALLENGE}${challenge}`) !== undefined;
  }

  /** Spend a challenge: single use until `expiresAt`, when the alarm forgets it. */
  private spend(challenge: string, expiresAt: number): void {
    this.ctx.storage.kv.put(`${CHALLENGE}${challenge}`, expiresAt);
  }

  private async scheduleCleanup(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at * 1000) await this.ctx.storage.setAlarm(at * 1000);
  }

  /**
   * Register `authenticators` on `deviceId`, answering `challenge`. The device is created with its first
   * authenticator from `device` (required then), and `device` is ignored when the device exists.
   */
  async register(
    input: { readonly username: string; readonly challenge: string; readonly challengeExpiresAt: number; readonly deviceId: string; readonly device: DeviceInformation | null; readonly authenticators: readonly NewUafAuthenticator[] },
    now: number,
  ): Promise<Outcome<UafUserRecord, RegisterRefusal>> {
    const user = this.user() ?? { userId: this.ctx.id.toString(), username: input.username, created_at: now, updated_at: now, authenticators: [], devices: [] };
    if (this.spent(input.challenge)) return { ok: false, reason: "challenge_spent" };
    const existingDevice = user.devices.find((device) => device.deviceId === input.deviceId);
    if (!existingDevice && !input.device) return { ok: false, reason: "device_information_required" };
    if (!existingDevice && user.devices.some((device) => device.name === input.device!.name)) return { ok: false, reason: "device_name_taken" };
    const onDevice = user.authenticators.filter((authenticator) => authenticator.deviceId === input.deviceId);
    for (const [i, candidate] of input.authenticators.entries()) {
      if (user.authenticators.some((stored) => stored.aaid === candidate.aaid && stored.keyId === candidate.keyId) || input.authenticators.slice(0, i).some((other) => other.aaid === candidate.aaid && other.keyId === candidate.keyId)) {
        return { ok: false, reason: "key_already_registered" };
      }
      // The Nevis SDK registers one authenticator of each type per user and device.
      if (onDevice.some((stored) => stored.aaid === candidate.aaid) || input.authenticators.slice(0, i).some((other) => other.aaid === candidate.aaid)) {
        return { ok: false, reason: "authenticator_type_already_registered" };
      }
    }
    const devices = existingDevice
      ? user.devices
      : [...user.devices, { deviceId: input.deviceId, ...withoutUndefined(input.device!), created_at: now, updated_at: now }];
    const updated: UafUserRecord = {
      ...user,
      updated_at: now,
      devices,
      authenticators: [...user.authenticators, ...input.authenticators.map((authenticator) => ({ ...authenticator, deviceId: input.deviceId, registered_at: now, last_used_at: null }))],
    };
    this.spend(input.challenge, input.challengeExpiresAt);
    this.ctx.storage.kv.put(USER, updated);
    await this.scheduleCleanup(input.challengeExpiresAt);
    return { ok: true, value: updated };
  }

  /**
   * Record an authentication: spend the challenge and move the sign counter. A counter that does not
   * increase (both non-zero) is refused unless `allowCounterRegression` (then it is still stored as is).
   */
  async authenticate(
    input: { readonly challenge: string; readonly challengeExpiresAt: number; readonly aaid: string; readonly keyId: string; readonly signCounter: number; readonly allowCounterRegression: boolean },
    now: number,
  ): Promise<Outcome<UafAuthenticatorRecord, AuthenticateRefusal>> {
    const user = this.user();
    const index = user?.authenticators.findIndex((stored) => stored.aaid === input.aaid && stored.keyId === input.keyId) ?? -1;
    if (!user || index < 0) return { ok: false, reason: "unknown_key" };
    if (this.spent(input.challenge)) return { ok: false, reason: "challenge_spent" };
    const stored = user.authenticators[index]!;
    const regressed = input.signCounter !== 0 && stored.signCounter !== 0 && input.signCounter <= stored.signCounter;
    if (regressed && !input.allowCounterRegression) return { ok: false, reason: "counter_regressed" };
    const updatedAuthenticator = { ...stored, signCounter: Math.max(stored.signCounter, input.signCounter), last_used_at: now };
    const authenticators = user.authenticators.map((authenticator, i) => (i === index ? updatedAuthenticator : authenticator));
    this.spend(input.challenge, input.challengeExpiresAt);
    this.ctx.storage.kv.put(USER, { ...user, authenticators, updated_at: now });
    await this.scheduleCleanup(input.challengeExpiresAt);
    return { ok: true, value: updatedAuthenticator };
  }

  /**
   * Remove the authenticators matching the filter (all of the user's without one), then every device
   * left without an authenticator. Returns the removed authenticators.
   */
  async deregister(filter: { readonly aaid?: string; readonly keyId?: string; readonly deviceId?: string }, now: number): Promise<readonly UafAuthenticatorRecord[]> {
    const user = this.user();
    if (!user) return [];
    const matches = (authenticator: UafAuthenticatorRecord) =>
      (filter.aaid === undefined || authenticator.aaid === filter.aaid) && (filter.keyId === undefined || authenticator.keyId === filter.keyId) && (filter.deviceId === undefined || authenticator.deviceId === filter.deviceId);
    const removed = user.authenticators.filter(matches);
    if (removed.length === 0) return [];
    const authenticators = user.authenticators.filter((authenticator) => !matches(authenticator));
    const devices = user.devices.filter((device) => authenticators.some((authenticator) => authenticator.deviceId === device.deviceId));
    this.ctx.storage.kv.put(USER, { ...user, authenticators, devices, updated_at: now });
    return removed;
  }

  /** Change a device's name or FCM registration token ("change device information"). */
  async changeDevice(deviceId: string, change: { readonly name?: string; readonly fcmRegistrationToken?: string | null; readonly encryptionKey?: JWK }, now: number): Promise<Outcome<UafDeviceRecord & { readonly user: UafUserRecord }, "unknown_device" | "device_name_taken">> {
    const user = this.user();
    const device = user?.devices.find((candidate) => candidate.deviceId === deviceId);
    if (!user || !device) return { ok: false, reason: "unknown_device" };
    if (change.name !== undefined && user.devices.some((other) => other.deviceId !== deviceId && other.name === change.name)) return { ok: false, reason: "device_name_taken" };
    const { fcmRegistrationToken: _previous, ...rest } = device;
    const token = change.fcmRegistrationToken === undefined ? device.fcmRegistrationToken : (change.fcmRegistrationToken ?? undefined);
    const updated: UafDeviceRecord = {
      ...rest,
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(token !== undefined ? { fcmRegistrationToken: token } : {}),
      ...(change.encryptionKey ? { encryptionKey: change.encryptionKey } : {}),
      updated_at: now,
    };
    const changedUser = { ...user, devices: user.devices.map((candidate) => (candidate.deviceId === deviceId ? updated : candidate)), updated_at: now };
    this.ctx.storage.kv.put(USER, changedUser);
    return { ok: true, value: { ...updated, user: changedUser } };
  }

  /** Forget spent challenges once they could no longer be answered anyway. */
  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    let next = Infinity;
    for (const [key, expiresAt] of this.ctx.storage.kv.list<number>({ prefix: CHALLENGE })) {
      if (expiresAt <= now) this.ctx.storage.kv.delete(key);
      else next = Math.min(next, expiresAt);
    }
    if (next !== Infinity) await this.ctx.storage.setAlarm(next * 1000);
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/** The user's object, by username (case-insensitive). */
export function uafUserObject(namespace: DurableObjectNamespace<UafUser>, username: string): DurableObjectStub<UafUser> {
  return namespace.get(namespace.idFromName(`uaf:${username.toLowerCase()}`));
}

/** The user's object by `userId` (its id), or null when it cannot be one. Existence is up to `read()`. */
export function uafUserById(namespace: DurableObjectNamespace<UafUser>, userId: string): DurableObjectStub<UafUser> | null {
  return objectByHexId(namespace, userId);
}
