/**
 * Grant: one Durable Object per authorization grant (a user's consent to a client, from one login).
 * It holds the authorization code (hashed, single use), the current refresh token (hashed, rotated on
 * every use) and whether the grant was revoked. Its id is the prefix of the code and of every refresh
 * token, so the token endpoint reaches it directly.
 *
 * Every change is one compare-and-set inside the object:
 * - a code is redeemed once; a second redemption revokes the grant (RFC 6749 §4.1.2);
 * - a refresh token is replaced by the next one; presenting a replaced one revokes the grant (reuse
 *   detection, OAuth 2.0 Security BCP §4.14.2), so of two racing refreshes one wins and the grant then
 *   ends whole, never half-rotated.
 * An alarm deletes the object once nothing it issued can still be valid.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import type { AuthenticatedUser } from "./login-session";
import { newObject, objectByHexId } from "./object-id";

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

const RECORD = "grant";
/** How many rotated-away refresh tokens are remembered for reuse detection. */
const SPENT_KEPT = 20;

export class Grant extends DurableObject<Env> {
  async create(record: GrantRecord): Promise<boolean> {
    if (this.ctx.storage.kv.get(RECORD) !== undefined) return false;
    this.ctx.storage.kv.put(RECORD, record);
    await this.ctx.storage.setAlarm(record.expires_at * 1000);
    return true;
  }

  /** The grant, or null when there is none (never issued, or deleted after expiry). */
  async read(): Promise<GrantRecord | null> {
    return this.ctx.storage.kv.get<GrantRecord>(RECORD) ?? null;
  }

  /**
   * Redeem the code whose hash is `codeHash`, once. On success the grant gets its first refresh token (or
   * none), and lives until `expiresAt`. A second redemption revokes the grant.
   */
  async redeemCode(codeHash: string, refresh: RefreshState | null, expiresAt: number, now: number): Promise<CodeRedemption> {
    const record = this.ctx.storage.kv.get<GrantRecord>(RECORD);
    if (record === undefined || record.code.hash !== codeHash) return "invalid";
    if (record.revoked_at !== null) return "revoked";
    if (record.code.used_at !== null) {
      await this.store({ ...record, revoked_at: now });
      return "used";
    }
    if (record.code.expires_at <= now) return "expired";
    await this.store({ ...record, code: { ...record.code, used_at: now }, refresh, expires_at: Math.max(record.expires_at, expiresAt) });
    return "ok";
  }

  /** Replace the current refresh token `presented` by `next`. A rotated-away token revokes the grant. */
  async rotateRefresh(presented: string, next: RefreshState, accessExpiresAt: number, now: number): Promise<Rotation> {
    const record = this.ctx.storage.kv.get<GrantRecord>(RECORD);
    if (record === undefined) return "invalid";
    if (record.revoked_at !== null) return "revoked";
    if (record.spent_refresh.includes(presented)) {
      await this.store({ ...record, revoked_at: now });
      return "reused";
    }
    const current = record.refresh;
    if (current === null || current.hash !== presented) return "invalid";
    if (current.expires_at <= now) return "expired";
    await this.store({
      ...record,
      refresh: next,
      spent_refresh: [presented, ...record.spent_refresh].slice(0, SPENT_KEPT),
      expires_at: Math.max(record.expires_at, next.expires_at, accessExpiresAt),
    });
    return "ok";
  }

  /** Revoke the whole grant (RFC 7009): its refresh token and every access token it issued. */
  async revoke(now: number): Promise<void> {
    const record = this.ctx.storage.kv.get<GrantRecord>(RECORD);
    if (record === undefined || record.revoked_at !== null) return;
    await this.store({ ...record, revoked_at: now });
  }

  private async store(record: GrantRecord): Promise<void> {
    this.ctx.storage.kv.put(RECORD, record);
    await this.ctx.storage.setAlarm(record.expires_at * 1000);
  }

  override async alarm(): Promise<void> {
    const record = this.ctx.storage.kv.get<GrantRecord>(RECORD);
    if (record && record.expires_at * 1000 > Date.now()) {
      await this.ctx.storage.setAlarm(record.expires_at * 1000);
      return;
    }
    await this.ctx.storage.deleteAll();
  }
}

/** The grant a code or refresh token (`<grant id>.<secret>`) names, or null. */
export function grantObjectOf(namespace: DurableObjectNamespace<Grant>, token: string): { grantId: string; stub: DurableObjectStub<Grant> } | null {
  const dot = token.indexOf(".");
  const grantId = dot < 0 ? token : token.slice(0, dot);
  const stub = objectByHexId(namespace, grantId);
  return stub ? { grantId, stub } : null;
}

export function newGrantObject(namespace: DurableObjectNamespace<Grant>): { grantId: string; stub: DurableObjectStub<Grant> } {
  const { id, stub } = newObject(namespace);
  return { grantId: id, stub };
}
