/**
 * The store contract (test/contract/stores.ts) on Workers: the Durable Object adapter, inside workerd,
 * with the real Durable Objects and KV of the test bindings.
 */
import { storeContract } from "../contract/stores";
import { testStores } from "../helpers/runtime";

storeContract("Durable Objects and Workers KV (workerd)", () => testStores());
