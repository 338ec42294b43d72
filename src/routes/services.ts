/**
 * The bindings turned into the dependencies verifiers and token code take. Only routes read env.
 */
import type { Config } from "../config/load";
import type { Env } from "../env";
import { KEY_MANAGER_NAME } from "../kv/key-manager";
import { deviceObject, replayId, replayRecorder, replayScope } from "../kv/replay-guard";
import { ISOLATE_CACHE_SECONDS, serverKeys, type ServerKeys } from "../tokens/server-keys";

export function keysFor(env: Env, config: Config, now: number): Promise<ServerKeys> {
  const manager = env.KEY_MANAGER;
  return serverKeys(
    {
      signingKeysSecret: env.SIGNING_KEYS,
      serverSecret: env.SERVER_SECRET,
      rotation: {
        rotationPeriod: config.signing_keys.rotation_period,
        retainAfterRetirement: config.maxTokenTtl + ISOLATE_CACHE_SECONDS + 60,
      },
      managed: (policy) => manager.get(manager.idFromName(KEY_MANAGER_NAME)).keys(policy),
    },
    now,
  );
}

export function dpopReplay(env: Env): (jkt: string, jti: string, expiresAt: number) => Promise<boolean> {
  return (jkt, jti, expiresAt) => deviceObject(env.REPLAY_GUARD, jkt).use(replayId.dpopProof(jti), expiresAt);
}

export function assertionReplay(env: Env, clientId: string): (jti: string, expiresAt: number) => Promise<boolean> {
  return (jti, expiresAt) => replayRecorder(env.REPLAY_GUARD, replayScope.clientAssertion(clientId, jti))(jti, expiresAt);
}
