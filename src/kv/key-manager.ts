/**
 * Key manager: generates, stores and rotates the server's signing keys when no SIGNING_KEYS secret is
 * set, so every isolate (and every Deno process) signs with the same key. It also holds a random server
 * secret for stateless MACs (DPoP nonces) when no SERVER_SECRET is set. One record, named `signing-keys`;
 * of two processes racing to create the first keys, one commits and the other takes its keys.
 *
 * Key life: `next` (published, not signing) -> `current` (signing) -> `retired` (published until the
 * tokens it signed, and isolates' cached copies of it, have expired) -> deleted.
 */
import { calculateJwkThumbprint, type JWK } from "jose";
import { recordKind, type Step } from "./record";

export interface StoredKey {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
  /** When it starts signing (epoch seconds). */
  readonly activatesAt: number;
  /** When it stopped signing, once retired. */
  retiredAt?: number;
}

export interface KeySnapshot {
  /** The signing key. */
  readonly current: StoredKey;
  /** Public keys to publish: next, current and retired ones still needed. */
  readonly published: readonly JWK[];
  /** Base64url random secret for server MACs. */
  readonly serverSecret: string;
  /** Epoch seconds after which the snapshot is stale (the next rotation). */
  readonly validUntil: number;
}

export interface RotationPolicy {
  /** Seconds a key signs. */
  readonly rotationPeriod: number;
  /** Seconds a retired key stays published: longest token TTL plus isolate cache time. */
  readonly retainAfterRetirement: number;
}

export interface KeyState {
  keys: StoredKey[];
  serverSecret: string;
}

/** The one key-manager record's name. */
export const KEY_MANAGER_NAME = "signing-keys";

async function generateKey(activatesAt: number): Promise<StoredKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const privateJwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JWK;
  const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JWK;
  const kid = await calculateJwkThumbprint(publicJwk, "sha256");
  const clean = (jwk: JWK): JWK => {
    const { key_ops: _ops, ext: _ext, ...rest } = jwk;
    return { ...rest, kid, alg: "ES256", use: "sig" };
  };
  return { kid, privateJwk: clean(privateJwk), publicJwk: clean(publicJwk), activatesAt };
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/**
 * Advance the key state to `now`: create keys on first use, promote `next` when its time has come,
 * drop retired keys nobody can need. Pure but for key generation; exported for tests.
 */
export async function advance(
  state: KeyState | undefined,
  policy: RotationPolicy,
  now: number,
): Promise<{ state: KeyState; changed: boolean }> {
  let changed = false;
  const next: KeyState = state
    ? { keys: state.keys.map((key) => ({ ...key })), serverSecret: state.serverSecret }
    : { keys: [], serverSecret: randomSecret() };
  if (!state) changed = true;
  const live = () =>
    next.keys.filter((key) => key.retiredAt === undefined).sort((a, b) => a.activatesAt - b.activatesAt);

  if (live().length === 0) {
    next.keys.push(await generateKey(now));
    changed = true;
  }
  // Promote while the key after the current one is due.
  for (;;) {
    const [current, upcoming] = live();
    if (!current) break;
    if (!upcoming) {
      next.keys.push(await generateKey(Math.max(current.activatesAt + policy.rotationPeriod, now)));
      changed = true;
      continue;
    }
    if (upcoming.activatesAt > now) break;
    current.retiredAt = upcoming.activatesAt;
    changed = true;
  }
  const before = next.keys.length;
  next.keys = next.keys.filter(
    (key) => key.retiredAt === undefined || key.retiredAt + policy.retainAfterRetirement > now,
  );
  if (next.keys.length !== before) changed = true;
  return { state: next, changed };
}

export function snapshot(state: KeyState): KeySnapshot {
  const live = state.keys.filter((key) => key.retiredAt === undefined).sort((a, b) => a.activatesAt - b.activatesAt);
  const [current, upcoming] = live as [StoredKey, StoredKey];
  return {
    current,
    published: [current, upcoming, ...state.keys.filter((key) => key.retiredAt !== undefined)].map(
      (key) => key.publicJwk,
    ),
    serverSecret: state.serverSecret,
    validUntil: upcoming.activatesAt,
  };
}

export const keyManagerKind = recordKind({
  name: "key-manager",
  expiresAt: (_record: KeyState) => Infinity,
  asynchronous: true,
  operations: {
    /** The key set as of now, rotated if due. (Asynchronous: creating a key is a WebCrypto call.) */
    keys: async (
      current: KeyState | null,
      policy: RotationPolicy,
      now: number,
    ): Promise<Step<KeyState, KeySnapshot>> => {
      const { state, changed } = await advance(current ?? undefined, policy, now);
      return { ...(changed ? { next: state } : {}), outcome: snapshot(state) };
    },
  },
});

export type KeyManagerOperations = typeof keyManagerKind.operations;
