#!/usr/bin/env node
// npm run bench [-- --quick] [--rounds N] [--seconds S] [--connections C] [--no-write] [--no-floor]
//                 [--only haapi,deno,oidc,floor,deno-floor] [--noble PATH]
//
// Token issuance, haapi-edge (the deployed bundle served by workerd, and src/deno.ts served by Deno as
// `npm run start:deno` serves it) against panva's oidc-provider, side by side on this machine,
// alternating A B C A B C, and the median of the rounds. Writes BENCHMARKS.md.
//
// Rows, by the id --only takes (a comma-separated list): haapi (haapi-edge on workerd), deno (haapi-edge
// on Deno), oidc (oidc-provider), floor (the workerd runtime floor), deno-floor (the Deno runtime floor).
// --no-floor leaves both floors out. The run exits non-zero when any row accepts a replay, answers a 5xx,
// returns a 200 whose token is not bound to the proof's key, or issues no token at all.
// Before the servers start it measures the crypto floors (Node: crypto-floor.mjs; Deno, and Deno KV's
// commit rates: deno-primitives.mjs, whose --noble PATH option it passes on).
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { measureCryptoFloor } from "./crypto-floor.mjs";
import { DENO, denoEnv, kvDirectory, memoryFs, startDenoCommand } from "./deno.mjs";
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
const seconds = option("seconds", quick ? 3 : 10);
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
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    ...options,
  });
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
    return execFileSync(command, commandArgs, {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "unknown";
  }
}

/** CPU time (clock ticks) of every thread of every process in a process group, by "pid/tid" (Linux /proc; empty elsewhere). */
const CLOCK_TICKS = Number(versionOf("getconf", ["CLK_TCK"])) || 100;
function groupThreadTicks(pgid) {
  const ticks = new Map();
  let pids = [];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return ticks;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const after = fields.slice(fields.lastIndexOf(")") + 2).split(" ");
        ticks.set(`${pid}/${tid}`, Number(after[11]) + Number(after[12])); // utime, stime
      }
    } catch {}
  }
  return ticks;
}
/** Cores a server's processes used between two snapshots: in total, and on its busiest thread. */
function cpuBetween(before, after, seconds) {
  let total = 0;
  let busiest = 0;
  for (const [thread, ticks] of after) {
    const used = ticks - (before.get(thread) ?? 0);
    total += used;
    busiest = Math.max(busiest, used);
  }
  return { cores: total / CLOCK_TICKS / seconds, busiest: busiest / CLOCK_TICKS / seconds };
}

