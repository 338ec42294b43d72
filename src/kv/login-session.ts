/**
 * LoginSession: one Durable Object per login flow, created by the authorize request near the device or
 * browser. It holds the authorization request, which step the flow is at, and the user once authenticated.
 * It is bound to what started it, and only that may continue it: a HAAPI flow to the HAAPI access token
 * (its `jti` and DPoP key; the object id is the `Session-Id`), a browser flow to a cookie secret (stored
 * hashed; the cookie carries the object id too). Completing the flow is a compare-and-set, so a flow yields
 * at most one authorization code. An alarm deletes the object when the flow expires.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { newObject, objectByHexId } from "./object-id";

/** The validated authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 9449 §10). */
export interface AuthorizationRequest {
  readonly client_id: string;
  readonly redirect_uri: string;
  readonly scope: string;
  readonly state?: string;
  readonly nonce?: string;
  readonly code_challenge: string;
  /** Bind the code to this DPoP key (token-bound codes, or `dpop_jkt`). */
  readonly dpop_jkt?: string;
}

/** Who logged in, and how (the authentication attributes tokens carry). */
export interface AuthenticatedUser {
  readonly sub: string;
  readonly username: string;
  readonly acr: string;
  readonly amr: readonly string[];
  readonly auth_time: number;
}

/**
 * What approves a polling step: opening a one-time link (approval-link; SHA-256 of its secret), or the
 * outcome of a FIDO UAF transaction on the user's phone (uaf-mobile-approval).
 */
export type PollApproval = { readonly via: "link"; readonly hash: string } | { readonly via: "uaf"; readonly transaction: string };

/** Where the flow is. `poll`: waiting for an out-of-band approval (the polling step). */
export type FlowStep =
  | { readonly kind: "select" }
  | { readonly kind: "authenticate"; readonly authenticator: string }
  | {
      readonly kind: "poll";
      readonly authenticator: string;
      readonly approval: PollApproval;
      readonly expires_at: number;
      readonly status: "pending" | "done" | "failed";
      /** Who is logging in: authenticated once the approval arrives. */
      readonly user: AuthenticatedUser;
    }
  /** uaf-device: a UAF authentication request is out with the app; its response must answer `transaction`. */
  | { readonly kind: "uaf"; readonly authenticator: string; readonly transaction: string; readonly expires_at: number; readonly user: AuthenticatedUser }
  | { readonly kind: "done" };

/** Who may continue a flow. The two kinds never mix: a HAAPI session refuses a browser, and the reverse. */
export type SessionBinding =
  /** The DPoP key (`jkt`) the flow is bound to, and the HAAPI access token (`jti`) that started it (for the log). */
  | { readonly kind: "haapi"; readonly token_jti: string; readonly jkt: string }
  /** SHA-256 (base64url) of the secret in the browser's login cookie. */
  | { readonly kind: "browser"; readonly cookie_hash: string };

export interface SessionRecord {
  readonly id: string;
  readonly request: AuthorizationRequest;
  readonly binding: SessionBinding;
  readonly cal: ClientAssuranceLevel;
  readonly authenticators: readonly string[];
  readonly step: FlowStep;
  readonly created_at: number;
  readonly expires_at: number;
}

const RECORD = "session";

export class LoginSession extends DurableObject<Env> {
  async create(record: SessionRecord): Promise<boolean> {
    if (this.ctx.storage.kv.get(RECORD) !== undefined) return false;
    this.ctx.storage.kv.put(RECORD, record);
    await this.ctx.storage.setAlarm(record.expires_at * 1000);
    return true;
  }

  /** The session, or null when there is none or it expired. */
  async read(): Promise<SessionRecord | null> {
    const record = this.ctx.storage.kv.get<SessionRecord>(RECORD);
    if (record === undefined || record.expires_at <= Math.floor(Date.now() / 1000)) return null;
    return record;
  }

  /** Move to `step` unless the flow is done. Null when the session is gone or finished. */
  async setStep(step: FlowStep): Promise<SessionRecord | null> {
    const record = await this.read();
    if (record === null || record.step.kind === "done") return null;
    const updated = { ...record, step };
    this.ctx.storage.kv.put(RECORD, updated);
    return updated;
  }

  /**
   * Out-of-band approval (the polling step): mark the pending poll with this approval hash done.
   * False when there is no such pending poll, or it expired.
   */
  async approve(approvalHash: string, now: number): Promise<boolean> {
    const record = await this.read();
    const step = record?.step;
    if (!record || step?.kind !== "poll" || step.status !== "pending" || step.approval.via !== "link" || step.approval.hash !== approvalHash || step.expires_at <= now) return false;
    this.ctx.storage.kv.put(RECORD, { ...record, step: { ...step, status: "done" } });
    return true;
  }

  /**
   * The outcome of the UAF transaction a pending poll waits for: done (with the authentication's `amr`) or
   * failed. Only that very poll, still pending, changes: a cancelled or restarted flow stays as it is.
   * Returns the session as it now is (null when gone).
   */
  async settleTransaction(transaction: string, outcome: { readonly approved: true; readonly amr: readonly string[] } | { readonly approved: false }): Promise<SessionRecord | null> {
    const record = await this.read();
    const step = record?.step;
    if (!record || step?.kind !== "poll" || step.status !== "pending" || step.approval.via !== "uaf" || step.approval.transaction !== transaction) return record;
    const settled: FlowStep = outcome.approved ? { ...step, status: "done", user: { ...step.user, amr: outcome.amr } } : { ...step, status: "failed" };
    const updated = { ...record, step: settled };
    this.ctx.storage.kv.put(RECORD, updated);
    return updated;
  }

  /** Finish the flow, once: true for the first caller, false afterwards (or when the session is gone). */
  async complete(): Promise<boolean> {
    const record = await this.read();
    if (record === null || record.step.kind === "done") return false;
    this.ctx.storage.kv.put(RECORD, { ...record, step: { kind: "done" } });
    return true;
  }

  override async alarm(): Promise<void> {
    const record = this.ctx.storage.kv.get<SessionRecord>(RECORD);
    if (record && record.expires_at * 1000 > Date.now()) {
      await this.ctx.storage.setAlarm(record.expires_at * 1000);
      return;
    }
    await this.ctx.storage.deleteAll();
  }
}

/** The session a `Session-Id` names, or null when it cannot be one this namespace minted. */
export function loginSessionObject(namespace: DurableObjectNamespace<LoginSession>, sessionId: string): DurableObjectStub<LoginSession> | null {
  return objectByHexId(namespace, sessionId);
}

export function newLoginSessionObject(namespace: DurableObjectNamespace<LoginSession>): { sessionId: string; stub: DurableObjectStub<LoginSession> } {
  const { id, stub } = newObject(namespace);
  return { sessionId: id, stub };
}
