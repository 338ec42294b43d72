/**
 * End to end: the attestation fallback (templatized dynamic client registration, RFC 7591/7592) as the
 * device simulator plays it (`npm run simulate -- <platform> --no-attestation | --fallback`), against
 * the server on each runtime (test/e2e/runtimes.ts) serving the bundled development configuration with
 * only the issuer changed (test/e2e/simulator-cli.ts):
 *
 *   haapi-client (secret)               -> haapi-template-client     -> HAAPI token, cal none
 *   haapi-jwt-client (private_key_jwt)  -> haapi-jwt-template-client -> HAAPI token, cal by-provisioned-key
 *
 * Every access token is verified against the server's JWKS. "The second token later" is a second run
 * with the same --credentials file: the server's own request log shows that it made no registration.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logged, requestLog, type RequestLog } from "./request-log";
import { perRuntime, RUNTIMES, SERVER_NAME, startServer, type DevServer } from "./runtimes";
import { readDevelopmentConfig, simulate, type CliRun } from "./simulator-cli";

const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";
const REGISTRATION_PATH = "/token-service/oauth-registration";

/** The simulator's --json result in the fallback (tools/simulator/cli.mjs usage text). */
interface FallbackResult {
  mode: "no-attestation" | "fallback";
  fell_back?: boolean;
  platform: string;
  server: string;
  attestation_error: string | null;
  main_client_id: string;
  main_client_auth_method: "client_secret_basic" | "private_key_jwt" | null;
  template: string;
  credentials_file: string | null;
  registered: boolean;
  initial_access_token_claims: Record<string, unknown> | null;
  registration: Record<string, unknown> & {
    client_id: string;
    client_secret: string;
    registration_access_token: string;
    registration_client_uri: string;
  };
  client_id: string;
  jkt: string;
  token_response: Record<string, unknown> & { access_token: string };
  access_token_header: Record<string, unknown>;
  access_token_claims: Record<string, unknown>;
}

const registrations = (log: RequestLog[]) => log.filter((l) => l.method === "POST" && l.path === REGISTRATION_PATH);
/** Tokens issued to `clientId`: HAAPI tokens, and for a main client its initial access tokens too. */
const tokensIssuedTo = (log: RequestLog[], clientId: string) =>
  log.filter((l) => l.path === "/oauth/v2/oauth-token" && l.client_id === clientId && l.status === 200);

const development = await readDevelopmentConfig();
const servers = perRuntime((runtime) =>
  startServer(runtime, (issuer) => ({ ...development, issuer }), { tempPrefix: "haapi-edge-e2e-dcr-" }),
);

