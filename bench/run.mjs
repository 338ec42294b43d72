#!/usr/bin/env node
// npm run bench [-- --quick] [--rounds N] [--seconds S] [--connections C] [--no-write] [--no-floor] [--only haapi|oidc]
//
// Token issuance, haapi-edge (the deployed bundle served by workerd) against panva's oidc-provider,
// side by side on this machine, alternating A B A B, and the median of the rounds. Writes BENCHMARKS.md.
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { measureCryptoFloor } from "./crypto-floor.mjs";
import { clientSecretHash, learnNonce, makeDeviceKeys, makeProofs, runLoad } from "./load.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const quick = flag("quick");
const rounds = option("rounds", 3);
const seconds = option("seconds", quick ? 4 : 10);
const connections = option("connections", 32);
const warmupSeconds = quick ? 1 : 3;

const CLIENT_ID = "bench-client";
const CLIENT_SECRET = randomBytes(24).toString("base64url");
const AUTHORIZATION = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`;


function freePortFrom(base) {
  return base + Math.floor(Math.random() * 1000);
}

const children = [];
function start(command, commandArgs, options = {}) {
  const child = spawn(command, commandArgs, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], ...options });
  let output = "";
  child.stdout.on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr.on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  children.push(child);
  return { child, output: () => output };
}

function stopAll() {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
}
process.on("exit", stopAll);
process.on("SIGINT", () => process.exit(130));

async function waitForHttp(url, server, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`server at ${url} did not start:\n${server.output()}`);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

function versionOf(command, commandArgs) {
  try {
    return execFileSync(command, commandArgs, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

// ---------------------------------------------------------------------------------------------
console.log(`haapi-edge token issuance benchmark${quick ? " (quick)" : ""}: ${rounds} rounds x ${seconds} s per server, ${connections} connections`);

const cryptoFloor = measureCryptoFloor(quick ? 1 : 2);
console.log(`crypto floor: ${Math.round(cryptoFloor)} ES256 verify+sign pairs per second on one core`);

const oursPort = freePortFrom(18_000);
const peerPort = freePortFrom(19_000);
const oursIssuer = `http://127.0.0.1:${oursPort}`;
const config = {
  issuer: oursIssuer,
  logging: { level: "error" },
  clients: [{ client_id: CLIENT_ID, client_secret_hash: clientSecretHash(CLIENT_SECRET), scope: "read", dpop_bound_access_tokens: true }],
};
const floorPort = freePortFrom(20_000);
const ours = start(process.execPath, ["bench/serve-ours.mjs", String(oursPort), JSON.stringify(config)]);
const peer = start(process.execPath, ["bench/peer-oidc-provider.mjs", String(peerPort), CLIENT_ID, CLIENT_SECRET]);
const floor = flag("no-floor") ? undefined : start(process.execPath, ["bench/serve-ours.mjs", String(floorPort), "--floor"]);
await waitForHttp(`${oursIssuer}/.well-known/oauth-authorization-server`, ours);
await waitForHttp(`http://127.0.0.1:${peerPort}/.well-known/openid-configuration`, peer);
if (floor) await waitForHttp(`http://127.0.0.1:${floorPort}/`, floor);

const keys = makeDeviceKeys(100);
const servers = [
  { name: "haapi-edge (workerd)", tokenUrl: `${oursIssuer}/oauth/v2/oauth-token`, runs: [] },
  { name: "oidc-provider (Node)", tokenUrl: `http://127.0.0.1:${peerPort}/token`, runs: [] },
  // Reference, not a competitor: the irreducible work of a token in workerd (bench/floor-worker.js).
  ...(floor ? [{ name: "workerd floor (reference)", tokenUrl: `http://127.0.0.1:${floorPort}/token`, runs: [] }] : []),
];
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
if (only) servers.splice(0, servers.length, ...servers.filter((server) => server.name.startsWith(only)));
for (const server of servers) {
  server.nonce = await learnNonce(keys, server.tokenUrl, AUTHORIZATION);
  // Warm-up (JIT, key caches, Durable Objects), not measured.
  const warm = await runLoad({ tokenUrl: server.tokenUrl, authorization: AUTHORIZATION, proofs: makeProofs(keys, 20_000, server.tokenUrl, server.nonce), seconds: warmupSeconds, connections });
  server.estimate = warm.rps;
  console.log(`warm-up ${server.name}: ${Math.round(warm.rps)} req/s${server.nonce ? " (nonce learned)" : ""}`);
}

