/**
 * The ReplayStore port (../ports.ts) on Deno KV: one key per used identifier,
 * `["replay", scope, id]` → `{ expires_at }` (epoch seconds), with `expireIn` set to that plus a margin.
 *
 * First use wins atomically: a use reads the key and commits only if it is still what was read (absent,
 * or present but expired); of racing uses, one commits and the others read again and find it used.
 * A scope or id longer than 256 bytes is keyed by its SHA-256 instead (kv.ts textKeyPart): ids come from
 * clients, and Deno refuses keys over 2,048 bytes.
 */
import type { ReplayStore } from "../ports";
import { commitLoop, kvCall, type RetryOptions } from "./commit-loop";
import { expireIn, textKeyPart, type DenoKv, type KvKey } from "./kv";

/** What a used identifier's key holds. */
export interface UsedMark {
  /** Epoch seconds: from then on the identifier may be used again (it will have expired elsewhere). */
  readonly expires_at: number;
}

export const REPLAY_PREFIX = "replay";

/**
 * @example
 * const replay = denoReplayStore(kv);
 * if (!(await replay.use(`dpop:${jkt}`, jti, iat + 300, now))) fail("replayed");
 */
export function denoReplayStore(kv: DenoKv, options: RetryOptions = {}): ReplayStore {
  return {
    async use(scope, id, expiresAt, now) {
      if (typeof expiresAt !== "number" || Number.isNaN(expiresAt))
        throw new TypeError(`replay.use: expiresAt must be a number, got ${String(expiresAt)}`);
      const key: KvKey = [REPLAY_PREFIX, await textKeyPart(scope), await textKeyPart(id)];
      return commitLoop(
        "replay.use",
        async () => {
          const entry = await kvCall(() => kv.get<UsedMark>(key));
          if (entry.value !== null && entry.value.expires_at > now) return { result: false };
          const ttl = expireIn(expiresAt, now);
          const mark: UsedMark = { expires_at: expiresAt };
          return {
            result: true,
            commit: kv
              .atomic()
              .check({ key, versionstamp: entry.versionstamp })
              .set(key, mark, ttl === undefined ? undefined : { expireIn: ttl }),
          };
        },
        options,
      );
    },
  };
}
