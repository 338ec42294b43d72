/**
 * LoginSession: one record per login flow, created by the authorize request near the device or browser
 * (on Workers, a Durable Object created where the request runs). It holds the authorization request,
 * which step the flow is at, and the user once authenticated. It is bound to what started it, and only
 * that may continue it: a HAAPI flow to the client and DPoP key of its HAAPI access token (the record id
 * is the `Session-Id`), a browser flow to a cookie secret (stored hashed; the cookie carries the record
 * id too). Completing the flow is a compare-and-set, so a flow yields
 * at most one authorization code. The record goes when the flow expires.
 */
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { recordKind, type Step } from "./record";

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
export type PollApproval =
  | { readonly via: "link"; readonly hash: string }
  | { readonly via: "uaf"; readonly transaction: string };

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
  | {
      readonly kind: "uaf";
      readonly authenticator: string;
      readonly transaction: string;
      readonly expires_at: number;
      readonly user: AuthenticatedUser;
    }
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

/** A pending poll approved by a one-time link with this hash, or waiting for this UAF transaction. */
function pendingPoll(record: SessionRecord | null): Extract<FlowStep, { kind: "poll" }> | null {
  const step = record?.step;
  return step?.kind === "poll" && step.status === "pending" ? step : null;
}

export const loginSessionKind = recordKind({
  name: "login-session",
  expiresAt: (record: SessionRecord) => record.expires_at,
  operations: {
    /** Write a new session. False when the id is taken (ids are random: a bug, never a retry). */
    create: (current: SessionRecord | null, record: SessionRecord): Step<SessionRecord, boolean> =>
      current ? { outcome: false } : { next: record, outcome: true },

    /** The session, or null when there is none or it expired. */
    read: (current: SessionRecord | null): Step<SessionRecord, SessionRecord | null> => ({ outcome: current }),

    /** Move to `step` unless the flow is done. Null when the session is gone or finished. */
    setStep: (current: SessionRecord | null, step: FlowStep): Step<SessionRecord, SessionRecord | null> => {
      if (current === null || current.step.kind === "done") return { outcome: null };
      const updated = { ...current, step };
      return { next: updated, outcome: updated };
    },

    /**
     * Out-of-band approval (the polling step): mark the pending poll with this approval hash done.
     * False when there is no such pending poll, or it expired.
     */
    approve: (current: SessionRecord | null, approvalHash: string, now: number): Step<SessionRecord, boolean> => {
      const step = pendingPoll(current);
      if (
        !current ||
        !step ||
        step.approval.via !== "link" ||
        step.approval.hash !== approvalHash ||
        step.expires_at <= now
      )
        return { outcome: false };
      return { next: { ...current, step: { ...step, status: "done" } }, outcome: true };
    },

    /**
     * The outcome of the UAF transaction a pending poll waits for: done (with the authentication's `amr`) or
     * failed. Only that very poll, still pending, changes: a cancelled or restarted flow stays as it is.
     * Returns the session as it now is (null when gone).
     */
    settleTransaction: (
      current: SessionRecord | null,
      input: {
        readonly transaction: string;
        readonly outcome: { readonly approved: true; readonly amr: readonly string[] } | { readonly approved: false };
      },
    ): Step<SessionRecord, SessionRecord | null> => {
      const step = pendingPoll(current);
      if (!current || !step || step.approval.via !== "uaf" || step.approval.transaction !== input.transaction)
        return { outcome: current };
      const settled: FlowStep = input.outcome.approved
        ? { ...step, status: "done", user: { ...step.user, amr: input.outcome.amr } }
        : { ...step, status: "failed" };
      const updated = { ...current, step: settled };
      return { next: updated, outcome: updated };
    },

    /** Finish the flow, once: true for the first caller, false afterwards (or when the session is gone). */
    complete: (current: SessionRecord | null): Step<SessionRecord, boolean> =>
      current === null || current.step.kind === "done"
        ? { outcome: false }
        : { next: { ...current, step: { kind: "done" } }, outcome: true },
  },
});

export type LoginSessionOperations = typeof loginSessionKind.operations;
