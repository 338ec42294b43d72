/**
 * End to end: the device simulator CLI (tools/simulator/cli.mjs, `npm run simulate`) against the
 * server serving the bundled development configuration on each runtime (test/e2e/runtimes.ts:
 * `wrangler dev`, and `deno run src/deno.ts`), both started as a user would.
 * How the port and issuer are handled: test/e2e/simulator-cli.ts. A check below makes sure the
 * configuration is the bundled one with only the issuer changed.
 *
 * The simulator is run as a child process with the Node that runs the tests, with `--json` so its
 * result (CAT claims, token response, decoded access token) is read from stdout as one JSON object.
 * The attestation fallback (dynamic client registration) has its own file: fallback.test.ts.
 */
import { calculateJwkThumbprint, createRemoteJWKSet, jwtVerify, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { perRuntime, RUNTIMES, SERVER_NAME, startServer, type DevServer } from "./runtimes";
import { readDevelopmentConfig, simulate } from "./simulator-cli";

const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";
const CAT_TYP = "oauth-client-attestation+jwt";

interface SimulatorResult {
  mode: string;
  platform: string;
  server: string;
  client_id: string;
  jkt: string;
  challenge: string;
  cat: string;
  cat_header: Record<string, unknown>;
  cat_claims: Record<string, unknown> & { cnf: { jwk: JWK } };
  token_response: Record<string, unknown>;
  access_token_header: Record<string, unknown>;
  access_token_claims: Record<string, unknown> & { cnf: { jkt: string } };
}

// ---------------------------------------------------------------------------------------------

const development = await readDevelopmentConfig();
const servers = perRuntime((runtime) =>
  startServer(runtime, (issuer) => ({ ...development, issuer }), { tempPrefix: "haapi-edge-e2e-sim-" }),
);

describe.each(RUNTIMES)("device simulator CLI against the bundled development configuration on %s", (runtime) => {
  let server: DevServer;
  let jwksUri: string;

  beforeAll(async () => {
    server = await servers.get(runtime);
    const response = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
    const metadata = (await response.json()) as { issuer: string; jwks_uri: string };
    expect(metadata.issuer).toBe(server.issuer);
    jwksUri = metadata.jwks_uri;
    expect(jwksUri).toBe(`${server.issuer}/oauth/v2/oauth-jwks`);
  });

  it("runs the bundled development configuration with only the issuer changed", () => {
    const { issuer, ...rest } = development;
    expect(issuer).toBe("http://127.0.0.1:8787");
    expect(rest.environment).toBe("development");
    // The simulator's default client: no secret, its CAT is its only credential.
    const client = (rest.clients as Array<Record<string, any>>).find((c) => c.client_id === "mobile-app");
    expect(client?.token_endpoint_auth_method).toBe("attest_jwt_client_auth");
    expect(client?.client_secret).toBeUndefined();
    expect(client?.attestation?.android?.policy).toBe("simulator");
    expect(client?.attestation?.ios?.policy).toBe("simulator");
  });

  async function runDevice(platform: "android" | "ios"): Promise<SimulatorResult> {
    const result = await simulate([platform, "--server", server.issuer, "--json"]);
    if (result.code !== 0) {
      throw new Error(
        `simulate ${platform} exited ${result.code}:\n${result.stderr}\n${result.stdout}\n${SERVER_NAME[runtime]} output:\n${server.output()}`,
      );
    }
    return JSON.parse(result.stdout) as SimulatorResult;
  }

  async function expectAttestedToken(platform: "android" | "ios"): Promise<void> {
    const r = await runDevice(platform);
    const jwks = createRemoteJWKSet(new URL(jwksUri));
    expect(r).toMatchObject({ mode: "attestation", platform, server: server.issuer, client_id: "mobile-app" });

    // The CAT: what the CLI decoded, and the token itself verified with the server's keys.
    expect(r.cat_header).toMatchObject({ alg: "ES256", typ: CAT_TYP });
    expect(r.cat_claims).toMatchObject({
      iss: server.issuer,
      sub: "mobile-app",
      cal: "by-policy",
      attestation: { platform },
    });
    const cat = await jwtVerify(r.cat, jwks, {
      typ: CAT_TYP,
      issuer: server.issuer,
      subject: "mobile-app",
      algorithms: ["ES256"],
    });
    expect(cat.payload).toEqual(r.cat_claims);
    const catJkt = await calculateJwkThumbprint(r.cat_claims.cnf.jwk, "sha256");
    expect(catJkt, "CAT cnf.jwk is the simulator's DPoP key").toBe(r.jkt);

    // The token response and the access token.
    expect(r.token_response).toMatchObject({ token_type: "DPoP", scope: HAAPI_SCOPE });
    expect(typeof r.token_response.access_token).toBe("string");
    expect(r.token_response.expires_in).toBeGreaterThan(0);
    const { payload, protectedHeader } = await jwtVerify(r.token_response.access_token as string, jwks, {
      typ: "at+jwt",
      issuer: server.issuer,
      audience: server.issuer,
      algorithms: ["ES256"],
    });
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(payload).toEqual(r.access_token_claims);
    expect(payload).toMatchObject({ sub: "mobile-app", client_id: "mobile-app", cal: "by-policy", scope: HAAPI_SCOPE });
    expect((payload.cnf as { jkt?: unknown }).jkt, "access token cnf.jkt = thumbprint of the CAT's cnf.jwk").toBe(
      catJkt,
    );
  }

  it("android: attested CAT (by-policy) and a verified DPoP-bound HAAPI access token", async () => {
    await expectAttestedToken("android");
  });

  it("ios: attested CAT (by-policy) and a verified DPoP-bound HAAPI access token", async () => {
    await expectAttestedToken("ios");
  });

  it("android with a package the client does not allow: exits non-zero with the server's 400 invalid_client_attestation", async () => {
    const result = await simulate(["android", "--server", server.issuer, "--package", "com.other.app"]);
    expect(result.code, `simulate succeeded with a foreign package:\n${result.stdout}`).not.toBe(0);
    expect(result.stderr).toContain("HTTP 400");
    expect(result.stderr).toContain("invalid_client_attestation");
    expect(result.stdout).not.toContain("== CAT");
    expect(result.stdout).not.toContain("== token response");
  });
});
