/**
 * The store contract (test/contract/stores.ts) on Deno: the Deno KV adapter under real Deno, on a
 * Deno KV file of its own (SQLite, as `npm run start:deno` uses).
 */
import { afterAll, beforeAll } from "vitest";
import { denoKvStores } from "../../src/kv/deno/stores";
import type { Stores } from "../../src/kv/stores";
import { storeContract } from "../contract/stores";

let kv: Deno.Kv;
let stores: Stores;
let directory: string;

beforeAll(async () => {
  directory = await Deno.makeTempDir({ prefix: "haapi-edge-contract-" });
  kv = await Deno.openKv(`${directory}/kv.sqlite3`);
  stores = denoKvStores(kv);
});

afterAll(async () => {
  kv.close();
  await Deno.remove(directory, { recursive: true });
});

storeContract("Deno KV (SQLite file)", () => stores);
