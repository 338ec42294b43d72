/**
 * `npm run login` (scripts/haapi-login.mjs) as a child process, and a reader for what it prints, for
 * the end-to-end tests.
 *
 * The script prints one section per step: a line `== <title>` followed by the step's value as indented
 * JSON (the last section, `done: ...`, has none). It has no `--json` mode, so the test reads these
 * sections; a section whose body is not JSON fails the read, so a change of format is noticed.
 * On failure the script exits 1 with `haapi-login: <what>: <the server's answer>` on stderr, 2 on a
 * usage error.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { ROOT, type CliRun } from "./simulator-cli";

const SCRIPT = join(ROOT, "scripts/haapi-login.mjs");

/** One `== title` section of the script's output and the JSON under it (undefined when there is none). */
export interface Section {
  readonly title: string;
  readonly value: unknown;
}

/** Run scripts/haapi-login.mjs with the Node that runs the tests; never rejects on a non-zero exit. */
export function haapiLogin(args: string[]): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    execFile(
      process.execPath,
      [SCRIPT, ...args],
      { cwd: ROOT, timeout: 30_000, maxBuffer: 10_000_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number")
          return reject(new Error(`haapi-login did not run: ${error.message}\n${stderr}`));
        resolveRun({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Split the script's stdout into its sections; throws when a section's body is not JSON. */
export function sections(stdout: string): Section[] {
  const parts = stdout.split(/^== /m);
  if (parts[0]!.trim() !== "") throw new Error(`output before the first section: ${JSON.stringify(parts[0])}`);
  return parts.slice(1).map((part) => {
    const newline = part.indexOf("\n");
    const title = (newline < 0 ? part : part.slice(0, newline)).trim();
    const body = newline < 0 ? "" : part.slice(newline + 1).trim();
    if (body === "") return { title, value: undefined };
    try {
      return { title, value: JSON.parse(body) as unknown };
    } catch {
      throw new Error(`section "${title}" is not followed by JSON: ${body.slice(0, 300)}`);
    }
  });
}
