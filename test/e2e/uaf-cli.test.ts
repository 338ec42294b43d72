/**
 * End to end: the README's UAF story with the phone simulator CLI (`npm run simulate -- uaf ...`,
 * tools/simulator/uaf-cli.mjs) against the server on each runtime (test/e2e/runtimes.ts) serving the
 * bundled development configuration with only the issuer changed (test/e2e/simulator-cli.ts says why):
 *
 *   the backend enrolls `demo` (POST /api/v1/users/enroll, the development access key)
 *   -> `uaf redeem <appLinkUri>` registers the phone           -> /api/v1/status succeeded
 *   the backend asks for an approval (POST /api/v1/approval, channel app, a message)
 *   -> `uaf redeem <appLinkUri>` shows the message, approves   -> /api/v1/status succeeded
 *   -> `uaf show` lists the credential without private keys; redeeming the same link again fails.
 *
 * On each runtime the tests share one server and one phone file and run in order.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base64url } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { perRuntime, RUNTIMES, SERVER_NAME, startServer, type DevServer } from "./runtimes";
import { readDevelopmentConfig, simulate, type CliRun } from "./simulator-cli";
import { developmentAccessKey, uafApi, type Json, type UafApi } from "./uaf-cloud-api";

const MESSAGE = "Log in to Example";
/** The Android PIN authenticator: what `redeem` registers first when the policy accepts any kind. */
const ANDROID_PIN = "F1D0#0001";

const development = await readDevelopmentConfig();
const servers = perRuntime((runtime) =>
  startServer(runtime, (issuer) => ({ ...development, issuer }), { tempPrefix: "haapi-edge-e2e-uaf-cli-" }),
);

