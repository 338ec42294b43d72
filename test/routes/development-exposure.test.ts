/**
 * The bundled development configuration (no CONFIG) has publicly known client secrets, user passwords
 * and test CA: a Worker deployed without CONFIG must not serve it. It answers loopback hosts only (as
 * `npm start` is reached); any other host gets a 500 server_error naming the missing CONFIG.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { workerApp } from "../helpers/runtime";

const withoutConfig: Env = { ...env, CONFIG: undefined } as Env;

const metadata = (origin: string, bindings: Env) =>
  workerApp().fetch(new Request(`${origin}/.well-known/oauth-authorization-server`), bindings);

// The development configuration logs every request; the lines are checked here, not printed.
let logged: { log: ReturnType<typeof vi.spyOn>; error: ReturnType<typeof vi.spyOn> };
beforeEach(() => {
  logged = {
    log: vi.spyOn(console, "log").mockImplementation(() => {}),
    error: vi.spyOn(console, "error").mockImplementation(() => {}),
  };
});
afterEach(() => vi.restoreAllMocks());

const lines = (spy: { mock: { calls: unknown[][] } }) =>
  spy.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);

describe("the bundled development configuration", () => {
  it.each(["http://127.0.0.1:8787", "http://localhost:8787", "http://[::1]:8787"])(
    "is served at %s",
    async (origin) => {
      const response = await metadata(origin, withoutConfig);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { issuer: string }).issuer).toBe("http://127.0.0.1:8787");
      expect(lines(logged.log)).toEqual([expect.objectContaining({ status: 200 })]);
    },
  );

  it.each(["https://haapi-edge.example.workers.dev", "http://192.168.1.20:8787"])(
    "is refused at %s: 500 server_error, nothing issued",
    async (origin) => {
      const response = await metadata(origin, withoutConfig);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({
        error: "server_error",
        error_description: "this server has no configuration (CONFIG)",
      });
      const token = await workerApp().fetch(
        new Request(`${origin}/oauth/v2/oauth-token`, {
          method: "POST",
          headers: {
            Authorization: `Basic ${btoa("dev-client:dev-secret")}`,
            "Content-Type": "application/x-www-form-urlencoded",
          },
          body: "grant_type=client_credentials&scope=openid",
        }),
        withoutConfig,
      );
      expect(token.status).toBe(500);
      // The operator's log says why, for both requests.
      expect(lines(logged.error)).toEqual([
        expect.objectContaining({ status: 500, reason: "development_configuration_exposed" }),
        expect.objectContaining({ status: 500, reason: "development_configuration_exposed" }),
      ]);
    },
  );

  it("does not restrict a configuration given in CONFIG, development or not", async () => {
    const response = await metadata("https://haapi-edge.example.workers.dev", env as Env);
    expect(response.status).toBe(200);
  });
});
