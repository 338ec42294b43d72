/**
 * UAF transactions: one record per out-of-band UAF operation (a dispatch token, an Authentication
 * Cloud enrollment or approval). Its id (hex) is the `sessionId` of the status service and the
 * `transactionId` of the Authentication Cloud API. It holds the hashes of the dispatch token and of the
 * status token, and the operation's state:
 *
 *   tokenCreated -> clientRegistering | clientAuthenticating   (the token is redeemed, once)
 *                -> succeeded | failed                        (the device's UAF response)
 *
 * The record goes an hour after it can no longer change.
 */
import { recordKind, type Step } from "./record";

export type UafOperation = "registration" | "authentication" | "deregistration";
export type UafTransactionStatus =
  | "tokenCreated"
  | "clientRegistering"
  | "clientAuthenticating"
  | "clientDeregistering"
  | "succeeded"
  | "failed";

export interface UafTransactionRecord {
  readonly id: string;
  readonly operation: UafOperation;
  readonly username: string;
  readonly userId: string;
  /** SHA-256 (base64url) of the dispatch token's secret. */
  readonly token_hash: string;
  /** SHA-256 (base64url) of the status token's secret (Authentication Cloud API). */
  readonly status_token_hash: string;
  readonly status: UafTransactionStatus;
  readonly token_result?: "tokenRedeemed" | "tokenTimedOut";
  readonly uaf_status_code?: number;
  /** The transaction text shown on the device (authentication), base64url content. */
  readonly transaction?: readonly { readonly contentType: string; readonly content: string }[];
  readonly authenticators: readonly { readonly aaid: string; readonly keyId: string }[];
  readonly dispatcher: string;
  readonly created_at: number;
  readonly updated_at: number;
  /** Redeem deadline (epoch seconds). */
  readonly expires_at: number;
  /** Once redeemed: the deadline of the device's answer (epoch seconds). */
  readonly answer_by?: number;
  /** When the device's answer began to be processed (it is taken once). */
  readonly answered_at?: number;
}

/** How long a finished transaction can still be polled, seconds. */
const RETAIN_AFTER_END = 3600;

export type RedeemRefusal =
  | "unknown_token"
  | "token_already_redeemed"
  | "token_expired"
  | "token_for_another_operation";

/** The UAF status code of an answer that never came (REQUEST_TIMEOUT). */
const TIMED_OUT = 1408;

const FINAL = new Set<UafTransactionStatus>(["succeeded", "failed"]);

type Result = {
  readonly succeeded: boolean;
  readonly uafStatusCode: number;
  readonly authenticators?: UafTransactionRecord["authenticators"];
};

function settled(record: UafTransactionRecord, result: Result, now: number): UafTransactionRecord {
  return {
    ...record,
    status: result.succeeded ? "succeeded" : "failed",
    uaf_status_code: result.uafStatusCode,
    ...(result.authenticators ? { authenticators: result.authenticators } : {}),
    updated_at: now,
  };
}

export const uafTransactionKind = recordKind({
  name: "uaf-transaction",
  // Kept a while after it can no longer change, so its status can still be polled.
  expiresAt: (record: UafTransactionRecord) =>
    Math.max(record.expires_at, record.answer_by ?? 0, record.updated_at) + RETAIN_AFTER_END,
  operations: {
    create: (
      current: UafTransactionRecord | null,
      record: UafTransactionRecord,
    ): Step<UafTransactionRecord, boolean> => (current ? { outcome: false } : { next: record, outcome: true }),

    /**
     * The transaction as the status services report it: an unredeemed token past its deadline has timed
     * out, and so has a redeemed operation whose device did not answer in time (1408).
     */
    read: (
      current: UafTransactionRecord | null,
      _input: null,
      now: number,
    ): Step<UafTransactionRecord, UafTransactionRecord | null> => {
      if (!current) return { outcome: null };
      if (current.status === "tokenCreated" && current.expires_at <= now)
        return { outcome: { ...current, status: "failed", token_result: "tokenTimedOut" } };
      if (!FINAL.has(current.status) && current.answer_by !== undefined && current.answer_by <= now)
        return { outcome: { ...current, status: "failed", uaf_status_code: TIMED_OUT } };
      return { outcome: current };
    },

    /** Redeem the dispatch token for `operation`, once, before its deadline; the device then has until `answerBy`. */
    redeem: (
      current: UafTransactionRecord | null,
      input: { readonly tokenHash: string; readonly operation: UafOperation; readonly answerBy: number },
      now: number,
    ): Step<UafTransactionRecord, { ok: true; value: UafTransactionRecord } | { ok: false; reason: RedeemRefusal }> => {
      if (!current || current.token_hash !== input.tokenHash)
        return { outcome: { ok: false, reason: "unknown_token" } };
      if (current.status !== "tokenCreated") return { outcome: { ok: false, reason: "token_already_redeemed" } };
      if (current.expires_at <= now) return { outcome: { ok: false, reason: "token_expired" } };
      // Refused before anything changes: the token stays good at its own operation's service.
      if (current.operation !== input.operation)
        return { outcome: { ok: false, reason: "token_for_another_operation" } };
      const status: UafTransactionStatus =
        current.operation === "registration"
          ? "clientRegistering"
          : current.operation === "authentication"
            ? "clientAuthenticating"
            : "clientDeregistering";
      const updated: UafTransactionRecord = {
        ...current,
        status,
        token_result: "tokenRedeemed",
        answer_by: input.answerBy,
        updated_at: now,
      };
      return { next: updated, outcome: { ok: true, value: updated } };
    },

    /**
     * Take the device's answer for processing: once, after redeeming, before the answer deadline. A second
     * answer (concurrent or later) is refused, so the status the backend acts on is the only outcome.
     */
    claim: (current: UafTransactionRecord | null, _input: null, now: number): Step<UafTransactionRecord, boolean> => {
      if (
        !current ||
        current.status === "tokenCreated" ||
        FINAL.has(current.status) ||
        current.answered_at !== undefined
      )
        return { outcome: false };
      if (current.answer_by !== undefined && current.answer_by <= now) return { outcome: false };
      return { next: { ...current, answered_at: now, updated_at: now }, outcome: true };
    },

    /** How the claimed answer ended: succeeded or failed (with its UAF status code). */
    finish: (
      current: UafTransactionRecord | null,
      result: Result,
      now: number,
    ): Step<UafTransactionRecord, UafTransactionRecord | null> => {
      if (!current || current.answered_at === undefined || FINAL.has(current.status)) return { outcome: null };
      const updated = settled(current, result, now);
      return { next: updated, outcome: updated };
    },

    /** The operation ends without a device answer to claim (a deregistration, or a request that could not be made). */
    end: (
      current: UafTransactionRecord | null,
      result: Result,
      now: number,
    ): Step<UafTransactionRecord, UafTransactionRecord | null> => {
      if (!current || current.status === "tokenCreated" || FINAL.has(current.status)) return { outcome: null };
      const updated = settled(current, result, now);
      return { next: updated, outcome: updated };
    },

    /** Forget a transaction whose token could not be delivered (before anyone could redeem it). */
    discard: (current: UafTransactionRecord | null): Step<UafTransactionRecord, null> =>
      current ? { next: null, outcome: null } : { outcome: null },
  },
});

export type UafTransactionOperations = typeof uafTransactionKind.operations;
