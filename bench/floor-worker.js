// The runtime floor: the irreducible work of one DPoP-bound token in workerd, and nothing else.
// Not haapi-edge, and not a valid server: no client authentication, no claim checks beyond the
// signature and single use, no configuration, no router. It exists to measure what workerd itself
// allows on this machine, so the bench can say how far haapi-edge is from the ceiling of its runtime.
//
// Per request: read the body; import the proof's key (cached per isolate by its JWK text, as
// haapi-edge does); verify the ES256 signature; one Durable Object call that writes the jti (SQLite,
// refused when already there); RFC 7638 thumbprint (cached); sign an ES256 JWT with cnf.jkt.
import { DurableObject } from "cloudflare:workers";

export class FloorReplayGuard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS used (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL)");
  }

  use(jti, exp) {
    const cursor = this.ctx.storage.sql.exec(
      "INSERT INTO used (jti, exp) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING RETURNING jti",
      jti,
      exp,
    );
    return cursor.toArray().length === 1;
  }
}

const encoder = new TextEncoder();
const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const fromB64url = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const ES256 = { name: "ECDSA", hash: "SHA-256" };

const keys = new Map();
let signingKey;

async function proofKey(headerText) {
  let entry = keys.get(headerText);
  if (!entry) {
    const { jwk } = JSON.parse(new TextDecoder().decode(fromB64url(headerText)));
    const { crv, kty, x, y } = jwk;
    const key = await crypto.subtle.importKey(
      "jwk",
      { crv, kty, x, y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const jkt = b64url(await crypto.subtle.digest("SHA-256", encoder.encode(JSON.stringify({ crv, kty, x, y }))));
    entry = { key, jkt };
    keys.set(headerText, entry);
  }
  return entry;
}

export default {
  async fetch(request, env) {
    if (request.method !== "POST") return new Response("runtime floor worker\n");
    await request.text();
    const [header, payload, signature] = (request.headers.get("dpop") ?? "").split(".");
    const { key, jkt } = await proofKey(header);
    const valid = await crypto.subtle.verify(ES256, key, fromB64url(signature), encoder.encode(`${header}.${payload}`));
    if (!valid) return Response.json({ error: "invalid_dpop_proof" }, { status: 400 });
    const { jti, iat } = JSON.parse(new TextDecoder().decode(fromB64url(payload)));
    const guard = env.GUARD.get(env.GUARD.idFromName(jkt));
    if (!(await guard.use(jti, iat + 300))) return Response.json({ error: "invalid_dpop_proof" }, { status: 400 });

    signingKey ??= await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64url(encoder.encode('{"alg":"ES256","typ":"at+jwt"}'))}.${b64url(encoder.encode(JSON.stringify({ sub: "bench-client", iat: now, exp: now + 300, jti: crypto.randomUUID(), cnf: { jkt } })))}`;
    const tokenSignature = await crypto.subtle.sign(ES256, signingKey.privateKey, encoder.encode(input));
    return Response.json({ access_token: `${input}.${b64url(tokenSignature)}`, token_type: "DPoP", expires_in: 300 });
  },
};