/** Deno's primitives (bench/deno-primitives.mjs), run as `start:deno` runs the server, on the same kinds of file. */
function measureDenoPrimitives(seconds) {
  const memory = kvDirectory("haapi-edge-deno-primitives");
  const disk = kvDirectory("haapi-edge-deno-primitives-disk", { disk: true });
  const noble = args.includes("--noble") ? ["--noble", args[args.indexOf("--noble") + 1]] : [];
  try {
    const output = execFileSync(
      DENO,
      [...startDenoCommand().args, "bench/deno-primitives.mjs", String(seconds), memory.path, disk.path, ...noble],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: denoEnv({}),
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    return { ...JSON.parse(output.trim().split("\n").pop()), memoryKind: memory.memory ? memoryFs() : "disk" };
  } finally {
    memory.cleanup();
    disk.cleanup();
  }
}

const fmt = (value) => Math.round(value).toLocaleString("en-US");

// ---------------------------------------------------------------------------------------------
const ROWS = {
  haapi: "haapi-edge (workerd)",
  deno: "haapi-edge (Deno)",
  oidc: "oidc-provider (Node)",
  floor: "workerd floor (reference)",
  "deno-floor": "Deno floor (reference)",
};
const only = args.includes("--only")
  ? args[args.indexOf("--only") + 1]
      .split(",")
      .map((id) => id.trim())
      .filter(Boolean)
  : undefined;
for (const id of only ?? []) {
  if (!(id in ROWS)) {
    console.error(`--only: no row "${id}"; the rows are ${Object.keys(ROWS).join(", ")}`);
    process.exit(2);
  }
}
const isFloor = (id) => id === "floor" || id === "deno-floor";
const wanted = (id) => (only ? only.includes(id) : !(isFloor(id) && flag("no-floor")));
const onDeno = wanted("deno") || wanted("deno-floor");

console.log(
  `haapi-edge token issuance benchmark${quick ? " (quick)" : ""}: ${rounds} rounds x ${seconds} s per server, ${connections} connections`,
);

const cryptoFloor = measureCryptoFloor(quick ? 1 : 2);
console.log(`crypto floor (Node, OpenSSL): ${fmt(cryptoFloor)} ES256 verify+sign pairs per second on one core`);
const denoPrimitives = onDeno ? measureDenoPrimitives(quick ? 0.5 : 2) : undefined;
const denoCryptoFloor = denoPrimitives?.crypto.webcrypto.pair.perSecond;
if (denoPrimitives) {
  const { crypto: c, kv } = denoPrimitives;
  console.log(
    `crypto floor (Deno ${denoPrimitives.deno}, WebCrypto): ${fmt(c.webcrypto.pair.perSecond)} pairs/s using ${c.webcrypto.pair.cores} cores (sign ${fmt(c.webcrypto.sign.perSecond)}/s, verify ${fmt(c.webcrypto.verify.perSecond)}/s); node:crypto under Deno ${fmt(c.nodeCrypto.pair.perSecond)} pairs/s` +
      (c.noble
        ? `; @noble/curves sign ${fmt(c.noble.sign.perSecond)}/s, with WebCrypto verify ${fmt(c.noble.pairWithWebcryptoVerify.perSecond)} pairs/s`
        : ""),
  );
  console.log(
    `Deno KV on ${denoPrimitives.memoryKind}: check(null)+set ${fmt(kv.memory.checkNullSet.perSecond)}/s (1 in flight), ${fmt(kv.memory.checkNullSet32.perSecond)}/s (32); get+check+set ${fmt(kv.memory.getCheckSet32.perSecond)}/s (32) using ${kv.memory.getCheckSet32.cores} cores; on disk: check(null)+set ${fmt(kv.disk.checkNullSet.perSecond)}/s (1), ${fmt(kv.disk.checkNullSet32.perSecond)}/s (32)`,
  );
}

const clientHash = clientSecretHash(CLIENT_SECRET);
/** The one CONFIG both haapi-edge rows get; only the issuer differs, since a DPoP proof's htu must be the server's own URL. */
const configFor = (issuer) => ({
  issuer,
  logging: { level: "error" },
  clients: [{ client_id: CLIENT_ID, client_secret_hash: clientHash, scope: "read", dpop_bound_access_tokens: true }],
});
const METADATA = "/.well-known/oauth-authorization-server";
const candidates = [
  {
    id: "haapi",
    base: 18_000,
    tokenPath: "/oauth/v2/oauth-token",
    readyPath: METADATA,
    command: (port, url) => ["bench/serve-ours.mjs", String(port), JSON.stringify(configFor(url))],
  },
  {
    id: "deno",
    base: 21_000,
    tokenPath: "/oauth/v2/oauth-token",
    readyPath: METADATA,
    command: (port, url) => ["bench/serve-deno.mjs", String(port), JSON.stringify(configFor(url))],
  },
  {
    id: "oidc",
    base: 19_000,
    tokenPath: "/token",
    readyPath: "/.well-known/openid-configuration",
    command: (port) => ["bench/peer-oidc-provider.mjs", String(port), CLIENT_ID, CLIENT_SECRET],
  },
  // References, not competitors: the irreducible work of a token in each runtime (floor-worker.js, floor-deno.mjs).
  {
    id: "floor",
    base: 20_000,
    tokenPath: "/token",
    readyPath: "/",
    command: (port) => ["bench/serve-ours.mjs", String(port), "--floor"],
  },
  {
    id: "deno-floor",
    base: 22_000,
    tokenPath: "/token",
    readyPath: "/",
    command: (port) => ["bench/serve-deno.mjs", String(port), "--floor"],
  },
];
const servers = candidates
  .filter((candidate) => wanted(candidate.id))
  .map((candidate) => {
    const port = freePortFrom(candidate.base);
    const origin = `http://127.0.0.1:${port}`;
    const process_ = start(process.execPath, candidate.command(port, origin));
    return {
      id: candidate.id,
      name: ROWS[candidate.id],
      tokenUrl: `${origin}${candidate.tokenPath}`,
      readyUrl: `${origin}${candidate.readyPath}`,
      process: process_,
      runs: [],
    };
  });
for (const server of servers) await waitForHttp(server.readyUrl, server.process);

const keys = makeDeviceKeys(100);
for (const server of servers) {
  server.nonce = await learnNonce(keys, server.tokenUrl, AUTHORIZATION);
  // Warm-up (JIT, key caches, Durable Objects, the KV file), not measured.
  const warm = await runLoad({
    tokenUrl: server.tokenUrl,
    authorization: AUTHORIZATION,
    proofs: makeProofs(keys, 20_000, server.tokenUrl, server.nonce),
    seconds: warmupSeconds,
    connections,
  });
  server.estimate = warm.rps;
  console.log(`warm-up ${server.name}: ${Math.round(warm.rps)} req/s${server.nonce ? " (nonce learned)" : ""}`);
}

for (let round = 1; round <= rounds; round++) {
  for (const server of servers) {
    const count = Math.ceil(Math.max(server.estimate, 2_500) * seconds * 1.6) + 2_000;
    const proofs = makeProofs(keys, count, server.tokenUrl, server.nonce);
    const before = groupThreadTicks(server.process.child.pid);
    const started = performance.now();
    const result = await runLoad({
      tokenUrl: server.tokenUrl,
      authorization: AUTHORIZATION,
      proofs,
      seconds,
      connections,
    });
    result.cpu = cpuBetween(before, groupThreadTicks(server.process.child.pid), (performance.now() - started) / 1000);
    server.runs.push(result);
    server.estimate = Math.max(server.estimate, result.rps);
    console.log(
      `round ${round} ${server.name}: ${Math.round(result.tokensPerSecond)} tokens/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}, server CPU ${result.cpu.cores.toFixed(2)} cores (busiest thread ${result.cpu.busiest.toFixed(2)}) ${JSON.stringify(result.detail)}`,
    );
  }
}

const sum = (server, field) => server.runs.reduce((total, run) => total + run.detail[field], 0);
const summary = servers.map((server) => ({
  id: server.id,
  name: server.name,
  tokensPerSecond: median(server.runs.map((run) => run.tokensPerSecond)),
  rps: median(server.runs.map((run) => run.rps)),
  p50: median(server.runs.map((run) => run.p50)),
  p99: median(server.runs.map((run) => run.p99)),
  cores: median(server.runs.map((run) => run.cpu.cores)),
  busiest: median(server.runs.map((run) => run.cpu.busiest)),
  errors: server.runs.reduce((total, run) => total + run.errors, 0),
  ok: sum(server, "ok"),
  wrongBinding: sum(server, "wrongBinding"),
  replays: sum(server, "replays"),
  replaysAccepted: sum(server, "replaysAccepted"),
  serverErrors: sum(server, "serverErrors"),
}));
const row = (id) => summary.find((candidate) => candidate.id === id);
const onDenoRow = (id) => id === "deno" || id === "deno-floor";
const floorFor = (id) => (onDenoRow(id) ? denoCryptoFloor : cryptoFloor);

const table = [
  "| server | tokens/s (median) | requests/s | p50 ms | p99 ms | errors | replays refused | 5xx | server CPU, cores (busiest thread) | share of crypto floor¹ |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...summary.map(
    (r) =>
      `| ${r.name} | ${Math.round(r.tokensPerSecond)} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.replays - r.replaysAccepted}/${r.replays} | ${r.serverErrors} | ${r.cores.toFixed(2)} (${r.busiest.toFixed(2)}) | ${((r.tokensPerSecond / floorFor(r.id)) * 100).toFixed(0)}% |`,
  ),
].join("\n");
const footnote = `¹ Tokens per second over ES256 verify + sign pairs per second on one core: Node's (OpenSSL) floor for the workerd and Node rows${onDeno ? ", Deno's (WebCrypto) for the Deno rows. Deno's can pass 100%: it runs WebCrypto on several threads, so on more than one core" : ""}.`;

