#!/usr/bin/env node
// Where does the time go? Serves the bundle with the V8 inspector on, drives token requests for a few
// seconds, and prints the functions with the most self time (V8 CPU profile of the Worker's isolate).
// Usage: npm run bench:profile [-- --seconds 5]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { clientSecretHash, makeDeviceKeys, makeProofs, runLoad } from "./load.mjs";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1] || 5);
const port = 18_900 + Math.floor(Math.random() * 50);
const inspectorPort = port + 100;
const secret = randomBytes(24).toString("base64url");
const hash = clientSecretHash(secret);
const issuer = `http://127.0.0.1:${port}`;
const config = { issuer, logging: { level: "error" }, clients: [{ client_id: "bench-client", client_secret_hash: hash, scope: "read", dpop_bound_access_tokens: true }] };
const server = spawn(process.execPath, ["bench/serve-ours.mjs", String(port), JSON.stringify(config), String(inspectorPort)], {
  cwd: new URL("..", import.meta.url).pathname,
  stdio: ["ignore", "pipe", "inherit"],
  detached: true,
});
await new Promise((resolve) => server.stdout.on("data", (chunk) => String(chunk).includes("ready") && resolve()));

const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
const target = targets.find((t) => t.title?.includes("main")) ?? targets[0];
const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve) => socket.addEventListener("open", resolve));
let id = 0;
const pending = new Map();
socket.addEventListener("message", (event) => {
  const message = JSON.parse(event.data);
  if (message.id && pending.has(message.id)) pending.get(message.id)(message.result);
});
const send = (method, params = {}) => new Promise((resolve) => { pending.set(++id, resolve); socket.send(JSON.stringify({ id, method, params })); });

const authorization = `Basic ${Buffer.from(`bench-client:${secret}`).toString("base64")}`;
const keys = makeDeviceKeys(100);
const tokenUrl = `${issuer}/oauth/v2/oauth-token`;
await runLoad({ tokenUrl, authorization, proofs: makeProofs(keys, 10_000, tokenUrl), seconds: 2, connections: 32 });
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
const result = await runLoad({ tokenUrl, authorization, proofs: makeProofs(keys, 40_000, tokenUrl), seconds, connections: 32 });
const { profile } = await send("Profiler.stop");
writeFileSync("/tmp/haapi-edge.cpuprofile", JSON.stringify(profile));

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
console.log(`${Math.round(result.tokensPerSecond)} tokens/s while profiling; ${total} samples; profile in /tmp/haapi-edge.cpuprofile`);
for (const [name, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${((count / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
socket.close();
process.kill(-server.pid, "SIGTERM");
process.exit(0);
