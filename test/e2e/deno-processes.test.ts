/**
 * Two server processes on Deno with one Deno KV file: what one process spends, the other must find
 * spent. docs/deno.md recommends one process per file (a second adds contention, not capacity) but
 * promises that single use holds across processes; this drives that promise over HTTP.
 *
 * Both get the same DENO_KV_PATH and the same CONFIG: the development configuration (dev-client, demo /
 * demo-password) with the first process's URL as the issuer. They listen on different ports. The server
 * compares a DPoP proof's `htu` with the endpoint URL it derives from its configured issuer
 * (src/routes/token/verify-dpop.ts, src/routes/access-token-auth.ts), not with the URL the request came
 * in on, so a proof whose `htu` is the issuer's token URL is valid at either server, and a request goes
 * to the second process by changing only the origin it is sent to (dpop-client.ts `sentTo`).
 *
 *   a. both serve the one issuer, with one set of signing keys (kept in the KV);
 *   b. a DPoP proof accepted by one process is refused by the other as a replay (400
 *      invalid_dpop_proof), while a fresh proof with the same `htu` and nonce is accepted there; sent
 *      to both at once, one proof is accepted exactly once;
 *   c. an authorization code redeemed at one process cannot be redeemed at the other (400
 *      invalid_grant), and that second redemption revokes the grant: the access token the first
 *      redemption gave then fails at userinfo with 401, on both processes, and its refresh token is
 *      refused. Both ways round, so each process is seen redeeming a code and refusing one; and a code
 *      redeemed at both at once gives tokens once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDenoServer, type DevServer } from "./deno-server";
import { basic, DpopClient, dpopProof, newDpopKey, sentTo, type DpopAnswer, type DpopKey } from "./dpop-client";
import { haapiAuthorizationCode } from "./haapi-code";
import { logged } from "./request-log";
import { readDevelopmentConfig } from "./simulator-cli";

const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";
const LOGIN_SCOPE = "openid profile email";
const DEV_CLIENT = { clientId: "dev-client", secret: "dev-secret", redirectUri: "app://haapi" };

interface Metadata {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly authorization_endpoint: string;
  readonly userinfo_endpoint: string;
  readonly jwks_uri: string;
}

const development = await readDevelopmentConfig();

describe("two Deno server processes on one KV file, serving one issuer", () => {
  let scratch: string;
  const processes: Record<"first" | "second", DevServer> = {} as Record<"first" | "second", DevServer>;
  let first: DevServer;
  let second: DevServer;
  /** The issuer of both: the first process's URL. (`DevServer.issuer` is the URL a process listens on.) */
  let issuer: string;
  let metadata: Metadata;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "haapi-edge-e2e-deno-shared-kv-"));
    const vars = { DENO_KV_PATH: join(scratch, "shared.sqlite3") };
    // One after the other: the second's config names the first's port, and two processes creating
    // the KV file at the same moment is a startup race of its own (docs/deno.md), not this test's subject.
    first = processes.first = await startDenoServer((own) => ({ ...development, issuer: own }), {
      tempPrefix: "haapi-edge-e2e-deno-first-",
      vars,
    });
    issuer = first.issuer;
    second = processes.second = await startDenoServer(() => ({ ...development, issuer }), {
      tempPrefix: "haapi-edge-e2e-deno-second-",
      vars,
    });
    metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Metadata;
  });
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** demo logs in to dev-client at the first process (the issuer's own URL), up to the authorization code. */
  const demoLogin = (client: DpopClient) =>
    haapiAuthorizationCode(client, {
      authorizationEndpoint: metadata.authorization_endpoint,
      tokenEndpoint: metadata.token_endpoint,
      ...DEV_CLIENT,
      user: "demo",
      password: "demo-password",
      scope: LOGIN_SCOPE,
    });

  const explain = () =>
    `first process (${first.issuer}) output:\n${first.output()}\nsecond process (${second.issuer}) output:\n${second.output()}`;

  it("a. both serve the one issuer's metadata and signing keys", async () => {
    expect(second.port).not.toBe(first.port);
    expect(metadata).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/oauth/v2/oauth-token`,
      userinfo_endpoint: `${issuer}/oauth/v2/oauth-userinfo`,
    });
    const fromSecond = (await (
      await fetch(sentTo(`${issuer}/.well-known/openid-configuration`, second.issuer))
    ).json()) as Metadata;
    expect(fromSecond).toEqual(metadata);
    const jwks = await Promise.all(
      [first, second].map(async (server) => (await fetch(sentTo(metadata.jwks_uri, server.issuer))).json()),
    );
    expect((jwks[0] as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    expect(jwks[1], "the second process publishes the keys the first made").toEqual(jwks[0]);
  });

  /** A client_credentials request of dev-client for a HAAPI token, with `proof`, to `server`. */
  const haapiTokenRequest = (server: DevServer, proof: string) =>
    fetch(sentTo(metadata.token_endpoint, server.issuer), {
      method: "POST",
      headers: {
        Authorization: basic(DEV_CLIENT.clientId, DEV_CLIENT.secret),
        "Content-Type": "application/x-www-form-urlencoded",
        DPoP: proof,
      },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: HAAPI_SCOPE }),
    });

  /** The HAAPI scope needs a DPoP nonce (stateless, from a server secret kept in the KV): ask `server` for one. */
  async function nonceFrom(server: DevServer, key: DpopKey): Promise<string> {
    const answer = await haapiTokenRequest(server, await dpopProof(key, { htm: "POST", htu: metadata.token_endpoint }));
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toBe("use_dpop_nonce");
    const nonce = answer.headers.get("DPoP-Nonce");
    expect(nonce).toBeTruthy();
    return nonce!;
  }

  it("b. a DPoP proof accepted by one process is refused by the other as a replay", async () => {
    const key = await newDpopKey();
    const htu = metadata.token_endpoint;
    const nonce = await nonceFrom(first, key);

    const proof = await dpopProof(key, { htm: "POST", htu, nonce });
    const accepted = await haapiTokenRequest(first, proof);
    const token = (await accepted.json()) as Record<string, unknown>;
    expect(accepted.status, `${JSON.stringify(token)}\n${explain()}`).toBe(200);
    expect(token).toMatchObject({ token_type: "DPoP", scope: HAAPI_SCOPE });

    const replayed = await haapiTokenRequest(second, proof);
    const refusal = (await replayed.json()) as Record<string, unknown>;
    expect(replayed.status, `${JSON.stringify(refusal)}\n${explain()}`).toBe(400);
    expect(refusal).toEqual({ error: "invalid_dpop_proof", error_description: "invalid DPoP proof" });
    const log = await logged(second, (lines) => lines.some((line) => line.status === 400));
    expect(
      log.filter((line) => line.path === "/oauth/v2/oauth-token" && line.status === 400).map((line) => line.reason),
    ).toEqual(["dpop_replayed"]);

    // Refused for its jti only: the same request with a fresh proof (same key, htu and nonce) is accepted there.
    const fresh = await haapiTokenRequest(second, await dpopProof(key, { htm: "POST", htu, nonce }));
    expect(fresh.status, explain()).toBe(200);
    expect(await fresh.json()).toMatchObject({ token_type: "DPoP", scope: HAAPI_SCOPE });
  });

  it("b. one proof sent to both processes at once, twice each, is accepted exactly once", async () => {
    const key = await newDpopKey();
    const proof = await dpopProof(key, {
      htm: "POST",
      htu: metadata.token_endpoint,
      nonce: await nonceFrom(second, key),
    });
    const answers = await Promise.all(
      [first, second, first, second].map(async (server) => {
        const answer = await haapiTokenRequest(server, proof);
        return { status: answer.status, error: ((await answer.json()) as { error?: string }).error };
      }),
    );
    expect(
      answers.filter((answer) => answer.status === 200),
      `${JSON.stringify(answers)}\n${explain()}`,
    ).toHaveLength(1);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual(
      Array(3).fill({ status: 400, error: "invalid_dpop_proof" }),
    );
  });

  describe.each([
    ["first", "second"],
    ["second", "first"],
  ] as const)("c. a code redeemed at the %s server, then at the %s", (redeemAt, replayAt) => {
    it("is invalid_grant the second time, and the grant is revoked: the access token fails at userinfo, the refresh token is refused", async () => {
      const client = new DpopClient(await newDpopKey());
      // The login runs at the first process; only the redemptions move.
      const { code, verifier } = await demoLogin(client);
      const token = (origin: string, form: Record<string, string>) =>
        client.send(metadata.token_endpoint, {
          origin,
          headers: { Authorization: basic(DEV_CLIENT.clientId, DEV_CLIENT.secret) },
          form,
        });
      const redeem = (server: DevServer) =>
        token(server.issuer, {
          grant_type: "authorization_code",
          code,
          redirect_uri: DEV_CLIENT.redirectUri,
          code_verifier: verifier,
        });
      const userinfo = (server: DevServer, accessToken: string) =>
        client.send(metadata.userinfo_endpoint, { origin: server.issuer, accessToken });
      const answered = (answer: DpopAnswer) =>
        `${answer.status} ${JSON.stringify(answer.body)} (WWW-Authenticate: ${answer.headers.get("WWW-Authenticate")})\n${explain()}`;

      const redeemed = await redeem(processes[redeemAt]);
      expect(redeemed.status, answered(redeemed)).toBe(200);
      expect(redeemed.body).toMatchObject({
        token_type: "DPoP",
        scope: LOGIN_SCOPE,
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        id_token: expect.any(String),
      });
      const { access_token: accessToken, refresh_token: refreshToken } = redeemed.body as {
        access_token: string;
        refresh_token: string;
      };
      // Live before the replay, on both processes: what follows is the replay's doing.
      for (const server of [processes[redeemAt], processes[replayAt]]) {
        const before = await userinfo(server, accessToken);
        expect(before.status, answered(before)).toBe(200);
        expect(before.body).toMatchObject({ sub: "demo" });
      }

      const replayed = await redeem(processes[replayAt]);
      expect(replayed.status, answered(replayed)).toBe(400);
      expect(replayed.body).toEqual({
        error: "invalid_grant",
        error_description: "the authorization code was already used; the grant is revoked",
      });

      for (const server of [processes[redeemAt], processes[replayAt]]) {
        const after = await userinfo(server, accessToken);
        expect(after.status, answered(after)).toBe(401);
        expect(after.body.error).toBe("invalid_token");
        expect(after.headers.get("WWW-Authenticate")).toMatch(/^DPoP error="invalid_token"/);
      }
      const refreshed = await token(processes[redeemAt].issuer, {
        grant_type: "refresh_token",
        refresh_token: refreshToken,
      });
      expect(refreshed.status, answered(refreshed)).toBe(400);
      expect(refreshed.body.error).toBe("invalid_grant");
    });
  });

  it("c. a code redeemed at both processes at once, twice each: one redemption gives tokens, the others are invalid_grant and revoke them", async () => {
    const client = new DpopClient(await newDpopKey());
    const { code, verifier } = await demoLogin(client);
    const form = {
      grant_type: "authorization_code",
      code,
      redirect_uri: DEV_CLIENT.redirectUri,
      code_verifier: verifier,
    };
    const headers = { Authorization: basic(DEV_CLIENT.clientId, DEV_CLIENT.secret) };
    const answers = await Promise.all(
      [first, second, first, second].map((server) =>
        client.send(metadata.token_endpoint, { origin: server.issuer, headers, form }),
      ),
    );
    const summary = `${JSON.stringify(answers.map((answer) => [answer.status, answer.body.error]))}\n${explain()}`;
    const redeemed = answers.filter((answer) => answer.status === 200);
    expect(redeemed, summary).toHaveLength(1);
    expect(
      answers.filter((answer) => answer.status !== 200).map((answer) => [answer.status, answer.body.error]),
    ).toEqual(Array(3).fill([400, "invalid_grant"]));
    const after = await client.send(metadata.userinfo_endpoint, {
      accessToken: redeemed[0]!.body.access_token as string,
    });
    expect(after.status, summary).toBe(401);
  });
});
