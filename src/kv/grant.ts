/**
 * Grant: one record per authorization grant (a user's consent to a client, from one login). It holds
 * the authorization code (hashed, single use), the current refresh token (hashed, rotated on every use)
 * and whether the grant was revoked. Its id is the prefix of the code and of every refresh token, so the
 * token endpoint reaches it directly.
 *
 * Every change is one operation, atomic on its record (record.ts):
 * - a code is redeemed once; a second redemption revokes the grant (RFC 6749 §4.1.2);
 * - a refresh token is replaced by the next one; presenting a replaced one revokes the grant (reuse
 *   detection, OAuth 2.0 Security BCP §4.14.2), so of two racing refreshes one wins and the grant then
 *   ends whole, never half-rotated.
 * The record goes (an alarm on Workers, expireIn on Deno) once nothing it issued can still be valid.
 */
import type { ClientAssuranceLevel } from "../tokens/access-token";
import type { AuthenticatedUser } from "./login-session";
import { recordKind, type Step } from "./record";

export interface RefreshState {
  /** SHA-256 (base64url) of the current refresh token. */
  readonly hash: string;
  /** DPoP key the refresh token is bound to (RFC 9449 §5: refresh tokens of public clients). */
  readonly jkt?: string;
  readonly expires_at: number;
}

export interface GrantRecord {
  readonly id: string;
  readonly client_id: string;
  readonly user: AuthenticatedUser;
  readonly scope: string;
  readonly redirect_uri: string;
  readonly nonce?: string;
  readonly cal: ClientAssuranceLevel;
  readonly code: {
    readonly hash: string;
    readonly expires_at: number;
    readonly code_challenge: string;
    readonly dpop_jkt?: string;
    readonly used_at: number | null;
  };
  readonly refresh: RefreshState | null;
  /** Hashes of refresh tokens already rotated away (reuse detection). */
  readonly spent_refresh: readonly string[];
  readonly revoked_at: number | null;
  /** When the object may go: every code, refresh token and access token it issued has expired. */
  readonly expires_at: number;
}

export type CodeRedemption = "ok" | "invalid" | "expired" | "used" | "revoked";
export type Rotation = "ok" | "invalid" | "expired" | "reused" | "revoked";

/** How many rotated-away refresh tokens are remembered for reuse detection. */
const SPENT_KEPT = 20;

function withRevocation(record: GrantRecord, now: number): GrantRecord {
  return { ...record, revoked_at: now };
}

export const grantKind = recordKind({
  name: "grant",
  expiresAt: (record: GrantRecord) => record.expires_at,
  operations: {
    /** Write a new grant. False when the id is taken (ids are random: a bug, never a retry). */
    create: (current: GrantRecord | null, record: GrantRecord): Step<GrantRecord, boolean> =>
      current ? { outcome: false } : { next: record, outcome: true },

    /** The grant, or null when there is none (never issued, or gone after its last token expired). */
    read: (current: GrantRecord | null): Step<GrantRecord, GrantRecord | null> => ({ outcome: current }),

    /**
     * Redeem the code whose hash is `codeHash`, once. On success the grant gets its first refresh token (or
     * none), and lives until `expiresAt`. A second redemption revokes the grant.
     */
    redeemCode: (
      current: GrantRecord | null,
      input: { readonly codeHash: string; readonly refresh: RefreshState | null; readonly expiresAt: number },
      now: number,
    ): Step<GrantRecord, CodeRedemption> => {
      if (current === null || current.code.hash !== input.codeHash) return { outcome: "invalid" };
      if (current.revoked_at !== null) return { outcome: "revoked" };
      if (current.code.used_at !== null) return { next: withRevocation(current, now), outcome: "used" };
      if (current.code.expires_at <= now) return { outcome: "expired" };
      return {
        next: {
          ...current,
          code: { ...current.code, used_at: now },
          refresh: input.refresh,
          expires_at: Math.max(current.expires_at, input.expiresAt),
        },
        outcome: "ok",
      };
    },

    /** Replace the current refresh token `presented` (its hash) by `next`. A rotated-away token revokes the grant. */
    rotateRefresh: (
      current: GrantRecord | null,
      input: { readonly presented: string; readonly next: RefreshState; readonly accessExpiresAt: number },
      now: number,
    ): Step<GrantRecord, Rotation> => {
      if (current === null) return { outcome: "invalid" };
      if (current.revoked_at !== null) return { outcome: "revoked" };
      if (current.spent_refresh.includes(input.presented))
        return { next: withRevocation(current, now), outcome: "reused" };
      const refresh = current.refresh;
      if (refresh === null || refresh.hash !== input.presented) return { outcome: "invalid" };
      if (refresh.expires_at <= now) return { outcome: "expired" };
      return {
        next: {
          ...current,
          refresh: input.next,
          spent_refresh: [input.presented, ...current.spent_refresh].slice(0, SPENT_KEPT),
          expires_at: Math.max(current.expires_at, input.next.expires_at, input.accessExpiresAt),
        },
        outcome: "ok",
      };
    },

    /** Revoke the whole grant (RFC 7009): its refresh token and every access and ID token it issued. */
    revoke: (current: GrantRecord | null, _input: null, now: number): Step<GrantRecord, boolean> =>
      current === null || current.revoked_at !== null
        ? { outcome: false }
        : { next: withRevocation(current, now), outcome: true },
  },
});

export type GrantOperations = typeof grantKind.operations;

/** The grant id a code or refresh token (`<grant id>.<secret>`) starts with. */
export function grantIdOf(token: string): string {
  const dot = token.indexOf(".");
  return dot < 0 ? token : token.slice(0, dot);
}
