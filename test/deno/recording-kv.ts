/** A Deno KV that records the key and options of every atomic set: to see the `expireIn` an adapter asked for. */
import type { DenoKv, KvAtomic, KvKey } from "../../src/kv/deno/kv";

export interface RecordedSet {
  readonly key: KvKey;
  readonly options?: { expireIn?: number };
}

export function recordingSets(inner: Deno.Kv): { kv: DenoKv; sets: RecordedSet[] } {
  const sets: RecordedSet[] = [];
  const kv: DenoKv = {
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    atomic: () => {
      const atomic: KvAtomic = inner.atomic();
      const set = atomic.set.bind(atomic);
      atomic.set = (key, value, options) => {
        sets.push({ key, options });
        return set(key, value, options);
      };
      return atomic;
    },
  };
  return { kv, sets };
}
