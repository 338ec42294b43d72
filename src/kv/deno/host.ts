/**
 * Record kinds (../record.ts) on Deno KV: each record at the key `[kind.name, id]`, each operation a
 * read, decide, commit loop on that key (commit-loop.ts). The commit is checked on the versionstamp
 * that was read, so an operation decides on the record as it is when its write lands, as it does
 * inside a Durable Object: single use, compare-and-set and rotation hold across every isolate, thread
 * and process sharing the KV.
 *
 * Ids: fresh() draws 32 random bytes; named(name) is the hex SHA-256 of `${kind.name}:${name}`; both
 * are 64 hex digits, so byId() refuses anything else before reaching storage.
 *
 * Expiry: the record carries its own (kind.expiresAt) and applyOperation treats an expired record as
 * absent; writes also set `expireIn` to that expiry plus a margin, so Deno deletes the key later
 * (lazily: about a minute late on SQLite, docs/deno.md).
 */
import {
  applyOperation,
  RECORD_ID,
  type InputOf,
  type Operations,
  type OutcomeOf,
  type RecordCollection,
  type RecordKind,
  type RecordRef,
} from "../record";
import { commitLoop, kvCall, type Decision, type RetryOptions } from "./commit-loop";
import { namedHexId, randomHexId } from "./hex-id";
import { expireIn, type DenoKv, type KvKey } from "./kv";
import { findCryptoKey, isValueTooLarge, MAX_VALUE_BYTES } from "./storable";

/** Key prefixes the other Deno KV stores use: a record kind may not take them. */
const RESERVED_NAMES = new Set(["replay", "cache"]);

/**
 * The records of `kind` in `kv`.
 *
 * @example
 * const kv = await Deno.openKv(path);
 * const grants = denoRecordCollection(kv, grantKind);
 * const created = await grants.fresh().run("create", record, now);
 */
export function denoRecordCollection<R, Ops extends Operations<R>>(
  kv: DenoKv,
  kind: RecordKind<R, Ops>,
  options: RetryOptions = {},
): RecordCollection<Ops> {
  if (typeof kind.name !== "string" || kind.name === "" || RESERVED_NAMES.has(kind.name)) {
    throw new TypeError(
      `denoRecordCollection: a record kind needs its own key prefix, not ${JSON.stringify(kind.name)}`,
    );
  }
  const ref = (id: string): RecordRef<Ops> => ({
    id,
    run: <K extends keyof Ops & string>(operation: K, input: InputOf<Ops[K]>, now: number) =>
      runOperation(kv, kind, id, operation, input, now, options) as Promise<OutcomeOf<Ops[K]>>,
  });
  return {
    fresh: () => ref(randomHexId()),
    byId: (id) => (RECORD_ID.test(id) ? ref(id) : null),
    named: async (name) => ref(await namedHexId(kind.name, name)),
  };
}

async function runOperation<R, Ops extends Operations<R>>(
  kv: DenoKv,
  kind: RecordKind<R, Ops>,
  id: string,
  operation: string,
  input: unknown,
  now: number,
  options: RetryOptions,
): Promise<unknown> {
  const key: KvKey = [kind.name, id];
  const attempt = async (): Promise<Decision<unknown>> => {
    const entry = await kvCall(() => kv.get<R>(key));
    const step = await applyOperation(kind, operation, entry.value, input, now);
    const { next, outcome } = step;
    if (next === undefined) return { result: outcome };
    const unchanged = { key, versionstamp: entry.versionstamp };
    if (next === null) {
      // Nothing to delete: the read already decided.
      if (entry.versionstamp === null) return { result: outcome };
      return { result: outcome, commit: kv.atomic().check(unchanged).delete(key) };
    }
    const cryptoKey = findCryptoKey(next);
    if (cryptoKey)
      throw new TypeError(
        `${kind.name}.${operation}: the record holds a CryptoKey at ${cryptoKey}; store keys as JWKs`,
      );
    const ttl = expireIn(kind.expiresAt(next), now);
    return {
      result: outcome,
      commit: kv
        .atomic()
        .check(unchanged)
        .set(key, next, ttl === undefined ? undefined : { expireIn: ttl }),
    };
  };
  try {
    return await commitLoop(`${kind.name}.${operation}`, attempt, options);
  } catch (error) {
    if (isValueTooLarge(error)) {
      throw new TypeError(
        `${kind.name}.${operation}: record ${id} is too large for Deno KV (at most ${MAX_VALUE_BYTES} bytes serialized)`,
        { cause: error },
      );
    }
    throw error;
  }
}
