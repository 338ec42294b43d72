/**
 * RateLimiter: a token bucket per key, in a Durable Object per key (see `rateLimitKey`).
 *
 * A bucket holds `requests` tokens and refills evenly over `window` seconds. A Durable Object runs one
 * request at a time, so two racing requests cannot both take the last token. When a bucket is full
 * again it carries no information, and an alarm deletes the object's storage: idle keys cost nothing.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

interface Bucket {
  readonly tokens: number;
  /** Epoch milliseconds of the last refill computation. */
  readonly at: number;
  /** Epoch milliseconds at which the bucket is full again. */
  readonly fullAt: number;
}

export interface RateDecision {
  readonly allowed: boolean;
  /** Seconds until a token is available (0 when allowed). */
  readonly retryAfter: number;
}

const BUCKET = "bucket";

export class RateLimiter extends DurableObject<Env> {
  /** Take one token from a bucket of `requests` per `window` seconds. */
  async take(requests: number, window: number): Promise<RateDecision> {
    const now = Date.now();
    const perMs = requests / (window * 1000);
    const stored = this.ctx.storage.kv.get<Bucket>(BUCKET);
    const tokens = stored ? Math.min(requests, stored.tokens + (now - stored.at) * perMs) : requests;
    if (tokens < 1) {
      this.ctx.storage.kv.put(BUCKET, { tokens, at: now, fullAt: now + Math.ceil((requests - tokens) / perMs) });
      return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) };
    }
    const left = tokens - 1;
    // Full again at this time: nothing left worth keeping then.
    const fullAt = now + Math.ceil((requests - left) / perMs);
    this.ctx.storage.kv.put(BUCKET, { tokens: left, at: now, fullAt });
    await this.ctx.storage.setAlarm(fullAt);
    return { allowed: true, retryAfter: 0 };
  }

  /** Whether a token is available, without taking it (for limits that count failures only). */
  async peek(requests: number, window: number): Promise<RateDecision> {
    const now = Date.now();
    const perMs = requests / (window * 1000);
    const stored = this.ctx.storage.kv.get<Bucket>(BUCKET);
    const tokens = stored ? Math.min(requests, stored.tokens + (now - stored.at) * perMs) : requests;
    return tokens >= 1 ? { allowed: true, retryAfter: 0 } : { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) };
  }

  /** Delete the bucket once it is full again; an alarm that runs early (alarms are at-least-once) reschedules. */
  override async alarm(): Promise<void> {
    const stored = this.ctx.storage.kv.get<Bucket>(BUCKET);
    if (stored && stored.fullAt > Date.now()) {
      await this.ctx.storage.setAlarm(stored.fullAt);
      return;
    }
    await this.ctx.storage.deleteAll();
  }
}

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

export function rateLimiter(namespace: DurableObjectNamespace<RateLimiter>, key: string): DurableObjectStub<RateLimiter> {
  return namespace.get(namespace.idFromName(key));
}
