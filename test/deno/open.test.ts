/** Where the Deno entry opens its KV (src/kv/deno/open.ts): the environment's choice, and the opening. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_KV_PATH, kvLocation, openDenoKv } from "../../src/kv/deno/open";

describe("KV location", () => {
  it("DENO_KV_URL, then DENO_KV_PATH, then Deno Deploy's own (DENO_DEPLOY=true), then the default file", () => {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];
    expect(kvLocation(env({ DENO_KV_URL: "http://kv:4512", DENO_KV_PATH: "/x" }))).toEqual({
      kind: "remote",
      url: "http://kv:4512",
    });
    expect(kvLocation(env({ DENO_KV_PATH: "/data/kv.sqlite3", DENO_DEPLOY: "true" }))).toEqual({
      kind: "file",
      path: "/data/kv.sqlite3",
    });
    expect(kvLocation(env({ DENO_DEPLOY: "true" }))).toEqual({ kind: "deploy" });
    expect(kvLocation(env({ DENO_DEPLOYMENT_ID: "set-by-hand-in-a-container" }))).toEqual({
      kind: "file",
      path: DEFAULT_KV_PATH,
    });
    expect(kvLocation(env({}))).toEqual({ kind: "file", path: DEFAULT_KV_PATH });
    expect(() => kvLocation(env({ DENO_KV_URL: "kv:4512" }))).toThrow(/DENO_KV_URL must be an http\(s\) URL/);
  });

  it("openDenoKv creates the file's directory", async () => {
    const dir = await Deno.makeTempDir({ prefix: "haapi-edge-kv-open-" });
    try {
      const opened = await openDenoKv({ kind: "file", path: join(dir, "nested/deeper/kv.sqlite3") }, Deno);
      await opened.set(["k"], 1);
      opened.close();
      expect((await Deno.stat(join(dir, "nested/deeper/kv.sqlite3"))).isFile).toBe(true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