const lines = [];
const peer = row("oidc");
const workerd = row("haapi");
const deno = row("deno");
if (workerd && peer) {
  lines.push(
    `**Ratio haapi-edge (workerd) / oidc-provider: ${(workerd.tokensPerSecond / peer.tokensPerSecond).toFixed(2)}x** tokens per second (median of rounds); p99 ${workerd.p99} ms vs ${peer.p99} ms.`,
  );
}
if (deno && peer) {
  lines.push(
    `**Ratio haapi-edge (Deno) / oidc-provider: ${(deno.tokensPerSecond / peer.tokensPerSecond).toFixed(2)}x**; p99 ${deno.p99} ms vs ${peer.p99} ms` +
      (workerd
        ? `; haapi-edge on Deno is ${(deno.tokensPerSecond / workerd.tokensPerSecond).toFixed(2)}x haapi-edge on workerd.`
        : "."),
  );
}
lines.push(
  `Crypto floor measured in the same run: ${fmt(cryptoFloor)} ES256 verify + sign pairs per second on one core in Node (OpenSSL)` +
    (denoPrimitives
      ? `; ${fmt(denoCryptoFloor)} in Deno's WebCrypto (sign ${fmt(denoPrimitives.crypto.webcrypto.sign.perSecond)}/s, verify ${fmt(denoPrimitives.crypto.webcrypto.verify.perSecond)}/s), ${(cryptoFloor / denoCryptoFloor).toFixed(1)}x fewer, and ${fmt(denoPrimitives.crypto.nodeCrypto.pair.perSecond)} through node:crypto under Deno.`
      : "."),
);
if (denoPrimitives?.crypto.noble) {
  const { noble } = denoPrimitives.crypto;
  lines.push(
    `@noble/curves (not a dependency; \`--noble\`) under Deno: sign ${fmt(noble.sign.perSecond)}/s, verify ${fmt(noble.verify.perSecond)}/s; its signing with WebCrypto's verification: ${fmt(noble.pairWithWebcryptoVerify.perSecond)} pairs/s.`,
  );
}
if (denoPrimitives) {
  const { memory, disk } = denoPrimitives.kv;
  lines.push(
    `Deno KV commits measured in the same run, on a file on ${denoPrimitives.memoryKind} as the Deno rows use: \`check(null)\` + \`set\` ${fmt(memory.checkNullSet.perSecond)}/s one at a time, ${fmt(memory.checkNullSet32.perSecond)}/s with 32 in flight; \`get\` + \`check\` + \`set\` (haapi-edge's replay store) ${fmt(memory.getCheckSet32.perSecond)}/s with 32 in flight. On disk: \`check(null)\` + \`set\` ${fmt(disk.checkNullSet.perSecond)}/s one at a time, ${fmt(disk.checkNullSet32.perSecond)}/s with 32 in flight.`,
  );
}
const workerdFloor = row("floor");
if (workerdFloor && workerd && peer) {
  lines.push(
    `Runtime floor: the irreducible work alone (one Durable Object jti write, ES256 verify and sign, in workerd) reaches ${(workerdFloor.tokensPerSecond / peer.tokensPerSecond).toFixed(2)}x oidc-provider; haapi-edge runs at ${((workerd.tokensPerSecond / workerdFloor.tokensPerSecond) * 100).toFixed(0)}% of it.`,
  );
}
const denoFloor = row("deno-floor");
if (denoFloor && deno) {
  lines.push(
    `Deno runtime floor: the same irreducible work on Deno (one Deno KV \`check(null)\` + \`set\` commit, WebCrypto ES256 verify and sign, \`Deno.serve\`) reaches ${denoFloor.tokensPerSecond.toFixed(0)} tokens/s` +
      (peer ? ` (${(denoFloor.tokensPerSecond / peer.tokensPerSecond).toFixed(2)}x oidc-provider)` : "") +
      `; haapi-edge on Deno runs at ${((deno.tokensPerSecond / denoFloor.tokensPerSecond) * 100).toFixed(0)}% of it.`,
  );
}
if (deno && denoPrimitives) {
  // CPU milliseconds per token, over all of the server's threads, and what each primitive costs alone.
  const cpuMs = (cores, perSecond) => (cores / perSecond) * 1000;
  const perToken = cpuMs(deno.cores, deno.tokensPerSecond);
  const { pair } = denoPrimitives.crypto.webcrypto;
  const cryptoMs = cpuMs(pair.cores, pair.perSecond);
  const write = denoPrimitives.kv.memory.getCheckSet32;
  const kvMs = cpuMs(write.cores, write.perSecond);
  const share = (ms) => `${((ms / perToken) * 100).toFixed(0)}%`;
  lines.push(
    `Where Deno's time goes, in CPU time per token over all of the server's threads (the two cores are saturated, shared with the load generator, so throughput follows CPU per token): ${perToken.toFixed(2)} ms at ${fmt(deno.tokensPerSecond)} tokens/s, ${cpuMs(deno.busiest, deno.tokensPerSecond).toFixed(2)} ms of it on its busiest (JavaScript) thread. ` +
      `ES256 verify + sign alone take ${cryptoMs.toFixed(2)} ms (${share(cryptoMs)}; Deno runs them mostly on its blocking-task threads), the replay store's KV write (\`get\` + \`check\` + \`set\`) ${kvMs.toFixed(2)} ms (${share(kvMs)}), ` +
      `everything else (HTTP, routing, client authentication, claim checks, JSON) ${(perToken - cryptoMs - kvMs).toFixed(2)} ms (${share(perToken - cryptoMs - kvMs)}).`,
  );
  if (workerd) {
    const workerdMs = cpuMs(workerd.cores, workerd.tokensPerSecond);
    const nodeCryptoMs = 1000 / cryptoFloor;
    const gap = perToken - workerdMs;
    const cryptoGap = cryptoMs - nodeCryptoMs;
    const gapShare = (ms) => `${((ms / gap) * 100).toFixed(0)}%`;
    lines.push(
      `On workerd a token takes ${workerdMs.toFixed(2)} ms of CPU, of which ES256 ${nodeCryptoMs.toFixed(2)} ms (OpenSSL in Node as the measure for workerd's BoringSSL). ` +
        `Of the ${gap.toFixed(2)} ms more that a token costs on Deno, the slower ES256 explains ${cryptoGap.toFixed(2)} ms (${gapShare(cryptoGap)}); ` +
        `the rest, ${(gap - cryptoGap).toFixed(2)} ms (${gapShare(gap - cryptoGap)}), is the KV write against the Durable Object's and the runtimes' other differences.`,
    );
  }
}

