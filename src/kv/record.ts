/**
 * Records and their transitions: how every store of this server that keeps one record per object
 * (a grant, a login session, a user, a UAF transaction, ...) is written once and run by both runtimes.
 *
 * A record kind is a name, the record's expiry, and a table of operations. An operation is a pure
 * function of the current record (null when there is none, or when it has expired), an input and
 * `now` (epoch seconds), to the next record and an outcome:
 *
 *   (current: R | null, input: I, now: number) -> { next?: R | null, outcome: O }
 *
 * `next` undefined leaves the record as it was, null deletes it. Each backend runs an operation
 * atomically on one record:
 * - Workers: inside the record's Durable Object, which runs one call at a time (durable-objects/host.ts);
 * - Deno: in a read, check versionstamp, commit loop on the record's Deno KV key (deno/host.ts).
 * So every invariant a kind states (single use, compare-and-set, rotation) is kept by the same code on
 * both, and the unit tests call the operations directly.
 */

/** What an operation decides. */
export interface Step<R, O> {
  /** The record to store; null deletes it; undefined (or absent) leaves it unchanged. */
  readonly next?: R | null;
  readonly outcome: O;
}

/** A pure state transition (WebCrypto makes a few of them asynchronous). */
export type Operation<R, I, O> = (current: R | null, input: I, now: number) => Step<R, O> | Promise<Step<R, O>>;

/** An operation table. (`any` here only so that tables of differently typed operations fit.) */
// biome-ignore lint/suspicious/noExplicitAny: operations of one table take and give different types
export type Operations<R> = Readonly<Record<string, Operation<R, any, any>>>;

// biome-ignore lint/suspicious/noExplicitAny: matches an operation of any record and outcome
export type InputOf<Op> = Op extends Operation<any, infer I, any> ? I : never;
// biome-ignore lint/suspicious/noExplicitAny: matches an operation of any record and input
export type OutcomeOf<Op> = Op extends Operation<any, any, infer O> ? O : never;

export interface RecordKind<R, Ops extends Operations<R>> {
  /** The kind's name: the Deno KV key prefix, and the label in logs and docs/storage.md. */
  readonly name: string;
  readonly operations: Ops;
  /**
   * Epoch seconds from which the record is gone: reads see null, and the backend deletes it (an alarm on
   * Workers, `expireIn` on Deno). Infinity: it stays until an operation deletes it.
   */
  readonly expiresAt: (record: R) => number;
  /**
   * Some operation awaits (WebCrypto). A Durable Object then runs the kind's operations one at a time
   * to the end (blockConcurrencyWhile), as it does synchronous ones by nature.
   */
  readonly asynchronous?: boolean;
}

/** Declare a kind (the identity function, for inference). */
export function recordKind<R, Ops extends Operations<R>>(kind: RecordKind<R, Ops>): RecordKind<R, Ops> {
  return kind;
}

/** One record of a kind, as a backend reaches it. */
export interface RecordRef<Ops> {
  /** The record's id on the wire (hex): a grant id, a Session-Id, a userId. */
  readonly id: string;
  run<K extends keyof Ops & string>(operation: K, input: InputOf<Ops[K]>, now: number): Promise<OutcomeOf<Ops[K]>>;
}

/** The records of one kind. */
export interface RecordCollection<Ops> {
  /** A new record's reference, under a fresh random id. */
  fresh(): RecordRef<Ops>;
  /** The record a wire id names, or null when the id cannot be one of this collection's. */
  byId(id: string): RecordRef<Ops> | null;
  /** The record with this name (a username, a rate-limit key): the same name, the same record. */
  named(name: string): Promise<RecordRef<Ops>>;
}

/**
 * Run `operation` of `kind` on `current` as a backend does: an expired record is no record. Synchronous
 * operations answer synchronously (a Durable Object then never yields between its read and its write).
 */
export function applyOperation<R, Ops extends Operations<R>>(
  kind: RecordKind<R, Ops>,
  operation: string,
  current: R | null,
  input: unknown,
  now: number,
): Step<R, unknown> | Promise<Step<R, unknown>> {
  const run = Object.hasOwn(kind.operations, operation) ? kind.operations[operation] : undefined;
  if (!run) throw new TypeError(`${kind.name}: no operation ${JSON.stringify(operation)}`);
  const live = current !== null && kind.expiresAt(current) > now ? current : null;
  return run(live, input, now);
}

/** Hex ids of records: 64 hex digits, as Durable Object ids are. */
export const RECORD_ID = /^[0-9a-f]{64}$/;
