/**
 * The request's stores and secrets turned into the dependencies verifiers and token code take.
 */
import type { Context } from "hono";
import { KEY_MANAGER_NAME } from "../kv/key-manager";
import { replayId, replayScope } from "../kv/replay";
import { ISOLATE_CACHE_SECONDS, serverKeys, type ServerKeys } from "../tokens/server-keys";
import type { Runtime } from "../runtime";
import type { AppEnv } from "./context";

/** The server's keys (signing, published, MAC keys) of a runtime, as of `now`. */
export function runtimeKeys(runtime: Pick<Runtime, "config" | "stores" | "secrets">, now: number): Promise<ServerKeys> {
  const { config, stores, secrets } = runtime;
  return serverKeys(
    {
      signingKeysSecret: secrets.signingKeys,
      serverSecret: secrets.serverSecret,
      rotation: {
        rotationPeriod: config.signing_keys.rotation_period,
        retainAfterRetirement: config.maxTokenTtl + ISOLATE_CACHE_SECONDS + 60,
      },
      managed: async (policy) => (await stores.keys.named(KEY_MANAGER_NAME)).run("keys", policy, now),
    },
    now,
  );
}

/** The server's keys as of the request's time. */
export function keysFor<E extends AppEnv>(c: Context<E>): Promise<ServerKeys> {
  return runtimeKeys({ config: c.get("config"), stores: c.get("stores"), secrets: c.get("secrets") }, c.get("now"));
}

/** DPoP proofs are used once per key (its `dpop:<jkt>` scope). */
export function dpopReplay<E extends AppEnv>(
  c: Context<E>,
): (jkt: string, jti: string, expiresAt: number) => Promise<boolean> {
  const { replay } = c.get("stores");
  return (jkt, jti, expiresAt) => replay.use(replayScope.dpop(jkt), replayId.dpopProof(jti), expiresAt, c.get("now"));
}

/** Client assertions are used once per client. */
export function assertionReplay<E extends AppEnv>(
  c: Context<E>,
  clientId: string,
): (jti: string, expiresAt: number) => Promise<boolean> {
  const { replay } = c.get("stores");
  return (jti, expiresAt) => replay.use(replayScope.clientAssertion(clientId, jti), jti, expiresAt, c.get("now"));
}
