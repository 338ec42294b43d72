// The load generator: autocannon with a fresh DPoP proof on every request, and correctness checks
// on every response, so a fast wrong server cannot win.
//
// - 100 device keys (ES256); proofs are signed BEFORE the timed part, so the generator's own signing
//   is not measured. Each proof has a unique jti and an iat of the moment it was made.
// - About 1% of requests replay a proof that was sent (and answered) earlier: each must be refused.
// - Every 200 must hold token_type DPoP and an access token whose cnf.jkt is the proof key's thumbprint.
import autocannon from "autocannon";
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from "node:crypto";

const b64url = (buffer) => Buffer.from(buffer).toString("base64url");

/** A client_secret_hash in the format src/verifiers/client-secret.ts verifies (see scripts/hash-secret.mjs). */
export function clientSecretHash(secret) {
  const salt = randomBytes(16);
  return `sha256$${salt.toString("base64url")}$${createHash("sha256")
    .update(Buffer.concat([salt, Buffer.from(secret)]))
    .digest("base64url")}`;
}

export function makeDeviceKeys(count = 100) {
  return Array.from({ length: count }, () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const { kty, crv, x, y } = publicKey.export({ format: "jwk" });
    const jwk = { kty, crv, x, y };
    const jkt = b64url(createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest());
    const header = b64url(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk }));
    return { privateKey, jkt, header };
  });
}

/** Pre-sign `count` proofs for one endpoint, round-robin over the keys. */
export function makeProofs(keys, count, htu, nonce) {
  const iat = Math.floor(Date.now() / 1000);
  const proofs = new Array(count);
  for (let i = 0; i < count; i++) {
    const key = keys[i % keys.length];
    const payload = b64url(JSON.stringify({ jti: randomUUID(), htm: "POST", htu, iat, ...(nonce ? { nonce } : {}) }));
    const input = `${key.header}.${payload}`;
    const signature = sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
    proofs[i] = { dpop: `${input}.${b64url(signature)}`, jkt: key.jkt };
  }
  return proofs;
}

/** If the server demands a nonce, learn it first (one request with a throwaway proof). */
export async function learnNonce(keys, tokenUrl, authorization) {
  const [probe] = makeProofs(keys, 1, tokenUrl);
  const response = await fetch(tokenUrl, {
    method: "POST",
    headers: { Authorization: authorization, "Content-Type": "application/x-www-form-urlencoded", DPoP: probe.dpop },
    body: "grant_type=client_credentials&scope=read",
  });
  const body = await response.text();
  // Only a nonce the server demanded; one offered on success is not required by it.
  return response.status === 400 && body.includes("use_dpop_nonce")
    ? (response.headers.get("dpop-nonce") ?? undefined)
    : undefined;
}

function jktOfToken(body) {
  const { access_token: token, token_type: type } = JSON.parse(body);
  if (type !== "DPoP" || typeof token !== "string") return null;
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
  return claims.cnf?.jkt ?? null;
}

/**
 * One timed run against one server.
 * @returns rps, tokens per second, p50/p99 latency (ms), and the error counts.
 */
export async function runLoad({ tokenUrl, authorization, proofs, seconds, connections, replayEvery = 100 }) {
  let next = 0;
  const stats = {
    ok: 0,
    wrongBinding: 0,
    unexpectedStatus: 0,
    serverErrors: 0,
    replays: 0,
    replaysAccepted: 0,
    exhausted: 0,
  };
  const sent = [];
  const url = new URL(tokenUrl);

  const result = await autocannon({
    url: url.origin,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: [
      {
        method: "POST",
        path: url.pathname,
        headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=client_credentials&scope=read",
        setupRequest(request, context) {
          const count = next++;
          // A replay: a proof sent long enough ago that its first use has been answered.
          if (count % replayEvery === replayEvery - 1 && sent.length > connections * 4) {
            context.expect = { replay: true };
            stats.replays++;
            return { ...request, headers: { ...request.headers, dpop: sent[sent.length - connections * 4].dpop } };
          }
          const proof = proofs[count];
          if (!proof) {
            // Out of pre-signed proofs: send a spent one and leave its answer out of every count.
            stats.exhausted++;
            context.expect = { ignore: true };
            return { ...request, headers: { ...request.headers, dpop: proofs[0].dpop } };
          }
          sent.push(proof);
          context.expect = { jkt: proof.jkt };
          return { ...request, headers: { ...request.headers, dpop: proof.dpop } };
        },
        onResponse(status, body, context) {
          const expect = context.expect ?? {};
          if (status >= 500) stats.serverErrors++;
          if (expect.ignore) return;
          if (expect.replay) {
            if (status === 200) stats.replaysAccepted++;
            return;
          }
          if (status !== 200) {
            stats.unexpectedStatus++;
            return;
          }
          try {
            if (jktOfToken(body) === expect.jkt) stats.ok++;
            else stats.wrongBinding++;
          } catch {
            stats.wrongBinding++;
          }
        },
      },
    ],
  });
  const elapsed = seconds;
  return {
    rps: result.requests.total / elapsed,
    tokensPerSecond: stats.ok / elapsed,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors:
      stats.wrongBinding +
      stats.unexpectedStatus +
      stats.serverErrors +
      stats.replaysAccepted +
      result.errors +
      result.timeouts,
    detail: { ...stats, socketErrors: result.errors, timeouts: result.timeouts, total: result.requests.total },
  };
}
