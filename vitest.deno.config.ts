/**
 * The tests that need real Deno (Deno KV): vitest run by Deno, so they share describe/it/expect with the
 * workerd and Node projects of vitest.config.ts. `npm run test:deno` runs:
 *
 *   deno run --config deno.json -A node_modules/vitest/vitest.mjs run --config vitest.deno.config.ts
 *
 * Under Node these files would find no `Deno` global: they are not in vitest.config.ts.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "deno",
    include: ["test/deno/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
  },
});
