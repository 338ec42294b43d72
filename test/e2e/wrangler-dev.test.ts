/**
 * End to end: the server started as a user would start it, on each runtime (test/e2e/runtimes.ts:
 * `wrangler dev`, and `deno run src/deno.ts`), driven over real HTTP from Node.
 *
 * Each configuration below runs on its own server per runtime, on a free port with fresh storage (a
 * --persist-to directory, or a Deno KV file) and a CONFIG whose issuer is that port (DPoP htu and
 * assertion aud are compared with the issuer). The two runtimes' servers start at once; every process
 * group and temp directory is removed afterwards.
 *
 *   a. the bundled development configuration, through scripts/get-token.mjs;
 *   b. a production-profile configuration with a hashed secret, a private_key_jwt and a
 *      tls_client_auth (RFC 9440 Client-Cert header) client, each getting a DPoP-bound token;
 *   c. a broken configuration: the server must refuse to serve and name the bad field.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  perRuntime,
  RUNTIMES,
  SERVER_NAME,
  spawnSettledOn,
  startServer,
  STARTUP_TIMEOUT,
  type DevServer,
} from "./runtimes";

const ROOT = resolve(import.meta.dirname, "../..");
const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";
const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// The client side: DPoP, client authentication, token verification

interface DeviceKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly jkt: string;
}

async function deviceKey(): Promise<DeviceKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, "sha256") };
}

function dpopProof(key: DeviceKey, htu: string, nonce?: string): Promise<string> {
  return new SignJWT({ htm: "POST", htu, ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ typ: "dpop+jwt", alg: "ES256", jwk: key.publicJwk })
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .sign(key.privateKey);
}

function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString("base64")}`;
}

interface TokenAttempt {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
  /** Whether the first answer was use_dpop_nonce and the request was repeated with the nonce. */
  readonly retriedWithNonce: boolean;
}

/**
 * POST a client_credentials request with a DPoP proof; on 400 use_dpop_nonce, once more with the nonce.
 * `credentials` runs per attempt, so a client assertion is never sent twice.
 */
async function requestToken(
  tokenEndpoint: string,
  key: DeviceKey,
  credentials: () => Promise<{ headers?: Record<string, string>; form?: Record<string, string> }>,
  scope: string,
): Promise<TokenAttempt> {
  let nonce: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const { headers = {}, form = {} } = await credentials();
    const response = await fetch(tokenEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        DPoP: await dpopProof(key, tokenEndpoint, nonce),
        ...headers,
      },
      body: new URLSearchParams({ grant_type: "client_credentials", scope, ...form }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    const serverNonce = response.headers.get("DPoP-Nonce");
    if (attempt === 1 && response.status === 400 && body.error === "use_dpop_nonce" && serverNonce) {
      nonce = serverNonce;
      continue;
    }
    return { status: response.status, body, headers: response.headers, retriedWithNonce: attempt === 2 };
  }
}

interface Metadata {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
}

async function metadataOf(server: DevServer): Promise<Metadata> {
  const response = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
  expect(response.status).toBe(200);
  const metadata = (await response.json()) as Metadata;
  expect(metadata.issuer).toBe(server.issuer);
  expect(metadata.token_endpoint).toBe(`${server.issuer}/oauth/v2/oauth-token`);
  return metadata;
}

/** Verify an access token with the server's published keys; returns its claims. */
async function verifyAccessToken(
  metadata: Metadata,
  token: string,
  expected: { clientId: string; jkt: string; cal: string; scope: string },
): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(metadata.jwks_uri)), {
    typ: "at+jwt",
    issuer: metadata.issuer,
    audience: metadata.issuer,
    algorithms: ["ES256"],
  });
  expect(protectedHeader.typ).toBe("at+jwt");
  expect(payload).toMatchObject({
    iss: metadata.issuer,
    sub: expected.clientId,
    client_id: expected.clientId,
    cal: expected.cal,
    scope: expected.scope,
    cnf: { jkt: expected.jkt },
  });
  expect(typeof payload.jti).toBe("string");
  return payload;
}

/** Run a script of this repository with the Node that runs the tests. */
function runScript(script: string, args: string[]) {
  return run(process.execPath, [join(ROOT, "scripts", script), ...args], { cwd: ROOT, timeout: 30_000 });
}

async function developmentConfig(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(ROOT, "src/config/development.json"), "utf8")) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------

