#!/usr/bin/env node
/**
 * `npm test`: both runtimes' suites at the same time, in one command.
 * - node: the vitest projects of vitest.config.ts (workers: inside workerd with real Durable Objects;
 *   e2e: wrangler dev and the Deno server driven over HTTP; browser: a real Chromium);
 * - deno: the tests that need real Deno and Deno KV (vitest run by Deno, vitest.deno.config.ts),
 *   among them the store contract the workers project runs against Durable Objects.
 * Each line is prefixed with its runtime; the exit status is non-zero if either run failed. Arguments go
 * to both runs (e.g. a file filter).
 */
import { spawn } from "node:child_process";

// With a filter, one runtime may have no matching file: that is not a failure.
const args = process.argv.length > 2 ? [...process.argv.slice(2), "--passWithNoTests"] : [];
const runs = [
  { name: "node", command: "vitest", args: ["run", ...args] },
  {
    name: "deno",
    command: "deno",
    args: [
      "run",
      "--config",
      "deno.json",
      "-A",
      "node_modules/vitest/vitest.mjs",
      "run",
      "--config",
      "vitest.deno.config.ts",
      ...args,
    ],
  },
];
const width = Math.max(...runs.map((run) => run.name.length));

function relay(stream, prefix, out) {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop();
    for (const line of lines) out.write(`${prefix}${line}\n`);
  });
  stream.on("end", () => pending && out.write(`${prefix}${pending}\n`));
}

const results = await Promise.all(
  runs.map(
    (run) =>
      new Promise((resolve) => {
        const prefix = `[${run.name.padEnd(width)}] `;
        // npm run puts node_modules/.bin (vitest, deno, node 22) first on PATH.
        const child = spawn(run.command, run.args, {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? "1" : process.env.FORCE_COLOR },
        });
        relay(child.stdout, prefix, process.stdout);
        relay(child.stderr, prefix, process.stderr);
        child.on("error", (error) => resolve({ run, status: `could not start: ${error.message}` }));
        child.on("close", (code, signal) => resolve({ run, status: code ?? signal }));
      }),
  ),
);
for (const { run, status } of results) console.log(`${run.name}: ${status === 0 ? "passed" : `FAILED (${status})`}`);
process.exit(results.every(({ status }) => status === 0) ? 0 : 1);
