/**
 * DynamicClientStore: one Durable Object per dynamically registered client, the client's source of truth.
 *
 * The object is created with `newUniqueId()` by the registration request, so it lives near the device
 * that registered, and its id is the client_id: the token request right after a registration reaches the
 * same object, with no index and no eventually consistent copy in between. A forged or mistyped
 * client_id is refused by `idFromString` before any object is reached.
 *
 * The record holds hashes only (client secret, registration access token). Every write is one `put` of
 * the whole record inside the object, and an update only replaces a record that still exists, so a PUT
 * racing a DELETE cannot bring a deleted client back. An alarm deletes the client when it was never
 * used, or when its secret expired.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { newObject, objectByHexId } from "./object-id";

/** A public JWK as registered (JSON values only, so it crosses the RPC boundary). */
export type RegisteredJwk = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/** Client metadata as registered (RFC 7591 §2), the part a client may read and replace (RFC 7592). */
export interface RegisteredMetadata {
  readonly client_name?: string;
  readonly redirect_uris: readonly string[];
  readonly grant_types: readonly string[];
  readonly response_types: readonly string[];
  readonly scope: string;
  readonly token_endpoint_auth_method: "client_secret_basic" | "client_secret_post" | "private_key_jwt";
  readonly token_endpoint_auth_signing_alg?: string;
  readonly jwks?: { readonly keys: readonly RegisteredJwk[] };
  readonly software_id: string;
  readonly software_version?: string;
  readonly dpop_bound_access_tokens?: boolean;
  /** The approved software statement the client registered with, returned unmodified (RFC 7591 §3.2.1). */
  readonly software_statement?: string;
}

export interface DynamicClientRecord {
  readonly client_id: string;
  readonly template_id: string;
  readonly main_client_id: string;
  readonly cal: ClientAssuranceLevel;
  /** `client_id_issued_at`, epoch seconds. */
  readonly issued_at: number;
  /** `client_secret_expires_at`: 0 when the secret does not expire (or there is no secret). */
  readonly secret_expires_at: number;
  /** `sha256$<salt>$<digest>` (src/verifiers/client-secret.ts), absent for private_key_jwt clients. */
  readonly client_secret_hash?: string;
  readonly registration_access_token_hash: string;
  readonly metadata: RegisteredMetadata;
  /** Epoch seconds of the first successful authentication, or null while unused. */
  readonly used_at: number | null;
  /** Deleted at this time if still unused (epoch seconds). */
  readonly unused_deadline: number;
}

const RECORD = "client";

/** When the record must go: unused past its deadline, or its secret expired. Infinity: never. */
export function deletionTime(record: DynamicClientRecord): number {
  const unused = record.used_at === null ? record.unused_deadline : Infinity;
  const expired = record.secret_expires_at > 0 ? record.secret_expires_at : Infinity;
  return Math.min(unused, expired);
}

export class DynamicClientStore extends DurableObject<Env> {
  /** Write a new client. False when this object already holds one (ids are unique: a bug, never a retry). */
  async create(record: DynamicClientRecord): Promise<boolean> {
    if (this.ctx.storage.kv.get(RECORD) !== undefined) return false;
    this.ctx.storage.kv.put(RECORD, record);
    await this.scheduleCleanup(record);
    return true;
  }

  /** The client, or null when it does not exist or is due for deletion. */
  async read(): Promise<DynamicClientRecord | null> {
    const record = this.ctx.storage.kv.get<DynamicClientRecord>(RECORD);
    if (record === undefined) return null;
    if (deletionTime(record) <= Math.floor(Date.now() / 1000)) return null;
    return record;
  }

  /** Record the first successful authentication: the client is no longer a candidate for unused clean-up. */
  async markUsed(at: number): Promise<void> {
    const record = this.ctx.storage.kv.get<DynamicClientRecord>(RECORD);
    if (record === undefined || record.used_at !== null) return;
    const updated = { ...record, used_at: at };
    this.ctx.storage.kv.put(RECORD, updated);
    await this.scheduleCleanup(updated);
  }

  /** Replace the metadata (RFC 7592 §2.2). Null when the client was deleted meanwhile. */
  async update(metadata: RegisteredMetadata): Promise<DynamicClientRecord | null> {
    const record = await this.read();
    if (record === null) return null;
    const updated = { ...record, metadata };
    this.ctx.storage.kv.put(RECORD, updated);
    return updated;
  }

  /** Delete the client (RFC 7592 §2.3). False when there was none. */
  async remove(): Promise<boolean> {
    const existed = this.ctx.storage.kv.get(RECORD) !== undefined;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    return existed;
  }

  private async scheduleCleanup(record: DynamicClientRecord): Promise<void> {
    const at = deletionTime(record);
    if (at === Infinity) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(at * 1000);
  }

  override async alarm(): Promise<void> {
    const record = this.ctx.storage.kv.get<DynamicClientRecord>(RECORD);
    if (record === undefined) return;
    if (deletionTime(record) <= Math.floor(Date.now() / 1000)) {
      await this.ctx.storage.deleteAll();
      return;
    }
    await this.scheduleCleanup(record);
  }
}

/** The object of a dynamic client_id, or null when the id cannot be one (wrong shape, or not minted by this namespace). */
export function dynamicClientObject(namespace: DurableObjectNamespace<DynamicClientStore>, clientId: string): DurableObjectStub<DynamicClientStore> | null {
  return objectByHexId(namespace, clientId);
}

/** A new client's object, created where this request runs; its id is the client_id. */
export function newDynamicClientObject(namespace: DurableObjectNamespace<DynamicClientStore>): { clientId: string; stub: DurableObjectStub<DynamicClientStore> } {
  const { id, stub } = newObject(namespace);
  return { clientId: id, stub };
}
