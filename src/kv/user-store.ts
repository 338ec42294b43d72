/**
 * Users: one record per user, named by the lower-cased username. It holds the account of a user
 * registered through the login flow (password as a PBKDF2 hash), and for every user, seeded from the
 * configuration or registered, the failed-login counter and lockout (per-user consistency: two racing
 * wrong passwords both count).
 */
import { recordKind, type Step } from "./record";

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

/** A user's record: the account of a registered user (absent for a seeded one), and the lockout state. */
export interface UserState {
  readonly account?: UserRecord;
  readonly lockout?: Lockout;
}

function withLockout(current: UserState | null, lockout: Lockout | undefined): UserState | null {
  const next: UserState = {
    ...(current?.account ? { account: current.account } : {}),
    ...(lockout ? { lockout } : {}),
  };
  return next.account || next.lockout ? next : null;
}

export const userKind = recordKind({
  name: "user",
  expiresAt: (_record: UserState) => Infinity,
  operations: {
    /** Create the account; false when one exists. */
    register: (current: UserState | null, record: UserRecord): Step<UserState, boolean> =>
      current?.account ? { outcome: false } : { next: { ...current, account: record }, outcome: true },

    account: (current: UserState | null): Step<UserState, UserRecord | null> => ({ outcome: current?.account ?? null }),

    lockState: (current: UserState | null, _input: null, now: number): Step<UserState, LockState> => {
      const lockout = current?.lockout;
      if (!lockout || lockout.locked_until <= now) return { outcome: { locked: false, retryAfter: 0 } };
      return { outcome: { locked: true, retryAfter: lockout.locked_until - now } };
    },

    /** Count a failed login; the `max`-th failure locks the user for `lockSeconds`. */
    recordFailure: (
      current: UserState | null,
      input: { readonly max: number; readonly lockSeconds: number },
      now: number,
    ): Step<UserState, LockState> => {
      const previous = current?.lockout;
      // A lock that ran out starts a fresh count.
      const failures =
        (previous && previous.locked_until !== 0 && previous.locked_until <= now ? 0 : (previous?.failures ?? 0)) + 1;
      const lockedUntil = failures >= input.max ? now + input.lockSeconds : 0;
      return {
        next: withLockout(current, { failures: failures >= input.max ? 0 : failures, locked_until: lockedUntil }),
        outcome: lockedUntil ? { locked: true, retryAfter: input.lockSeconds } : { locked: false, retryAfter: 0 },
      };
    },

    recordSuccess: (current: UserState | null): Step<UserState, null> =>
      current?.lockout ? { next: withLockout(current, undefined), outcome: null } : { outcome: null },
  },
});

export type UserOperations = typeof userKind.operations;

/** The name of a user's record: the lower-cased username (user names are case-insensitive). */
export function userName(username: string): string {
  return username.toLowerCase();
}
