/**
 * The Deno server helper (deno-server.ts), before and after the Deno entry exists:
 *   a. an entry that fails at startup, or is missing: startDenoServer throws with its exit code and output;
 *   b. a stand-in entry keeping the entry's contract (PORT, HOST, CONFIG, DENO_KV_PATH): served, on a
 *      fresh KV file, and gone after stop();
 *   c. src/deno.ts with the bundled development configuration: served for its issuer, on the KV file
 *      DENO_KV_PATH names (its directory created), saying so in its log; restarted on that file, it
 *      publishes the signing keys it made the first time (they live in the KV).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDenoServer, type DevServer } from "./deno-server";

const ROOT = resolve(import.meta.dirname, "../..");

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "haapi-edge-deno-entries-"));
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function entry(name: string, source: string): Promise<string> {
  const file = join(scratch, name);
  await writeFile(file, source);
  return file;
}

describe("a. an entry that does not start", () => {
  it("throws with the exit code and what the entry printed", async () => {
    const failing = await entry(
      "failing.ts",
      `console.error("starting"); throw new Error("CONFIG: issuer: required");\n`,
    );
    const failure = await startDenoServer(() => ({}), { entry: failing }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).toMatch(
      /^deno run .*failing\.ts on http:\/\/127\.0\.0\.1:\d+ exited \(1\)\. Its output:\n/,
    );
    expect(failure?.message).toContain("starting");
    expect(failure?.message).toContain("CONFIG: issuer: required");
  });

  it("throws naming a missing entry", async () => {
    const failure = await startDenoServer(() => ({}), { entry: join(scratch, "missing.ts") }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).toMatch(/exited \(1\)/);
    expect(failure?.message).toMatch(/Module not found .*missing\.ts/);
  });
});

describe("b. a stand-in entry keeping the contract", () => {
  let server: DevServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it("is served on its port with CONFIG for its issuer and a fresh KV file, and stop() ends it", async () => {
    const open = pathToFileURL(join(ROOT, "src/kv/deno/open.ts")).href;
    const standIn = await entry(
      "stand-in.ts",
      `import { kvLocation, openDenoKv } from ${JSON.stringify(open)};
const config = JSON.parse(Deno.env.get("CONFIG") ?? "{}");
const location = kvLocation((name) => Deno.env.get(name));
const kv = await openDenoKv(location, Deno);
await kv.set(["stand-in"], config.issuer);
const port = Number(Deno.env.get("PORT") ?? 8787);
const hostname = Deno.env.get("HOST") ?? "127.0.0.1";
Deno.serve({ port, hostname, onListen: () => console.log("listening on", hostname, port) }, (request) =>
  new URL(request.url).pathname === "/.well-known/oauth-authorization-server"
    ? Response.json({ issuer: config.issuer, location, secret: Deno.env.get("SERVER_SECRET") ?? null })
    : new Response("not found", { status: 404 }));
`,
    );
    server = await startDenoServer((issuer) => ({ issuer }), {
      entry: standIn,
      vars: { SERVER_SECRET: "from-options" },
    });
    const metadata = (await (await fetch(`${server.issuer}/.well-known/oauth-authorization-server`)).json()) as {
      issuer: string;
      location: { kind: string; path: string };
      secret: string | null;
    };
    expect(metadata.issuer).toBe(server.issuer);
    expect(metadata.secret).toBe("from-options");
    expect(metadata.location.kind).toBe("file");
    expect(metadata.location.path.startsWith(tmpdir())).toBe(true);
    expect((await stat(metadata.location.path)).isFile()).toBe(true);
    expect(server.output()).toContain(`listening on 127.0.0.1 ${server.port}`);

    await server.stop();
    expect(server.hasExited()).toBe(true);
    await expect(stat(metadata.location.path)).rejects.toThrow(/ENOENT/);
    await expect(
      fetch(`${server.issuer}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(2_000) }),
    ).rejects.toThrow();
  });
});

describe("c. src/deno.ts", () => {
  let server: DevServer | undefined;
  let development: Record<string, unknown>;
  let kvPath: string;
  let firstKeys: unknown;
  beforeAll(async () => {
    development = JSON.parse(await readFile(join(ROOT, "src/config/development.json"), "utf8")) as Record<
      string,
      unknown
    >;
    kvPath = join(scratch, "kv-of-c", "haapi-edge.sqlite3");
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** The entry's JSON log lines with `msg`. */
  const logLines = (running: DevServer, msg: string) =>
    running
      .output()
      .split("\n")
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      })
      .filter((line) => line.msg === msg);

  it("serves the bundled development configuration for its issuer, on the KV file DENO_KV_PATH names", async () => {
    server = await startDenoServer((issuer) => ({ ...development, issuer }), { vars: { DENO_KV_PATH: kvPath } });
    const response = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { issuer: string }).issuer).toBe(server.issuer);
    expect(logLines(server, "listening")).toEqual([
      expect.objectContaining({ level: "info", runtime: "deno", url: server.issuer, issuer: server.issuer }),
    ]);
    expect(
      logLines(server, "running the development configuration profile: plain-text client secrets are accepted"),
    ).toEqual([expect.objectContaining({ level: "warn", issuer: server.issuer })]);

    const jwks = await fetch(`${server.issuer}/oauth/v2/oauth-jwks`);
    expect(jwks.status).toBe(200);
    firstKeys = await jwks.json();
    expect((firstKeys as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    expect((await stat(kvPath)).isFile(), "the KV file, in a directory the entry created").toBe(true);
    await server.stop();
    expect(server.hasExited()).toBe(true);
  });

  it("restarted on the same KV file, publishes the signing keys it made before", async () => {
    expect(firstKeys, "the first start ran").toBeDefined();
    server = await startDenoServer((issuer) => ({ ...development, issuer }), { vars: { DENO_KV_PATH: kvPath } });
    expect(await (await fetch(`${server.issuer}/oauth/v2/oauth-jwks`)).json()).toEqual(firstKeys);
  });
});

