/**
 * Rate limits: a token bucket per key (see `rateLimitKey`), one record each.
 *
 * A bucket holds `requests` tokens and refills evenly over `window` seconds. Taking a token is one
 * operation on the record, so two racing requests cannot both take the last one. When a bucket is full
 * again it carries no information, and the record goes: idle keys cost nothing.
 */
import { recordKind, type Step } from "./record";

export interface Bucket {
  readonly tokens: number;
  /** Epoch seconds of the last refill computation. */
  readonly at: number;
  /** Epoch seconds at which the bucket is full again. */
  readonly fullAt: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** Seconds until a token is available (0 when allowed). */
  readonly retryAfter: number;
}

/** The bucket's tokens at `now` (epoch seconds): refilled evenly since it was last written. */
function tokensAt(bucket: Bucket | null, limit: Limit, now: number): number {
  const perSecond = limit.requests / limit.window;
  return bucket ? Math.min(limit.requests, bucket.tokens + (now - bucket.at) * perSecond) : limit.requests;
}

function refused(tokens: number, limit: Limit): RateDecision {
  // Seconds until the next whole token; the epsilon keeps float error (0.98 + 0.02 < 1) from adding a second.
  return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - tokens) / (limit.requests / limit.window) - 1e-9)) };
}

/** `requests` tokens, refilled evenly over `window` seconds. */
export interface Limit {
  readonly requests: number;
  readonly window: number;
}

export const rateLimitKind = recordKind({
  name: "rate-limit",
  // Full again: the bucket then carries no information, and goes.
  expiresAt: (bucket: Bucket) => bucket.fullAt,
  operations: {
    /** Take one token. */
    take: (current: Bucket | null, limit: Limit, now: number): Step<Bucket, RateDecision> => {
      const tokens = tokensAt(current, limit, now);
      const left = tokens >= 1 ? tokens - 1 : tokens;
      const bucket = {
        tokens: left,
        at: now,
        fullAt: now + Math.ceil((limit.requests - left) / (limit.requests / limit.window)),
      };
      return { next: bucket, outcome: tokens >= 1 ? { allowed: true, retryAfter: 0 } : refused(tokens, limit) };
    },

    /** Whether a token is available, without taking it (for limits that count failures only). */
    peek: (current: Bucket | null, limit: Limit, now: number): Step<Bucket, RateDecision> => {
      const tokens = tokensAt(current, limit, now);
      return { outcome: tokens >= 1 ? { allowed: true, retryAfter: 0 } : refused(tokens, limit) };
    },
  },
});

export type RateLimitOperations = typeof rateLimitKind.operations;

/** Object names: only this module builds them. */
export const rateLimitKey = {
  registrationByClient: (mainClientId: string) => `registration:client:${mainClientId}`,
  registrationBySource: (address: string) => `registration:source:${address}`,
  /** Failed logins per source address (the login flow's per-source lockout). */
  loginFailuresBySource: (address: string) => `login-failures:source:${address}`,
  /** Mobile-approval requests (each may prompt the phone), per user and per source address. */
  approvalsByUser: (username: string) => `approvals:user:${username}`,
  approvalsBySource: (address: string) => `approvals:source:${address}`,
} as const;