describe.each(RUNTIMES)(
  "attestation fallback: the device simulator against the bundled development configuration on %s",
  (runtime) => {
    let server: DevServer;
    let jwks: JWTVerifyGetKey;
    let dir: string;

    beforeAll(async () => {
      server = await servers.get(runtime);
      const metadata = (await (
        await fetch(`${server.issuer}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, string>;
      expect(metadata.registration_endpoint).toBe(`${server.issuer}${REGISTRATION_PATH}`);
      jwks = createRemoteJWKSet(new URL(metadata.jwks_uri!));
      dir = await mkdtemp(join(tmpdir(), "haapi-edge-e2e-dcr-credentials-"));
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function run(args: string[]): Promise<{ result: FallbackResult; cli: CliRun }> {
      const cli = await simulate([...args, "--server", server.issuer, "--json"]);
      if (cli.code !== 0) {
        throw new Error(
          `simulate ${args.join(" ")} exited ${cli.code}:\n${cli.stderr}\n${cli.stdout}\n${SERVER_NAME[runtime]} output:\n${server.output()}`,
        );
      }
      return { result: JSON.parse(cli.stdout) as FallbackResult, cli };
    }

    /** The HAAPI token: DPoP-bound to the simulator's key, issued to the dynamic client, signed by the server. */
    async function expectHaapiToken(r: FallbackResult, cal: "none" | "by-provisioned-key"): Promise<void> {
      expect(r.token_response).toMatchObject({ token_type: "DPoP", scope: HAAPI_SCOPE });
      expect(r.token_response.expires_in).toBeGreaterThan(0);
      const { payload, protectedHeader } = await jwtVerify(r.token_response.access_token, jwks, {
        typ: "at+jwt",
        issuer: server.issuer,
        audience: server.issuer,
        algorithms: ["ES256"],
      });
      expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt" });
      expect(payload).toEqual(r.access_token_claims);
      expect(payload).toMatchObject({
        client_id: r.registration.client_id,
        sub: r.registration.client_id,
        scope: HAAPI_SCOPE,
        cal,
        cnf: { jkt: r.jkt },
      });
    }

    /** A fresh registration from `template`, in the RFC 7591 §3.2.1 shape. */
    function expectRegistered(r: FallbackResult, template: string): void {
      expect(r.registered).toBe(true);
      expect(r.template).toBe(template);
      expect(r.client_id).toBe(r.registration.client_id);
      expect(r.registration.client_id).toMatch(/^[0-9a-f]{64}$/);
      expect(r.registration.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(r.registration.registration_access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(r.registration).toMatchObject({
        software_id: template,
        token_endpoint_auth_method: "client_secret_basic",
        client_secret_expires_at: 0,
        registration_client_uri: `${server.issuer}${REGISTRATION_PATH}/${r.registration.client_id}`,
      });
    }

    it("--no-attestation as haapi-client: registers from haapi-template-client, then reuses the stored client for the second token (cal none)", async () => {
      const credentials = join(dir, "haapi-client.json");

      // The first run registers and stores the credentials (readable by the owner only).
      const { result: first, cli } = await run(["android", "--no-attestation", "--credentials", credentials]);
      expect(first).toMatchObject({
        mode: "no-attestation",
        platform: "android",
        attestation_error: null,
        main_client_id: "haapi-client",
        main_client_auth_method: "client_secret_basic",
        credentials_file: credentials,
      });
      expect(first).not.toHaveProperty("fell_back");
      expectRegistered(first, "haapi-template-client");
      expect(first.initial_access_token_claims).toMatchObject({ client_id: "haapi-client", scope: "dcr", cal: "none" });
      expect(cli.stderr).toContain("client_secret and registration_access_token are shown only this once");
      expect(cli.stderr).toContain(first.registration.client_secret);
      await expectHaapiToken(first, "none");
      const stored = JSON.parse(await readFile(credentials, "utf8")) as {
        server: string;
        main_client_id: string;
        registration: unknown;
      };
      expect(stored).toMatchObject({
        server: server.issuer,
        main_client_id: "haapi-client",
        registration: first.registration,
      });
      expect((await stat(credentials)).mode & 0o777).toBe(0o600);
      const before = await logged(server, (log) => tokensIssuedTo(log, first.client_id).length === 1);
      expect(registrations(before).filter((l) => l.status === 201)).toHaveLength(1);

      // "Later": another run on the same device (the platform does not matter to the fallback).
      const { result: second, cli: secondCli } = await run(["ios", "--no-attestation", "--credentials", credentials]);
      expect(secondCli.stderr).toContain(`reusing the dynamic client stored in ${credentials}: no registration`);
      expect(secondCli.stderr).not.toContain("registration response");
      expect(second).toMatchObject({
        mode: "no-attestation",
        registered: false,
        main_client_id: "haapi-client",
        main_client_auth_method: null,
        initial_access_token_claims: null,
        template: "haapi-template-client",
      });
      expect(second.client_id).toBe(first.client_id);
      expect(second.registration).toEqual(first.registration);
      expect(second.jkt).not.toBe(first.jkt);
      await expectHaapiToken(second, "none");
      const after = await logged(server, (log) => tokensIssuedTo(log, first.client_id).length === 2);
      expect(tokensIssuedTo(after, first.client_id)).toHaveLength(2);
      expect(registrations(after), "the second run sent no registration request").toHaveLength(
        registrations(before).length,
      );
    });

    it("--no-attestation --main-client haapi-jwt-client: private_key_jwt, haapi-jwt-template-client, cal by-provisioned-key", async () => {
      const { result } = await run(["ios", "--no-attestation", "--main-client", "haapi-jwt-client"]);
      expect(result).toMatchObject({
        mode: "no-attestation",
        main_client_id: "haapi-jwt-client",
        main_client_auth_method: "private_key_jwt",
        credentials_file: null,
      });
      expectRegistered(result, "haapi-jwt-template-client");
      expect(result.initial_access_token_claims).toMatchObject({
        client_id: "haapi-jwt-client",
        scope: "dcr",
        cal: "by-provisioned-key",
      });
      await expectHaapiToken(result, "by-provisioned-key");
    });

    it("--fallback with an attestation the policy refuses (android, boot state unverified): prints the refusal, then registers (cal none)", async () => {
      const { result, cli } = await run(["android", "--fallback", "--boot-state", "unverified"]);
      expect(cli.stderr).toContain("attestation failed: falling back to dynamic client registration");
      expect(cli.stderr).not.toContain("== CAT");
      expect(result).toMatchObject({
        mode: "fallback",
        fell_back: true,
        platform: "android",
        main_client_id: "haapi-client",
        main_client_auth_method: "client_secret_basic",
      });
      expect(result.attestation_error).toContain("HTTP 400");
      expect(result.attestation_error).toContain("invalid_client_attestation");
      expect(result.attestation_error).toContain("boot_state_not_verified");
      expectRegistered(result, "haapi-template-client");
      await expectHaapiToken(result, "none");
    });

    it("--fallback when the attestation passes: no registration, a by-policy token for haapi-client", async () => {
      const tokensOfMain = (log: RequestLog[]) => tokensIssuedTo(log, "haapi-client").length;
      const before = requestLog(server);
      const cli = await simulate(["ios", "--fallback", "--server", server.issuer, "--json"]);
      expect(cli.code, cli.stderr).toBe(0);
      const result = JSON.parse(cli.stdout) as {
        mode: string;
        fell_back: boolean;
        client_id: string;
        jkt: string;
        token_response: { access_token: string };
      };
      expect(result).toMatchObject({ mode: "fallback", fell_back: false, client_id: "haapi-client" });
      const { payload } = await jwtVerify(result.token_response.access_token, jwks, {
        typ: "at+jwt",
        issuer: server.issuer,
        audience: server.issuer,
        algorithms: ["ES256"],
      });
      expect(payload).toMatchObject({ client_id: "haapi-client", cal: "by-policy", cnf: { jkt: result.jkt } });
      const after = await logged(server, (log) => tokensOfMain(log) > tokensOfMain(before));
      expect(tokensOfMain(after)).toBe(tokensOfMain(before) + 1);
      expect(registrations(after)).toHaveLength(registrations(before).length);
    });

    it("the registration access token manages the stored client (RFC 7592); once deleted, the stored credentials are refused with a hint", async () => {
      const credentials = join(dir, "deleted.json");
      const { result } = await run(["android", "--no-attestation", "--credentials", credentials]);
      const { registration_client_uri: uri, registration_access_token: token } = result.registration;
      const read = await fetch(uri, { headers: { Authorization: `Bearer ${token}` } });
      const information = (await read.json()) as Record<string, unknown>;
      expect(read.status).toBe(200);
      expect(information).toMatchObject({ client_id: result.client_id, software_id: "haapi-template-client" });
      expect(information).not.toHaveProperty("client_secret");
      expect(information).not.toHaveProperty("registration_access_token");
      const deleted = await fetch(uri, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } });
      expect(deleted.status).toBe(204);

      const again = await simulate([
        "android",
        "--no-attestation",
        "--credentials",
        credentials,
        "--server",
        server.issuer,
      ]);
      expect(again.code).not.toBe(0);
      expect(again.stdout).toContain("reusing the dynamic client");
      expect(again.stderr).toContain("HTTP 401");
      expect(again.stderr).toContain("invalid_client");
      expect(again.stderr).toContain(`delete the file to register a new one`);
    });

    it("a template the main client may not use: 403 unauthorized_client, and nothing is stored", async () => {
      const credentials = join(dir, "refused.json");
      const cli = await simulate([
        "android",
        "--no-attestation",
        "--template",
        "haapi-jwt-template-client",
        "--credentials",
        credentials,
        "--server",
        server.issuer,
        "--json",
      ]);
      expect(cli.code).not.toBe(0);
      expect(cli.stdout).toBe("");
      expect(cli.stderr).toContain("HTTP 403");
      expect(cli.stderr).toContain("unauthorized_client");
      await expect(stat(credentials)).rejects.toMatchObject({ code: "ENOENT" });
    });
  },
);