describe("a. the bundled development configuration", () => {
  let base: Record<string, unknown>;
  beforeAll(async () => {
    base = await developmentConfig();
  });
  const servers = perRuntime((runtime) => startServer(runtime, (issuer) => ({ ...base, issuer })));

  describe.each(RUNTIMES)("on %s", (runtime) => {
    let server: DevServer;

    beforeAll(async () => {
      server = await servers.get(runtime);
    });

    it("serves metadata for its issuer", async () => {
      await metadataOf(server);
    });

    it("gives dev-client a verified DPoP-bound HAAPI token through scripts/get-token.mjs", async () => {
      let stdout: string;
      try {
        ({ stdout } = await runScript("get-token.mjs", [
          "--issuer",
          server.issuer,
          "--client",
          "dev-client",
          "--secret",
          "dev-secret",
          "--scope",
          HAAPI_SCOPE,
        ]));
      } catch (error) {
        const { stdout: out, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`get-token.mjs failed: ${stderr}\n${out}\n${SERVER_NAME[runtime]} output:\n${server.output()}`);
      }
      const result = JSON.parse(stdout) as {
        token_response: Record<string, unknown>;
        header: Record<string, unknown>;
        claims: Record<string, unknown>;
      };
      expect(result.token_response).toMatchObject({ token_type: "DPoP", scope: HAAPI_SCOPE, expires_in: 600 });
      expect(typeof result.token_response.access_token).toBe("string");
      expect(result.header).toMatchObject({ alg: "ES256", typ: "at+jwt" });
      expect(result.claims).toMatchObject({
        iss: server.issuer,
        sub: "dev-client",
        client_id: "dev-client",
        cal: "none",
        scope: HAAPI_SCOPE,
      });
      expect((result.claims.cnf as { jkt?: unknown }).jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it("get-token.mjs exits non-zero with the server's error for a wrong secret", async () => {
      const failure = await runScript("get-token.mjs", [
        "--issuer",
        server.issuer,
        "--client",
        "dev-client",
        "--secret",
        "not-the-secret",
      ]).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failure, "get-token.mjs succeeded with a wrong secret").toBeDefined();
      expect(failure!.code).toBe(1);
      expect(failure!.stderr).toContain("401 invalid_client");
    });
  });
});

describe("b. a user-supplied production configuration", () => {
  const SECRET = `s3cret-${crypto.randomUUID()}`;
  const MTLS_SUBJECT = "CN=mtls-client,O=haapi-edge test,C=SE";
  let secretHash: string;
  let assertionKey: { privateKey: CryptoKey; privateJwk: JWK; publicJwk: JWK };
  let mtlsCertificate: string;
  let scratch: string;

  beforeAll(async () => {
    const { stdout } = await runScript("hash-secret.mjs", [SECRET]);
    secretHash = stdout.trim();
    expect(secretHash).toMatch(/^sha256\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{43}$/);

    const pair = await generateKeyPair("ES256", { extractable: true });
    const kid = "e2e-assertion-key";
    assertionKey = {
      privateKey: pair.privateKey,
      privateJwk: { ...(await exportJWK(pair.privateKey)), kid, alg: "ES256" },
      publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" },
    };
    const keys = JSON.parse(await readFile(join(ROOT, "test/fixtures/keys.json"), "utf8")) as {
      certificates: { mtls: string };
    };
    mtlsCertificate = keys.certificates.mtls;
    scratch = await mkdtemp(join(tmpdir(), "haapi-edge-e2e-keys-"));
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  // Started after the beforeAll above (hooks run in order): the configuration needs its keys.
  const servers = perRuntime((runtime) =>
    startServer(runtime, (issuer) => ({
      issuer,
      // `environment` left out: the default, "production".
      dpop: { require_nonce: true },
      mtls: { certificate_header: "Client-Cert" },
      clients: [
        {
          client_id: "secret-client",
          client_secret_hash: secretHash,
          scope: `${HAAPI_SCOPE} read`,
          capabilities: { haapi: { allow_without_attestation: true } },
        },
        {
          client_id: "jwt-client",
          token_endpoint_auth_method: "private_key_jwt",
          token_endpoint_auth_signing_alg: "ES256",
          jwks: { keys: [assertionKey.publicJwk] },
          scope: "read",
          dpop_bound_access_tokens: true,
        },
        {
          client_id: "mtls-client",
          token_endpoint_auth_method: "tls_client_auth",
          tls_client_auth_subject_dn: MTLS_SUBJECT,
          scope: "read",
          dpop_bound_access_tokens: true,
        },
      ],
    })),
  );

  describe.each(RUNTIMES)("on %s", (runtime) => {
    let server: DevServer;
    let metadata: Metadata;

    beforeAll(async () => {
      server = await servers.get(runtime);
      metadata = await metadataOf(server);
    });

    /** Fail with the server's answer and log, not just a status. */
    function expectToken(attempt: TokenAttempt): string {
      if (attempt.status !== 200) {
        throw new Error(
          `token request answered ${attempt.status} ${JSON.stringify(attempt.body)}\n${SERVER_NAME[runtime]} output:\n${server.output()}`,
        );
      }
      expect(attempt.body.token_type).toBe("DPoP");
      expect(
        attempt.retriedWithNonce,
        "the first request carried no nonce, so it must have been answered use_dpop_nonce",
      ).toBe(true);
      return attempt.body.access_token as string;
    }

    it("client_secret_basic with a client_secret_hash from scripts/hash-secret.mjs: cal none", async () => {
      const key = await deviceKey();
      const attempt = await requestToken(
        metadata.token_endpoint,
        key,
        async () => ({ headers: { Authorization: basic("secret-client", SECRET) } }),
        HAAPI_SCOPE,
      );
      const token = expectToken(attempt);
      await verifyAccessToken(metadata, token, {
        clientId: "secret-client",
        jkt: key.jkt,
        cal: "none",
        scope: HAAPI_SCOPE,
      });
    });

    it("client_secret_basic with a wrong secret: 401 invalid_client", async () => {
      const key = await deviceKey();
      const attempt = await requestToken(
        metadata.token_endpoint,
        key,
        async () => ({ headers: { Authorization: basic("secret-client", `${SECRET}x`) } }),
        HAAPI_SCOPE,
      );
      expect(attempt.status).toBe(401);
      expect(attempt.body.error).toBe("invalid_client");
      expect(attempt.body.access_token).toBeUndefined();
      expect(attempt.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
    });

    it("private_key_jwt with a key pair the test generated: cal by-provisioned-key", async () => {
      const key = await deviceKey();
      const assertion = () =>
        new SignJWT({})
          .setProtectedHeader({ alg: "ES256", kid: assertionKey.publicJwk.kid! })
          .setIssuer("jwt-client")
          .setSubject("jwt-client")
          .setAudience(metadata.issuer)
          .setIssuedAt()
          .setExpirationTime("60s")
          .setJti(crypto.randomUUID())
          .sign(assertionKey.privateKey);
      const attempt = await requestToken(
        metadata.token_endpoint,
        key,
        async () => ({
          form: {
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: await assertion(),
          },
        }),
        "read",
      );
      const token = expectToken(attempt);
      await verifyAccessToken(metadata, token, {
        clientId: "jwt-client",
        jkt: key.jkt,
        cal: "by-provisioned-key",
        scope: "read",
      });
    });

    it("private_key_jwt through scripts/get-token.mjs --private-key-jwt", async () => {
      const file = join(scratch, "jwt-client.private.jwk.json");
      await writeFile(file, JSON.stringify(assertionKey.privateJwk), { mode: 0o600 });
      let stdout: string;
      try {
        ({ stdout } = await runScript("get-token.mjs", [
          "--issuer",
          server.issuer,
          "--client",
          "jwt-client",
          "--private-key-jwt",
          file,
          "--scope",
          "read",
        ]));
      } catch (error) {
        const { stdout: out, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`get-token.mjs failed: ${stderr}\n${out}\n${SERVER_NAME[runtime]} output:\n${server.output()}`);
      }
      const result = JSON.parse(stdout) as { claims: Record<string, unknown> };
      expect(result.claims).toMatchObject({
        iss: server.issuer,
        client_id: "jwt-client",
        cal: "by-provisioned-key",
        scope: "read",
      });
    });

    it("tls_client_auth with an RFC 9440 Client-Cert header and client_id in the body: cal by-provisioned-key", async () => {
      const key = await deviceKey();
      const attempt = await requestToken(
        metadata.token_endpoint,
        key,
        async () => ({ headers: { "Client-Cert": `:${mtlsCertificate}:` }, form: { client_id: "mtls-client" } }),
        "read",
      );
      const token = expectToken(attempt);
      const claims = await verifyAccessToken(metadata, token, {
        clientId: "mtls-client",
        jkt: key.jkt,
        cal: "by-provisioned-key",
        scope: "read",
      });
      // Not configured for certificate-bound tokens: bound to the DPoP key only.
      expect((claims.cnf as Record<string, unknown>)["x5t#S256"]).toBeUndefined();
    });
  });
});

describe("c. a broken configuration", () => {
  const EXPECTED = 'clients[0].token_endpoint_auth_method: unsupported value "foo"';
  // Each runtime's server exits after the startup error; should a version keep running instead, the
  // message in its output is enough, and stop() ends it.
  const attempts = perRuntime(async (runtime) => {
    const { server } = await spawnSettledOn(
      runtime,
      (issuer) => ({
        issuer,
        clients: [
          {
            client_id: "broken-client",
            client_secret_hash: "sha256$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            token_endpoint_auth_method: "foo",
          },
        ],
      }),
      async (candidate) => (candidate.hasExited() || candidate.output().includes(EXPECTED) ? "settled" : "pending"),
    );
    return server;
  });

  // The start may poll for up to STARTUP_TIMEOUT before the test can judge it.
  it.each(RUNTIMES)("on %s: refuses to serve and names the bad field", { timeout: 90_000 }, async (runtime) => {
    const server = await attempts.get(runtime);
    const name = SERVER_NAME[runtime];
    const output = server.output();
    const state = server.hasExited()
      ? `exited (${await server.exited})`
      : `still running after ${STARTUP_TIMEOUT[runtime] / 1000} s`;
    expect(output, `${name} ${state} without naming the field; its output:\n${output}`).toContain(EXPECTED);
    if (server.hasExited()) expect(await server.exited, `${name} exit status; output:\n${output}`).not.toBe(0);

    // Whatever the server does next, nothing may be served on the port.
    const served = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`, {
      signal: AbortSignal.timeout(5_000),
    }).then(
      async (response) => ({ status: response.status, body: await response.text() }),
      () => undefined,
    );
    expect(served?.status, `${name} answered despite the bad configuration: ${JSON.stringify(served)}`).not.toBe(200);
  });
});