for (let round = 1; round <= rounds; round++) {
  for (const server of servers) {
    const count = Math.ceil(Math.max(server.estimate, 2_500) * seconds * 1.6) + 2_000;
    const proofs = makeProofs(keys, count, server.tokenUrl, server.nonce);
    const result = await runLoad({ tokenUrl: server.tokenUrl, authorization: AUTHORIZATION, proofs, seconds, connections });
    server.runs.push(result);
    server.estimate = Math.max(server.estimate, result.rps);
    console.log(
      `round ${round} ${server.name}: ${Math.round(result.tokensPerSecond)} tokens/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors} ${JSON.stringify(result.detail)}`,
    );
  }
}

const summary = servers.map((server) => ({
  name: server.name,
  tokensPerSecond: median(server.runs.map((run) => run.tokensPerSecond)),
  rps: median(server.runs.map((run) => run.rps)),
  p50: median(server.runs.map((run) => run.p50)),
  p99: median(server.runs.map((run) => run.p99)),
  errors: server.runs.reduce((sum, run) => sum + run.errors, 0),
  replays: server.runs.reduce((sum, run) => sum + run.detail.replays, 0),
  replaysAccepted: server.runs.reduce((sum, run) => sum + run.detail.replaysAccepted, 0),
  serverErrors: server.runs.reduce((sum, run) => sum + run.detail.serverErrors, 0),
}));
const [a, b = a, reference] = summary;
const ratio = a.tokensPerSecond / b.tokensPerSecond;
const ceiling = reference && !only ? reference.tokensPerSecond / b.tokensPerSecond : undefined;
const ceilingLine = ceiling
  ? `Runtime floor: the irreducible work alone (one Durable Object jti write, ES256 verify and sign, in workerd) reaches ${ceiling.toFixed(2)}x oidc-provider; haapi-edge runs at ${((a.tokensPerSecond / reference.tokensPerSecond) * 100).toFixed(0)}% of it.`
  : undefined;

const table = [
  "| server | tokens/s (median) | requests/s | p50 ms | p99 ms | errors | replays refused | 5xx | share of crypto floor |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...summary.map(
    (row) =>
      `| ${row.name} | ${Math.round(row.tokensPerSecond)} | ${Math.round(row.rps)} | ${row.p50} | ${row.p99} | ${row.errors} | ${row.replays - row.replaysAccepted}/${row.replays} | ${row.serverErrors} | ${((row.tokensPerSecond / cryptoFloor) * 100).toFixed(0)}% |`,
  ),
].join("\n");

const machine = {
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  node: process.version,
  workerd: versionOf("npx", ["workerd", "--version"]).replace(/^workerd /, ""),
  wrangler: versionOf("npx", ["wrangler", "--version"]).split("\n").pop(),
  oidcProvider: JSON.parse(readFileSync(join(ROOT, "node_modules/oidc-provider/package.json"), "utf8")).version,
};

console.log(`\n${table}\n`);
console.log(`ratio haapi-edge / oidc-provider: ${ratio.toFixed(2)}x tokens per second; p99 ${a.p99} ms vs ${b.p99} ms`);
if (ceilingLine) console.log(ceilingLine);
console.log(`crypto floor ${Math.round(cryptoFloor)} pairs/s per core (${machine.nproc} cores: ${machine.cpu})`);

if (!flag("no-write")) {
  const section = [
    "<!-- bench:results:start -->",
    `Latest run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, \`npm run bench${quick ? " -- --quick" : ""}\`, ${rounds} rounds x ${seconds} s per server, ${connections} connections, alternating.`,
    "",
    `Machine: ${machine.nproc} cores (${machine.cpu}), Node ${machine.node}, workerd ${machine.workerd}, wrangler ${machine.wrangler}, oidc-provider ${machine.oidcProvider}.`,
    "",
    table,
    "",
    `**Ratio haapi-edge / oidc-provider: ${ratio.toFixed(2)}x** tokens per second (median of rounds); p99 ${a.p99} ms vs ${b.p99} ms.`,
    `Crypto floor measured in the same run: ${Math.round(cryptoFloor)} ES256 verify + sign pairs per second on one core.`,
    ...(ceilingLine ? [ceilingLine] : []),
    "<!-- bench:results:end -->",
  ].join("\n");
  const path = join(ROOT, "BENCHMARKS.md");
  let document;
  try {
    document = readFileSync(path, "utf8");
  } catch {
    document = "# Benchmarks\n\n<!-- bench:results:start -->\n<!-- bench:results:end -->\n";
  }
  document = document.replace(/<!-- bench:results:start -->[\s\S]*<!-- bench:results:end -->/, section);
  writeFileSync(path, document);
  console.log("results written to BENCHMARKS.md");
}

stopAll();
process.exit(summary.some((row) => row.serverErrors > 0 || row.replaysAccepted > 0) ? 1 : 0);
