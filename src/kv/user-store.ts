/**
 * UserStore: one Durable Object per user, named `user:<lower-cased username>`. It holds the account of a
 * user registered through the login flow (password as a PBKDF2 hash), and for every user, seeded from
 * the configuration or registered, the failed-login counter and lockout (per-user consistency: two
 * racing wrong passwords both count).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

export type UserClaims = Readonly<Record<string, string | boolean | number>>;

export interface UserRecord {
  readonly sub: string;
  readonly username: string;
  /** `pbkdf2-sha256$<iterations>$<salt>$<digest>` (src/verifiers/client-secret.ts). */
  readonly password_hash: string;
  readonly claims: UserClaims;
  readonly created_at: number;
}

interface Lockout {
  readonly failures: number;
  /** Epoch seconds; 0 when not locked. */
  readonly locked_until: number;
}

export interface LockState {
  readonly locked: boolean;
  /** Seconds until the lock ends (0 when not locked). */
  readonly retryAfter: number;
}

const ACCOUNT = "account";
const LOCKOUT = "lockout";

export class UserStore extends DurableObject<Env> {
  /** Create the account; false when one exists. */
  async register(record: UserRecord): Promise<boolean> {
    if (this.ctx.storage.kv.get(ACCOUNT) !== undefined) return false;
    this.ctx.storage.kv.put(ACCOUNT, record);
    return true;
  }

  async account(): Promise<UserRecord | null> {
    return this.ctx.storage.kv.get<UserRecord>(ACCOUNT) ?? null;
  }

  async lockState(now: number): Promise<LockState> {
    const lockout = this.ctx.storage.kv.get<Lockout>(LOCKOUT);
    if (!lockout || lockout.locked_until <= now) return { locked: false, retryAfter: 0 };
    return { locked: true, retryAfter: lockout.locked_until - now };
  }

  /** Count a failed login; the `max`-th failure locks the user for `lockSeconds`. */
  async recordFailure(now: number, max: number, lockSeconds: number): Promise<LockState> {
    const previous = this.ctx.storage.kv.get<Lockout>(LOCKOUT);
    // A lock that ran out starts a fresh count.
    const failures = (previous && previous.locked_until !== 0 && previous.locked_until <= now ? 0 : (previous?.failures ?? 0)) + 1;
    const lockedUntil = failures >= max ? now + lockSeconds : 0;
    this.ctx.storage.kv.put(LOCKOUT, { failures: failures >= max ? 0 : failures, locked_until: lockedUntil });
    return lockedUntil ? { locked: true, retryAfter: lockSeconds } : { locked: false, retryAfter: 0 };
  }

  async recordSuccess(): Promise<void> {
    this.ctx.storage.kv.delete(LOCKOUT);
  }
}

export function userObject(namespace: DurableObjectNamespace<UserStore>, username: string): DurableObjectStub<UserStore> {
  return namespace.get(namespace.idFromName(`user:${username.toLowerCase()}`));
}
