/**
 * 405 from the route table (src/routes/method-not-allowed.ts): every path the app serves refuses the
 * methods it does not serve, with `Allow` naming exactly the ones it does, in its sub-app's format.
 */
import { exports } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { configFor } from "../../src/config/load";
import { allowedMethods, refuseOtherMethods } from "../../src/routes/method-not-allowed";
import testConfig from "../fixtures/test-config.json";
import { testStores, workerApp } from "../helpers/runtime";
import { BASE } from "../helpers/server";

/** The JSON body, whatever its media type (read as bytes: workerd warns on .text() of application/fido+uaf). */
async function jsonOf(response: Response): Promise<Record<string, unknown>> {
  return JSON.parse(new TextDecoder().decode(await response.arrayBuffer())) as Record<string, unknown>;
}

describe("allowedMethods", () => {
  it("lists each path's methods in registration order, once; middleware, 405s and preflights are not methods", () => {
    const allowed = allowedMethods([
      { method: "ALL", path: "/a/*" },
      { method: "OPTIONS", path: "/a" },
      { method: "POST", path: "/a" },
      { method: "GET", path: "/a" },
      { method: "POST", path: "/a" },
      { method: "DELETE", path: "/b/:id" },
      { method: "ALL", path: "/c" },
    ]);
    expect([...allowed]).toEqual([
      ["/a", "POST, GET"],
      ["/b/:id", "DELETE"],
    ]);
  });
});

describe("refuseOtherMethods", () => {
  it("answers a wrong method with the sub-app's error, rendered by the sub-app's onError", async () => {
    const child = refuseOtherMethods(
      new Hono().get("/thing", (c) => c.text("ok")).post("/thing", (c) => c.text("ok")),
      (allow) => {
        throw new Error(`no; ${allow}`);
      },
    );
    child.onError((error) => new Response(error.message, { status: 405 }));
    const parent = new Hono().route("/", child);
    expect(await (await parent.request("/thing")).text()).toBe("ok");
    const refused = await parent.request("/thing", { method: "DELETE" });
    expect({ status: refused.status, text: await refused.text() }).toEqual({ status: 405, text: "no; GET, POST" });
    expect((await parent.request("/other", { method: "DELETE" })).status).toBe(404);
  });

  it("OAuth by default: method_not_allowed with Allow", async () => {
    const app = refuseOtherMethods(new Hono().post("/token", (c) => c.text("ok")));
    app.onError((error) => (error as unknown as { toResponse(): Response }).toResponse());
    const response = await app.request("/token");
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("POST");
    expect(await response.json()).toEqual({ error: "method_not_allowed", error_description: "use POST" });
  });
});

const SAMPLE: Record<string, string> = {
  client_id: "0".repeat(64),
  id: "html-form",
  session: "0".repeat(64),
  secret: "x",
  operation: "registration",
  deviceId: "device-1",
};

/** Which format a path answers errors in (its sub-app). */
function formatOf(path: string): "problem" | "uaf" | "oauth" {
  if (path === "/oauth/v2/oauth-authorize" || path.startsWith("/authn/")) return "problem";
  if (/^\/(_app|nevisfido)\/(uaf\/1\.1|token\/redeem|devices)\//.test(path) || path.startsWith("/auth/fidouaf"))
    return "uaf";
  return "oauth";
}

describe("the app's route table", () => {
  it("every path refuses another method with 405 and exactly its own methods in Allow, in its sub-app's format", async () => {
    const table = allowedMethods(workerApp().routes);
    expect(table.size).toBeGreaterThan(40);
    for (const [path, allow] of table) {
      const method = ["PUT", "PATCH", "DELETE", "POST"].find((candidate) => !allow.split(", ").includes(candidate))!;
      const url = `${BASE}${path.replace(/:(\w+)/g, (_, name: string) => SAMPLE[name]!)}`;
      const response = await exports.default.fetch(url, { method, headers: { Accept: "application/vnd.auth+json" } });
      const where = `${method} ${path}`;
      expect(response.status, where).toBe(405);
      expect(response.headers.get("Allow"), where).toBe(allow);
      const body = await jsonOf(response);
      switch (formatOf(path)) {
        case "problem":
          expect(response.headers.get("Content-Type"), where).toBe("application/problem+json");
          expect(body, where).toEqual({ type: "https://curity.se/problems/generic-user-error", title: `Use ${allow}` });
          break;
        case "uaf":
          expect(body, where).toEqual({ statusCode: 1400, description: `use ${allow}` });
          break;
        case "oauth":
          expect(body, where).toEqual({ error: "method_not_allowed", error_description: `use ${allow}` });
      }
    }
  });

  it("the methods in Allow are the ones the table serves (token: POST; userinfo: GET, POST; client URI: GET, PUT, DELETE)", () => {
    const table = allowedMethods(workerApp().routes);
    expect(table.get("/oauth/v2/oauth-token")).toBe("POST");
    expect(table.get("/oauth/v2/oauth-userinfo")).toBe("GET, POST");
    expect(table.get("/token-service/oauth-registration/:client_id")).toBe("GET, PUT, DELETE");
    expect(table.get("/oauth/v2/oauth-authorize")).toBe("GET");
  });

  it("an unknown path is 404 not_found; an unknown path under the UAF services, their 1404", async () => {
    const unknown = await exports.default.fetch(`${BASE}/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "not_found", error_description: "no such endpoint" });
    const uaf = await exports.default.fetch(`${BASE}/_app/uaf/1.1/nope`, { method: "POST" });
    expect(uaf.status).toBe(404);
    expect(await jsonOf(uaf)).toEqual({ statusCode: 1404, description: "no such endpoint" });
  });
});

describe("UAF off (uaf.enabled false)", () => {
  // Without the UAF server, no authenticator may use it, and no client keeps one that does.
  const offUaf = (id: string) => testConfig.authenticators.some((one) => one.id === id && one.type.startsWith("uaf-"));
  const config = configFor(
    JSON.stringify({
      ...testConfig,
      uaf: { ...testConfig.uaf, enabled: false },
      authenticators: testConfig.authenticators.filter((one) => !offUaf(one.id)),
      clients: testConfig.clients.filter(
        (client) => !("authenticators" in client && client.authenticators?.some(offUaf)),
      ),
    }),
  );
  const app = createApp(() => ({ config, stores: testStores(), secrets: {}, webCatScript: "" }));

  it("its paths are 404 in their sub-app's format, whatever the method: nothing says they exist", async () => {
    for (const [method, path] of [
      ["GET", "/_app/uaf/1.1/facets"],
      ["PUT", "/_app/uaf/1.1/facets"],
      ["POST", "/auth/fidouaf"],
    ]) {
      const response = await app.fetch(new Request(`${BASE}${path}`, { method }));
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await jsonOf(response), `${method} ${path}`).toEqual({
        statusCode: 1404,
        description: "no such endpoint",
      });
    }
    for (const [method, path] of [
      ["POST", "/api/v1/status"],
      ["GET", "/_app/status"],
      ["POST", "/nevisfido/token/dispatch/registration"],
    ]) {
      const response = await app.fetch(new Request(`${BASE}${path}`, { method }));
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await jsonOf(response), `${method} ${path}`).toEqual({
        error: "not_found",
        error_description: "no such endpoint",
      });
    }
  });
});
