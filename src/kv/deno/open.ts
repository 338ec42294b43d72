/**
 * Where the Deno entry point opens its KV, from the environment, and the opening itself:
 * - `DENO_KV_URL`: a KV Connect server (a self-hosted `denokv`, or a Deno Deploy database from
 *   outside); Deno reads the token from `DENO_KV_ACCESS_TOKEN` itself.
 * - on Deno Deploy (which sets `DENO_DEPLOY=true`, and lets nobody set `DENO_*` variables): the KV
 *   database assigned to the app, one per timeline, `Deno.openKv()` with no argument.
 * - otherwise `DENO_KV_PATH`, default `.deno-kv/haapi-edge.sqlite3`: a SQLite file, its directory
 *   created. One process per file (docs/deno.md).
 * Two processes creating the same new file at once can get "database is locked" from openKv: retried.
 */
import { isLocked } from "./commit-loop";
import type { DenoKv } from "./kv";

export const DEFAULT_KV_PATH = ".deno-kv/haapi-edge.sqlite3";

export type KvLocation =
  | { readonly kind: "remote"; readonly url: string }
  | { readonly kind: "deploy" }
  | { readonly kind: "file"; readonly path: string };

/** The KV named by the environment (`env` reads a variable: `(name) => Deno.env.get(name)`). */
export function kvLocation(env: (name: string) => string | undefined): KvLocation {
  const url = env("DENO_KV_URL");
  if (url) {
    if (!/^https?:\/\//.test(url))
      throw new TypeError(`DENO_KV_URL must be an http(s) URL of a KV Connect server, got ${JSON.stringify(url)}`);
    return { kind: "remote", url };
  }
  const path = env("DENO_KV_PATH");
  if (path) return { kind: "file", path };
  // Not DENO_DEPLOYMENT_ID: some Docker set-ups (Fresh's) set it by hand.
  if (env("DENO_DEPLOY") === "true") return { kind: "deploy" };
  return { kind: "file", path: DEFAULT_KV_PATH };
}

/** The Deno APIs opening a KV needs (the `Deno` global satisfies it). */
export interface KvOpener<Kv extends DenoKv> {
  openKv(path?: string): Promise<Kv>;
  mkdir(path: string, options: { recursive: true }): Promise<void>;
}

const OPEN_ATTEMPTS = 20;

/**
 * Open the KV at `location`.
 *
 * @example
 * const kv = await openDenoKv(kvLocation((name) => Deno.env.get(name)), Deno);
 */
export async function openDenoKv<Kv extends DenoKv>(location: KvLocation, deno: KvOpener<Kv>): Promise<Kv> {
  if (location.kind === "remote") return deno.openKv(location.url);
  if (location.kind === "deploy") return deno.openKv();
  const slash = location.path.lastIndexOf("/");
  if (slash > 0 && location.path !== ":memory:") await deno.mkdir(location.path.slice(0, slash), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    try {
      return await deno.openKv(location.path);
    } catch (error) {
      if (!isLocked(error) || attempt === OPEN_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20 * attempt));
    }
  }
}
