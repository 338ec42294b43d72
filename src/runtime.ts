/**
 * What a runtime's entry point gives the application for each request: the configuration, the stores,
 * the secrets and the assets. The Workers entry (src/index.ts) builds it from the Worker's bindings, the
 * Deno entry (src/deno.ts) from the environment and Deno KV; nothing else in src/ knows which runtime
 * it runs on.
 */
import type { Config } from "./config/load";
import type { Stores } from "./kv/stores";

export interface Secrets {
  /** Production signing keys: a JWK set of EC P-256 private keys; the first one signs. */
  readonly signingKeys?: string | undefined;
  /** Input for stateless server MACs (DPoP nonces, CAT challenges, serverData), at least 32 characters. */
  readonly serverSecret?: string | undefined;
  /** Firebase service account JSON (project_id, client_email, private_key) for push dispatch. */
  readonly fcmServiceAccount?: string | undefined;
}

export interface Runtime {
  readonly config: Config;
  readonly stores: Stores;
  readonly secrets: Secrets;
  /** The web driver iframe page's script (src/routes/cat/web-cat.client.js), as text. */
  readonly webCatScript: string;
}

/** The runtime of a request, from whatever the platform passes as the request's environment. */
export type RuntimeOf = (platformEnv: unknown) => Runtime;
