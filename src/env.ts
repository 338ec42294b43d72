/**
 * The Worker's bindings (wrangler.toml). Only the Workers entry point (src/index.ts) and its adapters
 * (src/kv/workers/) read them; routes get `Stores` and secrets from the request context.
 */
import type {
  DynamicClientStore,
  Grant,
  KeyManager,
  LoginSession,
  RateLimiter,
  UafTransaction,
  UafUser,
  UserStore,
  WebSession,
} from "./kv/workers/classes";
import type { ReplayGuard } from "./kv/workers/replay-guard";

export interface Env {
  /** The configuration document: a JSON string or an object. Absent: the bundled development configuration. */
  CONFIG?: unknown;
  /** Production signing keys: a JWK set of EC P-256 private keys; the first one signs. Secret. */
  SIGNING_KEYS?: string;
  /** Input for stateless server MACs (DPoP nonces), at least 32 characters. Secret. */
  SERVER_SECRET?: string;
  REPLAY_GUARD: DurableObjectNamespace<ReplayGuard>;
  KEY_MANAGER: DurableObjectNamespace<KeyManager>;
  /** One object per dynamically registered client (its id is the client_id). */
  DYNAMIC_CLIENTS: DurableObjectNamespace<DynamicClientStore>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** One object per HAAPI login flow (its id is the Session-Id). */
  LOGIN_SESSIONS: DurableObjectNamespace<LoginSession>;
  /** One object per authorization grant (its id prefixes the code and refresh tokens). */
  GRANTS: DurableObjectNamespace<Grant>;
  /** One object per user. */
  USERS: DurableObjectNamespace<UserStore>;
  /** One object per FIDO UAF user (its id is the Authentication Cloud `userId`). */
  UAF_USERS: DurableObjectNamespace<UafUser>;
  /** One object per out-of-band UAF operation (its id is the `sessionId` / `transactionId`). */
  UAF_TRANSACTIONS: DurableObjectNamespace<UafTransaction>;
  /** One object per browser session (the `haapi-session` cookie names it). */
  WEB_SESSIONS: DurableObjectNamespace<WebSession>;
  /** Firebase service account JSON (project_id, client_email, private_key) for push dispatch. Secret. */
  FCM_SERVICE_ACCOUNT?: string;
  CACHE: KVNamespace;
}

type HaapiEdgeEnv = Env;

declare global {
  namespace Cloudflare {
    // `env` from cloudflare:test and cloudflare:workers is typed as these bindings.
    interface Env extends HaapiEdgeEnv {}
  }
}
