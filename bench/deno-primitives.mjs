// Run by Deno (bench/run.mjs starts it with the arguments and permissions of `npm run start:deno`):
// the two primitives of a DPoP-bound token on Deno, measured alone, to say how much of the Deno row's
// time each explains. Prints one JSON object.
//
// - Crypto floor: ES256 verify + sign pairs per second, one at a time (one core), through WebCrypto
//   with keys imported from JWKs as jose's importJWK does (what haapi-edge runs), and through
//   node:crypto under Deno. The twin of crypto-floor.mjs (Node's OpenSSL).
// - KV commits per second: `atomic().check({key, versionstamp: null}).set(key, …, {expireIn})`, the
//   single-use write, on a file of the kind the Deno row uses (MEMORY_DIR: /dev/shm when there is one),
//   with one and with 32 commits in flight; `get` + `check(versionstamp)` + `set`, which is what
//   haapi-edge's replay store does per DPoP proof; and the same single-use write on a file on disk
//   (DISK_DIR), for reference.
//
// Usage: deno run --config deno.json <permissions> bench/deno-primitives.mjs SECONDS MEMORY_DIR [DISK_DIR] [--noble PATH]
//   --noble PATH: also time @noble/curves' P-256 signing (PATH to its nist.js; not a dependency of the
//   project: install it anywhere to try), alone and paired with WebCrypto verification.
import * as nodeCrypto from "node:crypto";
import { cpuUsage } from "node:process";

const args = [...Deno.args];
const nobleAt = args.indexOf("--noble");
const noblePath = nobleAt >= 0 ? args.splice(nobleAt, 2)[1] : undefined;
const [secondsText, memoryDir, diskDir] = args;
const seconds = Number(secondsText);

/** Run `op` with `inFlight` concurrent callers for `seconds`; rate per second and CPU cores used (every thread of the process). */
async function measure(seconds, inFlight, op) {
  const cpu0 = cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  let count = 0;
  const caller = async () => {
    while (performance.now() < end) {
      for (let i = 0; i < 10; i++) await op(count++);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, caller));
  const elapsed = (performance.now() - start) / 1000;
  const cpu = cpuUsage(cpu0);
  return {
    perSecond: Math.round(count / elapsed),
    cores: Number(((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2)),
  };
}

// --- crypto ---------------------------------------------------------------------------------------
const ES256 = { name: "ECDSA", hash: "SHA-256" };
const P256 = { name: "ECDSA", namedCurve: "P-256" };
const data = new TextEncoder().encode("eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJ4In0".repeat(4));
const generated = await crypto.subtle.generateKey(P256, true, ["sign", "verify"]);
const privateJwk = await crypto.subtle.exportKey("jwk", generated.privateKey);
const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", generated.publicKey);
// As haapi-edge has them: the signing key from a private JWK, a proof's key from its public JWK.
const signingKey = await crypto.subtle.importKey("jwk", privateJwk, P256, false, ["sign"]);
const proofKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, P256, false, ["verify"]);
const signature = new Uint8Array(await crypto.subtle.sign(ES256, signingKey, data));
if (!(await crypto.subtle.verify(ES256, proofKey, signature, data)))
  throw new Error("WebCrypto does not verify its own signature");

const crypto_ = {
  webcrypto: {
    sign: await measure(seconds, 1, () => crypto.subtle.sign(ES256, signingKey, data)),
    verify: await measure(seconds, 1, () => crypto.subtle.verify(ES256, proofKey, signature, data)),
    pair: await measure(seconds, 1, async () => {
      await crypto.subtle.verify(ES256, proofKey, signature, data);
      await crypto.subtle.sign(ES256, signingKey, data);
    }),
  },
};

const nodePrivate = nodeCrypto.createPrivateKey({ key: privateJwk, format: "jwk" });
const nodePublic = nodeCrypto.createPublicKey({ key: { kty, crv, x, y }, format: "jwk" });
const nodeSign = () => nodeCrypto.sign("sha256", data, { key: nodePrivate, dsaEncoding: "ieee-p1363" });
for (const candidate of [nodeSign(), signature]) {
  if (!nodeCrypto.verify("sha256", data, { key: nodePublic, dsaEncoding: "ieee-p1363" }, candidate))
    throw new Error("node:crypto refuses a valid signature");
}
crypto_.nodeCrypto = {
  sign: await measure(seconds, 1, nodeSign),
  verify: await measure(seconds, 1, () =>
    nodeCrypto.verify("sha256", data, { key: nodePublic, dsaEncoding: "ieee-p1363" }, signature),
  ),
  pair: await measure(seconds, 1, () => {
    nodeCrypto.verify("sha256", data, { key: nodePublic, dsaEncoding: "ieee-p1363" }, signature);
    nodeSign();
  }),
};

if (noblePath) {
  const { p256 } = await import(new URL(noblePath, `file://${Deno.cwd()}/`).href);
  const secret = Uint8Array.from(atob(privateJwk.d.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const publicBytes = p256.getPublicKey(secret, false);
  // Raw r || s, the JWS form; lowS off: ES256 signatures are not normalized.
  const nobleSign = () => p256.sign(data, secret, { lowS: false });
  // Every noble signature must verify under WebCrypto with the public key, or it does not count.
  for (let i = 0; i < 20; i++) {
    if (!(await crypto.subtle.verify(ES256, proofKey, nobleSign(), data)))
      throw new Error("WebCrypto refuses a @noble/curves signature");
  }
  crypto_.noble = {
    sign: await measure(seconds, 1, nobleSign),
    verify: await measure(seconds, 1, () => p256.verify(signature, data, publicBytes, { lowS: false })),
    pairWithWebcryptoVerify: await measure(seconds, 1, async () => {
      await crypto.subtle.verify(ES256, proofKey, signature, data);
      nobleSign();
    }),
  };
}

// --- KV -------------------------------------------------------------------------------------------
async function kvRates(dir, withRead) {
  const kv = await Deno.openKv(`${dir}/primitives.sqlite3`);
  let id = 0;
  const mark = { expires_at: Math.floor(Date.now() / 1000) + 300 };
  const singleUse = async () => {
    const key = ["replay", "dpop:bench", `jti-${id++}`];
    const { ok } = await kv.atomic().check({ key, versionstamp: null }).set(key, mark, { expireIn: 360_000 }).commit();
    if (!ok) throw new Error("a fresh key's check(null) failed");
  };
  const rates = {
    checkNullSet: await measure(seconds, 1, singleUse),
    checkNullSet32: await measure(seconds, 32, singleUse),
  };
  if (withRead) {
    rates.getCheckSet32 = await measure(seconds, 32, async () => {
      const key = ["replay", "dpop:bench", `jti-${id++}`];
      const entry = await kv.get(key);
      const { ok } = await kv
        .atomic()
        .check({ key, versionstamp: entry.versionstamp })
        .set(key, mark, { expireIn: 360_000 })
        .commit();
      if (!ok) throw new Error("a fresh key's check failed");
    });
  }
  kv.close();
  return rates;
}

const kv = { memory: await kvRates(memoryDir, true), ...(diskDir ? { disk: await kvRates(diskDir, false) } : {}) };
console.log(JSON.stringify({ deno: Deno.version.deno, seconds, crypto: crypto_, kv }));