describe("d. src/deno.ts: the client's address", () => {
  // Every server started, so that a failing test leaves none running.
  const servers: DevServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  /** An unauthenticated registration request (the per-source limit counts it before authentication). */
  const register = (running: DevServer, headers: Record<string, string>) =>
    fetch(`${running.issuer}/token-service/oauth-registration`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: "{}",
    });

  it("is the connection's peer: a CF-Connecting-IP the client sends does not get it a bucket of its own", async () => {
    const development = JSON.parse(await readFile(join(ROOT, "src/config/development.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const limited = {
      ...development,
      dynamic_client_registration: { rate_limit: { per_source: { requests: 2, window: 3600 } } },
    };
    const server = await startDenoServer((issuer) => ({ ...limited, issuer }));
    servers.push(server);
    const statuses = [];
    for (const claimed of ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
      statuses.push((await register(server, { "CF-Connecting-IP": claimed })).status);
    // Two requests refused for themselves (400: no initial access token), then the peer's bucket is
    // empty, whatever address the client claims.
    expect(statuses).toEqual([400, 400, 429]);
  });

  it("is a trusted proxy's header when SOURCE_ADDRESS_HEADER names it", async () => {
    const development = JSON.parse(await readFile(join(ROOT, "src/config/development.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const limited = {
      ...development,
      dynamic_client_registration: { rate_limit: { per_source: { requests: 1, window: 3600 } } },
    };
    const server = await startDenoServer((issuer) => ({ ...limited, issuer }), {
      vars: { SOURCE_ADDRESS_HEADER: "X-Real-IP" },
    });
    servers.push(server);
    const from = async (address: string) => (await register(server, { "X-Real-IP": address })).status;
    expect([await from("192.0.2.1"), await from("192.0.2.2"), await from("192.0.2.1")]).toEqual([400, 400, 429]);
  });
});