const machine = {
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  node: process.version,
  workerd: versionOf("npx", ["workerd", "--version"]).replace(/^workerd /, ""),
  wrangler: versionOf("npx", ["wrangler", "--version"]).split("\n").pop(),
  deno: denoPrimitives?.deno ?? versionOf(DENO, ["--version"]).split("\n")[0].split(" ")[1],
  oidcProvider: JSON.parse(readFileSync(join(ROOT, "node_modules/oidc-provider/package.json"), "utf8")).version,
};

console.log(`\n${table}\n${footnote}\n`);
for (const line of lines) console.log(line.replace(/\*\*/g, "").replace(/`/g, ""));
console.log(`${machine.nproc} cores: ${machine.cpu}`);

const failures = summary.flatMap((r) =>
  [
    r.replaysAccepted > 0 && `${r.name}: ${r.replaysAccepted} replayed proofs accepted`,
    r.serverErrors > 0 && `${r.name}: ${r.serverErrors} answers 5xx`,
    r.wrongBinding > 0 && `${r.name}: ${r.wrongBinding} answers 200 without a DPoP token bound to the proof's key`,
    r.ok === 0 && `${r.name}: no token issued`,
  ].filter(Boolean),
);

if (!flag("no-write")) {
  const section = [
    "<!-- bench:results:start -->",
    `Latest run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, \`npm run bench${quick ? " -- --quick" : ""}\`, ${rounds} rounds x ${seconds} s per server, ${connections} connections, alternating.`,
    "",
    `Machine: ${machine.nproc} cores (${machine.cpu}), Node ${machine.node}, workerd ${machine.workerd}, wrangler ${machine.wrangler}, Deno ${machine.deno}, oidc-provider ${machine.oidcProvider}.`,
    "",
    table,
    "",
    footnote,
    "",
    ...lines.flatMap((line, i) => (i ? ["", line] : [line])),
    ...(failures.length ? ["", `**The run failed its correctness gate:** ${failures.join("; ")}.`] : []),
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
if (failures.length) {
  console.error(`\ncorrectness gate failed:\n- ${failures.join("\n- ")}`);
  process.exit(1);
}
process.exit(0);
