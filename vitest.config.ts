import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import testConfig from "./test/fixtures/test-config.json" with { type: "json" };

export default defineConfig({
  test: {
    projects: [
      {
        // Unit, route, flow and interop tests: inside workerd, with real KV and Durable Objects.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { CONFIG: JSON.stringify(testConfig) } },
          }),
        ],
        test: { name: "workers", include: ["test/**/*.test.ts"], exclude: ["test/e2e/**"] },
      },
      {
        // End to end: `wrangler dev` started as a user would, driven over HTTP from Node.
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 90_000 },
      },
    ],
  },
});