describe.each(RUNTIMES)(
  "the UAF phone simulator CLI against the bundled development configuration on %s",
  (runtime) => {
    let server: DevServer;
    let api: UafApi;
    let dir: string;
    let store: string;
    /** What the first redeem registered. */
    let credential: Json;
    /** The approval link the phone has redeemed. */
    let approvalLink: string;

    beforeAll(async () => {
      server = await servers.get(runtime);
      api = uafApi(
        server.issuer,
        developmentAccessKey(development),
        () => `${SERVER_NAME[runtime]} output:\n${server.output()}`,
      );
      dir = await mkdtemp(join(tmpdir(), "haapi-edge-e2e-uaf-phone-"));
      store = join(dir, "phone.json");
    });
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** Fail with everything that explains a failed run: the CLI's output and the server's. */
    function explain(cli: CliRun): string {
      return `simulate exited ${cli.code}\nstderr:\n${cli.stderr}\nstdout:\n${cli.stdout}\n${SERVER_NAME[runtime]} output:\n${server.output()}`;
    }

    /** `npm run simulate -- uaf <args> --store <phone> --base-url <server> --json`; must succeed. Returns its JSON. */
    async function uaf(args: string[]): Promise<{ result: Json; cli: CliRun }> {
      const cli = await simulate(["uaf", ...args, "--store", store, "--base-url", server.issuer, "--json"]);
      expect(cli.code, explain(cli)).toBe(0);
      return { result: JSON.parse(cli.stdout) as Json, cli };
    }

    it("enroll demo, then `uaf redeem <appLinkUri>`: the phone registers a PIN authenticator, the status is succeeded", async () => {
      const enrolled = await api.enroll("demo");
      expect(enrolled).toMatchObject({
        userId: expect.stringMatching(/^[0-9a-f]{64}$/),
        username: "demo",
        status: "new",
        authenticators: [],
      });
      const { enrollment } = enrolled;
      expect(enrollment).toEqual({
        transactionId: expect.any(String),
        statusToken: expect.any(String),
        qrCode: {
          type: "image/png",
          size: expect.any(Number),
          dataUri: expect.stringMatching(/^data:image\/png;base64,/),
        },
        appLinkUri: expect.stringMatching(new RegExp(`^${server.issuer}/open\\?dispatchTokenResponse=[A-Za-z0-9_-]+$`)),
      });
      expect(await api.status(enrollment.statusToken)).toMatchObject({ status: "pending", username: "demo" });

      const { result, cli } = await uaf(["redeem", enrollment.appLinkUri]);
      expect(cli.stderr).toContain(`new android phone "Simulated Pixel"`);
      expect(result).toMatchObject({
        command: "redeem",
        store,
        op: "Reg",
        request: { header: { op: "Reg" }, username: "demo" },
        server_response: { statusCode: 1200 },
      });
      expect(result.credential).toMatchObject({ aaid: ANDROID_PIN, keyId: expect.any(String), username: "demo" });
      expect(result.credential).not.toHaveProperty("privateJwk");
      credential = result.credential as Json;

      expect(await api.status(enrollment.statusToken)).toMatchObject({
        status: "succeeded",
        transactionId: enrollment.transactionId,
        userId: enrolled.userId,
        username: "demo",
      });
      // The phone file holds the private keys, readable by its owner only.
      expect((await stat(store)).mode & 0o777).toBe(0o600);
      const phone = JSON.parse(await readFile(store, "utf8")) as Json;
      expect(phone.credentials).toEqual([
        expect.objectContaining({
          aaid: ANDROID_PIN,
          keyId: credential.keyId,
          privateJwk: expect.objectContaining({ d: expect.any(String) }),
        }),
      ]);
    });

    it("approval by app link: `uaf redeem <appLinkUri>` is shown the message and approves, the status is succeeded", async () => {
      const approval = await api.post("/api/v1/approval", { username: "demo", channel: "app", message: MESSAGE });
      expect(approval.status, server.output()).toBe(200);
      expect(approval.body).toEqual({
        transactionId: expect.any(String),
        userId: expect.stringMatching(/^[0-9a-f]{64}$/),
        statusToken: expect.any(String),
        qrCode: {
          type: "image/png",
          size: expect.any(Number),
          dataUri: expect.stringMatching(/^data:image\/png;base64,/),
        },
        appLinkUri: expect.stringMatching(new RegExp(`^${server.issuer}/open\\?dispatchTokenResponse=`)),
      });
      expect(await api.status(approval.body.statusToken)).toMatchObject({ status: "pending" });
      approvalLink = approval.body.appLinkUri as string;

      const { result } = await uaf(["redeem", approvalLink]);
      expect(result).toMatchObject({
        command: "redeem",
        op: "Auth",
        request: { header: { op: "Auth" } },
        server_response: { statusCode: 1200 },
      });
      expect(result.request.transaction).toEqual([{ contentType: "text/plain", content: expect.any(String) }]);
      expect(new TextDecoder().decode(base64url.decode(result.request.transaction[0].content as string))).toBe(MESSAGE);
      expect(result.credential).toMatchObject({
        aaid: ANDROID_PIN,
        keyId: credential.keyId,
        signCounter: credential.signCounter + 1,
      });

      expect(await api.status(approval.body.statusToken)).toMatchObject({
        status: "succeeded",
        transactionId: approval.body.transactionId,
        username: "demo",
      });
    });

    it("`uaf show` lists the credential without private keys", async () => {
      const cli = await simulate(["uaf", "show", "--store", store, "--json"]);
      expect(cli.code, explain(cli)).toBe(0);
      const shown = JSON.parse(cli.stdout) as Json;
      expect(shown).toMatchObject({ command: "show", store, phone: { platform: "android", name: "Simulated Pixel" } });
      expect(shown.phone.credentials).toEqual([
        expect.objectContaining({ aaid: ANDROID_PIN, keyId: credential.keyId, username: "demo" }),
      ]);
      for (const output of [cli.stdout, cli.stderr]) {
        expect(output).not.toContain("privateJwk");
        expect(output).not.toMatch(/"d"\s*:/);
      }
    });

    it("redeeming the same link a second time fails with a non-zero exit and says why", async () => {
      expect(approvalLink, "the approval test ran first").toBeDefined();
      const cli = await simulate([
        "uaf",
        "redeem",
        approvalLink,
        "--store",
        store,
        "--base-url",
        server.issuer,
        "--json",
      ]);
      expect(cli.code, explain(cli)).not.toBe(0);
      expect(cli.stdout).toBe("");
      expect(cli.stderr).toContain("token redeem refused: HTTP 400, UAF status 1400 (bad request)");
      expect(cli.stderr).toContain("The token is not valid, was already used, or has expired");
    });
  },
);
