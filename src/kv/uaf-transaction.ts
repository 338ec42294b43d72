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
import { objectByHexId } from "./object-id";

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
}

/** How long a finished transaction can still be polled, seconds. */
const RETAIN_AFTER_END = 3600;
const RECORD = "transaction";

export type RedeemRefusal = "unknown_token" | "token_already_redeemed" | "token_expired";

export class UafTransaction extends DurableObject<Env> {
  async create(record: UafTransactionRecord): Promise<boolean> {
    if (this.ctx.storage.kv.get(RECORD) !== undefined) return false;
    this.ctx.storage.kv.put(RECORD, record);
    await this.ctx.storage.setAlarm((record.expires_at + RETAIN_AFTER_END) * 1000);
    return true;
  }

  /** The transaction, with an unredeemed token past its deadline shown as timed out. */
  async read(now: number): Promise<UafTransactionRecord | null> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    if (!record) return null;
    if (record.status === "tokenCreated" && record.expires_at <= now) return { ...record, status: "failed", token_result: "tokenTimedOut" };
    return record;
  }

  /** Redeem the dispatch token, once, before its deadline. */
  async redeem(tokenHash: string, now: number): Promise<{ ok: true; value: UafTransactionRecord } | { ok: false; reason: RedeemRefusal }> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    if (!record || record.token_hash !== tokenHash) return { ok: false, reason: "unknown_token" };
    if (record.status !== "tokenCreated") return { ok: false, reason: "token_already_redeemed" };
    if (record.expires_at <= now) return { ok: false, reason: "token_expired" };
    const status: UafTransactionStatus = record.operation === "registration" ? "clientRegistering" : record.operation === "authentication" ? "clientAuthenticating" : "clientDeregistering";
    const updated: UafTransactionRecord = { ...record, status, token_result: "tokenRedeemed", updated_at: now };
    this.ctx.storage.kv.put(RECORD, updated);
    return { ok: true, value: updated };
  }

  /** The device's answer: the operation succeeded or failed (with its UAF status code). Only once, after redeeming. */
  async finish(result: { readonly succeeded: boolean; readonly uafStatusCode: number; readonly authenticators?: UafTransactionRecord["authenticators"] }, now: number): Promise<UafTransactionRecord | null> {
    const record = this.ctx.storage.kv.get<UafTransactionRecord>(RECORD);
    if (!record || record.status === "succeeded" || record.status === "failed" || record.status === "tokenCreated") return null;
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
    const end = record ? Math.max(record.expires_at, record.updated_at) + RETAIN_AFTER_END : 0;
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
  const id = namespace.newUniqueId();
  return { id: id.toString(), stub: namespace.get(id) };
}
