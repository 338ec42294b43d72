/**
 * The device simulator CLI (tools/simulator/cli.mjs, `npm run simulate`) as a child process, and the
 * bundled development configuration it is run against, for the end-to-end tests.
 *
 * Port and issuer: src/config/development.json has issuer http://127.0.0.1:8787, and the server
 * compares DPoP `htu` (and the metadata it publishes) with the issuer, so a server on another port
 * would refuse every proof. Rather than requiring port 8787 to be free (and skipping otherwise, or
 * colliding with a developer's `npm start`), the tests always run: they start wrangler dev on a free
 * port with `--var CONFIG:` set to src/config/development.json read from disk with only `issuer`
 * changed to that port. Clients, templates, attestation policies, trust anchors (the development
 * test CA) and environment are byte-for-byte what `npm start` bundles.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "tools/simulator/cli.mjs");

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run tools/simulator/cli.mjs with the Node that runs the tests; never rejects on a non-zero exit. */
export function simulate(args: string[]): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, timeout: 30_000, maxBuffer: 10_000_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number")
          return reject(new Error(`simulator did not run: ${error.message}\n${stderr}`));
        resolveRun({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** src/config/development.json as on disk: what `npm start` serves. */
export async function readDevelopmentConfig(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(ROOT, "src/config/development.json"), "utf8")) as Record<string, unknown>;
}
