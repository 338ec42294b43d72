/**
 * WebSession: one Durable Object per browser session, created when a login in a browser finishes (the
 * HTML rendering of the login flow). Its id and a 256-bit secret make the `haapi-session` cookie; the
 * object stores only SHA-256 of the secret. The FIDO UAF services accept the cookie as the Nevis SDK's
 * CookieAuthorizationProvider (an app that logged its user in through a web view registers with it).
 * An alarm deletes the object when the session expires.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { constantTimeEqual } from "../verifiers/constant-time";
import { newObject, objectByHexId } from "./object-id";

export interface WebSessionRecord {
  readonly id: string;
  /** SHA-256 (base64url) of the cookie's secret. */
  readonly secret_hash: string;
  readonly sub: string;
  readonly username: string;
  readonly acr: string;
  readonly amr: readonly string[];
  readonly auth_time: number;
  readonly created_at: number;
  readonly expires_at: number;
}

const RECORD = "session";

export class WebSession extends DurableObject<Env> {
  async create(record: WebSessionRecord): Promise<boolean> {
    if (this.ctx.storage.kv.get(RECORD) !== undefined) return false;
    this.ctx.storage.kv.put(RECORD, record);
    await this.ctx.storage.setAlarm(record.expires_at * 1000);
    return true;
  }

  /** The session, when `secretHash` is its secret's and it has not expired. */
  async read(secretHash: string, now: number): Promise<WebSessionRecord | null> {
    const record = this.ctx.storage.kv.get<WebSessionRecord>(RECORD);
    if (!record || record.expires_at <= now || !constantTimeEqual(record.secret_hash, secretHash)) return null;
    return record;
  }

  /** Whether the session is still live: for a session id the server sealed itself (a UAF request's serverData). */
  async isLive(now: number): Promise<boolean> {
    const record = this.ctx.storage.kv.get<WebSessionRecord>(RECORD);
    return record !== undefined && record.expires_at > now;
  }

  override async alarm(): Promise<void> {
    const record = this.ctx.storage.kv.get<WebSessionRecord>(RECORD);
    if (record && record.expires_at * 1000 > Date.now()) {
      await this.ctx.storage.setAlarm(record.expires_at * 1000);
      return;
    }
    await this.ctx.storage.deleteAll();
  }
}

export function webSessionObject(namespace: DurableObjectNamespace<WebSession>, id: string): DurableObjectStub<WebSession> | null {
  return objectByHexId(namespace, id);
}

export function newWebSessionObject(namespace: DurableObjectNamespace<WebSession>): { id: string; stub: DurableObjectStub<WebSession> } {
  return newObject(namespace);
}
