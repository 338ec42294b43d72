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
            miniflare: {
              bindings: { CONFIG: JSON.stringify(testConfig) },
              // The tests never reach the network. A fetch that leaves the Worker (the Android status list at
              // the fixture's unreachable URL) gets this answer instead of a refused connection, which workerd
              // would log as an uncaught exception even though the server catches it.
              outboundService: (request: Request) =>
                new Response(`tests do not reach the network: ${new URL(request.url).origin}`, { status: 503 }),
            },
          }),
        ],
        // A first request in a file creates signing keys, which under a loaded CI machine can outlast vitest's 5 s default.
        test: {
          name: "workers",
          include: ["test/**/*.test.ts"],
          exclude: ["test/e2e/**", "test/browser/**", "test/deno/**"],
          testTimeout: 30_000,
        },
      },
      {
        // End to end: `wrangler dev` started as a user would, driven over HTTP from Node.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        // Real browser: `wrangler dev` (and the example SPA) driven by the system's Chromium through
        // playwright-core. Without Chromium these skip, saying how to install it; CI requires it
        // (HAAPI_EDGE_REQUIRE_CHROMIUM=1, test/browser/chromium.ts).
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/browser/global-setup.ts"],
          testTimeout: 90_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
