#!/usr/bin/env node
// Where does the time go? Serves haapi-edge with the V8 inspector on, drives token requests for a few
// seconds, and prints the functions with the most self time (V8 CPU profile of the JavaScript thread),
// then the CPU each of the server's threads used, by thread name (Linux): work a runtime does off its
// JavaScript thread (Deno runs WebCrypto on its blocking-task threads, "tokio-runtime-w", and Deno KV's
// SQLite on "sw-0") shows only there.
// Usage: npm run bench:profile [-- --seconds 5] [--deno]
//   default: the deployed bundle on workerd (bench/serve-ours.mjs); --deno: src/deno.ts on Deno as
//   `npm run start:deno` serves it (bench/serve-deno.mjs), with --inspect added.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { clientSecretHash, makeDeviceKeys, makeProofs, runLoad } from "./load.mjs";

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf("--seconds") + 1] || 5);
const onDeno = args.includes("--deno");
const port = 18_900 + Math.floor(Math.random() * 50);
const inspectorPort = port + 100;
const secret = randomBytes(24).toString("base64url");
const hash = clientSecretHash(secret);
const issuer = `http://127.0.0.1:${port}`;
const config = {
  issuer,
  logging: { level: "error" },
  clients: [{ client_id: "bench-client", client_secret_hash: hash, scope: "read", dpop_bound_access_tokens: true }],
};
const server = spawn(
  process.execPath,
  [
    onDeno ? "bench/serve-deno.mjs" : "bench/serve-ours.mjs",
    String(port),
    JSON.stringify(config),
    String(inspectorPort),
  ],
  {
    cwd: new URL("..", import.meta.url).pathname,
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  },
);
await new Promise((resolve) => server.stdout.on("data", (chunk) => String(chunk).includes("ready") && resolve()));

const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
const target = (onDeno ? undefined : targets.find((t) => t.title?.includes("main"))) ?? targets[0];
const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve) => socket.addEventListener("open", resolve));
let id = 0;
const pending = new Map();
socket.addEventListener("message", (event) => {
  const message = JSON.parse(event.data);
  if (message.id && pending.has(message.id)) pending.get(message.id)(message.result);
});
const send = (method, params = {}) =>
  new Promise((resolve) => {
    pending.set(++id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });

/** CPU ticks of every thread in the server's process group, by "pid/tid", with the thread's name. */
function threadTicks() {
  const threads = new Map();
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== server.pid) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
        const after = fields.slice(fields.lastIndexOf(")") + 2).split(" ");
        threads.set(`${pid}/${tid}`, {
          name: fields.slice(fields.indexOf("(") + 1, fields.lastIndexOf(")")),
          ticks: Number(after[11]) + Number(after[12]),
        });
      }
    } catch {}
  }
  return threads;
}

const authorization = `Basic ${Buffer.from(`bench-client:${secret}`).toString("base64")}`;
const keys = makeDeviceKeys(100);
const tokenUrl = `${issuer}/oauth/v2/oauth-token`;
await runLoad({ tokenUrl, authorization, proofs: makeProofs(keys, 10_000, tokenUrl), seconds: 2, connections: 32 });
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
const before = threadTicks();
const started = performance.now();
const result = await runLoad({
  tokenUrl,
  authorization,
  proofs: makeProofs(keys, 40_000, tokenUrl),
  seconds,
  connections: 32,
});
const elapsed = (performance.now() - started) / 1000;
const after = threadTicks();
const { profile } = await send("Profiler.stop");
const profilePath = `/tmp/haapi-edge${onDeno ? "-deno" : ""}.cpuprofile`;
writeFileSync(profilePath, JSON.stringify(profile));

const self = new Map();
const total = profile.samples.length;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const counts = new Map();
for (const sample of profile.samples) counts.set(sample, (counts.get(sample) ?? 0) + 1);
for (const [nodeId, count] of counts) {
  const { callFrame } = byId.get(nodeId);
  const name = `${callFrame.functionName || "(anonymous)"} ${callFrame.url.split("/").pop()}:${callFrame.lineNumber}`;
  self.set(name, (self.get(name) ?? 0) + count);
}
console.log(
  `${Math.round(result.tokensPerSecond)} tokens/s while profiling (${onDeno ? "Deno" : "workerd"}); ${total} samples; profile in ${profilePath}`,
);
for (const [name, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30))
  console.log(`${((count / total) * 100).toFixed(1).padStart(5)}%  ${name}`);

const byName = new Map();
for (const [thread, { name, ticks }] of after) {
  const cores = (ticks - (before.get(thread)?.ticks ?? 0)) / 100 / elapsed;
  if (cores < 0.005) continue;
  const entry = byName.get(name) ?? { cores: 0, threads: 0 };
  entry.cores += cores;
  entry.threads++;
  byName.set(name, entry);
}
const serverCores = [...byName.values()].reduce((sum, entry) => sum + entry.cores, 0);
console.log(
  `\nserver CPU by thread name: ${serverCores.toFixed(2)} cores, ${((serverCores / result.tokensPerSecond) * 1000).toFixed(2)} ms per token`,
);
for (const [name, entry] of [...byName].sort((a, b) => b[1].cores - a[1].cores)) {
  console.log(
    `${entry.cores.toFixed(2).padStart(6)} cores  ${((entry.cores / result.tokensPerSecond) * 1000).toFixed(2)} ms/token  ${name} (${entry.threads} thread${entry.threads > 1 ? "s" : ""})`,
  );
}
socket.close();
process.kill(-server.pid, "SIGTERM");
process.exit(0);
