/**
 * The request log: one JSON line per request, naming the failed check, with no secrets or tokens.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { workerApp } from "../helpers/runtime";
import testConfig from "../fixtures/test-config.json";
import { deviceKey, proof } from "../helpers/dpop";
import { basic, TOKEN_URL } from "../helpers/server";

const loggingEnv = { ...env, CONFIG: JSON.stringify({ ...testConfig, logging: { level: "info" } }) };

function call(headers: Record<string, string>, body: string): Promise<Response> {
  const request = new Request(TOKEN_URL, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
  return Promise.resolve(workerApp().fetch(request, loggingEnv, createExecutionContext()));
}

function captured(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);
}

afterEach(() => vi.restoreAllMocks());

describe("request log", () => {
  it("a refused proof: one warn line with the precise reason, expected and received htu", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = await deviceKey();
    const dpop = await proof(key, { htu: "https://proxy.internal/oauth/v2/oauth-token" });
    const response = await call(
      { Authorization: basic("legacy-haapi", "legacy-secret"), DPoP: dpop },
      "grant_type=client_credentials&scope=urn:se:curity:scopes:haapi",
    );
    expect(response.status).toBe(400);
    const lines = captured(warn).filter((line) => line.msg === "request");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "warn",
      method: "POST",
      path: "/oauth/v2/oauth-token",
      status: 400,
      client_id: "legacy-haapi",
      error: "invalid_dpop_proof",
      reason: "dpop_htu_mismatch",
      detail: {
        expected: "http://127.0.0.1:8787/oauth/v2/oauth-token",
        received: "https://proxy.internal/oauth/v2/oauth-token",
      },
    });
    const text = JSON.stringify(lines);
    expect(text).not.toContain("legacy-secret");
    expect(text).not.toContain(dpop);
  });

  it("a stale iat: the log carries iat and the server time", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const iat = Math.floor(Date.now() / 1000) - 3600;
    await call(
      { Authorization: basic("legacy-haapi", "legacy-secret"), DPoP: await proof(await deviceKey(), { iat }) },
      "grant_type=client_credentials&scope=urn:se:curity:scopes:haapi",
    );
    const [line] = captured(warn).filter((entry) => entry.msg === "request");
    expect(line).toMatchObject({ reason: "dpop_iat_too_old", detail: { iat } });
    expect((line!.detail as { server_time: number }).server_time).toBeGreaterThan(iat);
  });

  it("a success: one info line, no token in it", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const response = await call(
      { Authorization: basic("plain-client", "plain-secret") },
      "grant_type=client_credentials",
    );
    const token = ((await response.json()) as { access_token: string }).access_token;
    const lines = captured(log).filter((line) => line.msg === "request");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      status: 200,
      client_id: "plain-client",
      auth_method: "client_secret_basic",
      grant_type: "client_credentials",
    });
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(JSON.stringify(lines)).not.toContain("plain-secret");
  });
});
