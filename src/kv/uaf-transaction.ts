/**
 * UafTransaction: one Durable Object per out-of-band UAF operation (a dispatch token, an Authentication
 * Cloud enrollment or approval). Its id (hex) is the `sessionId` of the status service and the
 * `transactionId` of the Authentication Cloud API. It holds the hashes of the dispatch token and of the
 * status token, and the operation's state:
 *
 *   tokenCreated -> clientRegistering | clientAuthenticating   (the token is redeemed, once)
 *                -> succeeded | failed                        (the device's UAF response)
 *
 * An alarm deletes the object a while after it can no longer change.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { newObject, objectByHexId } from "./object-id";

export type UafOperation = "registration" | "authentication" | "deregistration";
export type UafTransactionStatus = "tokenCreated" | "clientRegistering" | "clientAuthenticating" | "clientDeregistering" | "succeeded" | "failed";

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
const RECORD = "transaction";

export type RedeemRefusal = "unknown_token" | "token_already_redeemed" | "token_expired" | "token_for_another_operation";

/** The UAF status code of an answer that never came (REQUEST_TIMEOUT). */
const TIMED_OUT = 1408;

const FINAL = new Set<UafTransactionStatus>(["succeeded", "failed"]);

export class UafTransaction extends DurableObject<Env> {
  async create(record: UafTransactionRecord): Promise<boolean> {
    if (this.ctx.storage.kv.get(RECORD) !== undefined) return false;
    this.ctx.storage.kv.put(RECORD, record);
    await this.ctx.storage.setAlarm((record.expires_at + RETAIN_AFTER_END) * 1000);
    return true;
  }

  /**
   * The transaction as the status services report it: an unredeemed token past its deadline has timed
   * out, and so has a redeemed operation whose device did not answer in time (1408).
   */
  async read(now: number): Promise<UafTransactionRecord | null> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    if (!record) return null;
    if (record.status === "tokenCreated" && record.expires_at <= now) return { ...record, status: "failed", token_result: "tokenTimedOut" };
    if (!FINAL.has(record.status) && record.answer_by !== undefined && record.answer_by <= now) return { ...record, status: "failed", uaf_status_code: TIMED_OUT };
    return record;
  }

  /** Redeem the dispatch token for `operation`, once, before its deadline; the device then has until `answerBy`. */
  async redeem(tokenHash: string, operation: UafOperation, now: number, answerBy: number): Promise<{ ok: true; value: UafTransactionRecord } | { ok: false; reason: RedeemRefusal }> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    if (!record || record.token_hash !== tokenHash) return { ok: false, reason: "unknown_token" };
    if (record.status !== "tokenCreated") return { ok: false, reason: "token_already_redeemed" };
    if (record.expires_at <= now) return { ok: false, reason: "token_expired" };
    // Refused before anything changes: the token stays good at its own operation's service.
    if (record.operation !== operation) return { ok: false, reason: "token_for_another_operation" };
    const status: UafTransactionStatus = record.operation === "registration" ? "clientRegistering" : record.operation === "authentication" ? "clientAuthenticating" : "clientDeregistering";
    const updated: UafTransactionRecord = { ...record, status, token_result: "tokenRedeemed", answer_by: answerBy, updated_at: now };
    this.ctx.storage.kv.put(RECORD, updated);
    await this.ctx.storage.setAlarm((answerBy + RETAIN_AFTER_END) * 1000);
    return { ok: true, value: updated };
  }

  /**
   * Take the device's answer for processing: once, after redeeming, before the answer deadline. A second
   * answer (concurrent or later) is refused, so the status the backend acts on is the only outcome.
   */
  async claim(now: number): Promise<boolean> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    if (!record || record.status === "tokenCreated" || FINAL.has(record.status) || record.answered_at !== undefined) return false;
    if (record.answer_by !== undefined && record.answer_by <= now) return false;
    this.ctx.storage.kv.put(RECORD, { ...record, answered_at: now, updated_at: now });
    return true;
  }

  /** How the claimed answer ended: succeeded or failed (with its UAF status code). */
  async finish(result: { readonly succeeded: boolean; readonly uafStatusCode: number; readonly authenticators?: UafTransactionRecord["authenticators"] }, now: number): Promise<UafTransactionRecord | null> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    if (!record || record.answered_at === undefined || FINAL.has(record.status)) return null;
    return this.settle(record, result, now);
  }

  /** The operation ends without a device answer to claim (a deregistration, or a request that could not be made). */
  async end(result: { readonly succeeded: boolean; readonly uafStatusCode: number; readonly authenticators?: UafTransactionRecord["authenticators"] }, now: number): Promise<UafTransactionRecord | null> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    if (!record || record.status === "tokenCreated" || FINAL.has(record.status)) return null;
    return this.settle(record, result, now);
  }

  private settle(record: UafTransactionRecord, result: { readonly succeeded: boolean; readonly uafStatusCode: number; readonly authenticators?: UafTransactionRecord["authenticators"] }, now: number): UafTransactionRecord {
    const updated: UafTransactionRecord = {
      ...record,
      status: result.succeeded ? "succeeded" : "failed",
      uaf_status_code: result.uafStatusCode,
      ...(result.authenticators ? { authenticators: result.authenticators } : {}),
      updated_at: now,
    };
    this.ctx.storage.kv.put(RECORD, updated);
    return updated;
  }

  /** Forget a transaction whose token could not be delivered (before anyone could redeem it). */
  async discard(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    const end = record ? Math.max(record.expires_at, record.answer_by ?? 0, record.updated_at) + RETAIN_AFTER_END : 0;
    if (record && end * 1000 > Date.now()) {
      await this.ctx.storage.setAlarm(end * 1000);
      return;
    }
    await this.ctx.storage.deleteAll();
  }
}

/** The transaction a session id / transaction id names, or null when it cannot be one. */
export function uafTransactionObject(namespace: DurableObjectNamespace<UafTransaction>, id: string): DurableObjectStub<UafTransaction> | null {
  return objectByHexId(namespace, id);
}

export function newUafTransactionObject(namespace: DurableObjectNamespace<UafTransaction>): { id: string; stub: DurableObjectStub<UafTransaction> } {
  return newObject(namespace);
}
