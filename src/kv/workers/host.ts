/**
 * Records on Workers: one Durable Object per record (record.ts). The object runs one call at a time and
 * its storage calls are synchronous, so an operation's read, transition and write cannot interleave with
 * another call's: each operation is atomic. (A kind whose operations await runs them under
 * blockConcurrencyWhile.) An alarm deletes the record when it expires.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";
import {
  applyOperation,
  RECORD_ID,
  type Operations,
  type RecordCollection,
  type RecordKind,
  type RecordRef,
} from "../record";

/** The storage key of the record in its object. */
export const RECORD = "record";

/** What every record host answers over RPC. */
export interface RecordHostRpc {
  run(operation: string, input: unknown, now: number): Promise<unknown>;
}

/** A Durable Object class hosting records of `kind` (subclassed once per binding, e.g. `class Grant extends recordHost(grantKind) {}`). */
export function recordHost<R, Ops extends Operations<R>>(kind: RecordKind<R, Ops>) {
  return class RecordHost extends DurableObject<Env> implements RecordHostRpc {
    async run(operation: string, input: unknown, now: number): Promise<unknown> {
      return kind.asynchronous
        ? this.ctx.blockConcurrencyWhile(() => this.execute(operation, input, now))
        : this.execute(operation, input, now);
    }

    private async execute(operation: string, input: unknown, now: number): Promise<unknown> {
      const current = this.ctx.storage.kv.get<R>(RECORD) ?? null;
      const result = applyOperation<R, Ops>(kind, operation, current, input, now);
      const step = result instanceof Promise ? await result : result;
      if (step.next === null) {
        this.ctx.storage.kv.delete(RECORD);
        await this.ctx.storage.deleteAlarm();
      } else if (step.next !== undefined) {
        this.ctx.storage.kv.put(RECORD, step.next);
        await this.schedule(kind.expiresAt(step.next));
      }
      return step.outcome;
    }

    private async schedule(expiresAt: number): Promise<void> {
      if (Number.isFinite(expiresAt)) await this.ctx.storage.setAlarm(expiresAt * 1000);
      else await this.ctx.storage.deleteAlarm();
    }

    /** Delete the record once it has expired; an alarm that runs early (alarms are at-least-once) reschedules. */
    override async alarm(): Promise<void> {
      const record = this.ctx.storage.kv.get<R>(RECORD);
      const expiresAt = record === undefined ? -Infinity : kind.expiresAt(record);
      if (expiresAt * 1000 > Date.now()) {
        await this.schedule(expiresAt);
        return;
      }
      await this.ctx.storage.deleteAll();
    }
  };
}

function refOf<Ops>(stub: DurableObjectStub, id: string): RecordRef<Ops> {
  const host = stub as unknown as RecordHostRpc;
  return { id, run: (operation, input, now) => host.run(operation, input, now) as Promise<never> };
}

/**
 * The records of `kind` in a Durable Object namespace: fresh ones where the request runs (`newUniqueId`),
 * wire ids checked by `idFromString` (a forged or mistyped id reaches no object), names by `idFromName`.
 */
export function durableObjectCollection<R, Ops extends Operations<R>>(
  namespace: DurableObjectNamespace,
  kind: RecordKind<R, Ops>,
): RecordCollection<Ops> {
  return {
    fresh() {
      const id = namespace.newUniqueId();
      return refOf<Ops>(namespace.get(id), id.toString());
    },
    byId(id) {
      if (!RECORD_ID.test(id)) return null;
      try {
        return refOf<Ops>(namespace.get(namespace.idFromString(id)), id);
      } catch {
        return null;
      }
    },
    async named(name) {
      const id = namespace.idFromName(`${kind.name}:${name}`);
      return refOf<Ops>(namespace.get(id), id.toString());
    },
  };
}
