// The runtime floor on Deno, the twin of floor-worker.js: the irreducible work of one DPoP-bound token
// on Deno and Deno KV, and nothing else. Not haapi-edge, and not a valid server: no client
// authentication, no claim checks beyond the signature and single use, no configuration, no router.
// It shows what Deno itself allows on this machine, so the bench can say how far haapi-edge on Deno is
// from the ceiling of its runtime. Run by bench/serve-deno.mjs --floor with the permissions of
// `npm run start:deno`; reads PORT and DENO_KV_PATH.
//
// Per request: read the body; import the proof's key (cached by its JWK text, as haapi-edge does);
// verify the ES256 signature (WebCrypto); one Deno KV commit that writes the jti, refused when already
// there (`check(null)` + `set`, with `expireIn`); RFC 7638 thumbprint (cached); sign an ES256 JWT with
// cnf.jkt (WebCrypto).
const kv = await Deno.openKv(Deno.env.get("DENO_KV_PATH"));

const encoder = new TextEncoder();
const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const fromB64url = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const ES256 = { name: "ECDSA", hash: "SHA-256" };

const keys = new Map();
const { privateKey: signingKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
  "sign",
  "verify",
]);

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

/** Single use: the first commit of a jti wins, any later one is refused. */
async function use(jkt, jti, exp) {
  const key = ["floor", jkt, jti];
  const { ok } = await kv
    .atomic()
    .check({ key, versionstamp: null })
    .set(key, { expires_at: exp }, { expireIn: 360_000 })
    .commit();
  return ok;
}

Deno.serve({ port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen: () => {} }, async (request) => {
  if (request.method !== "POST") return new Response("runtime floor (Deno)\n");
  await request.text();
  const [header, payload, signature] = (request.headers.get("dpop") ?? "").split(".");
  const { key, jkt } = await proofKey(header);
  const valid = await crypto.subtle.verify(ES256, key, fromB64url(signature), encoder.encode(`${header}.${payload}`));
  if (!valid) return Response.json({ error: "invalid_dpop_proof" }, { status: 400 });
  const { jti, iat } = JSON.parse(new TextDecoder().decode(fromB64url(payload)));
  if (!(await use(jkt, jti, iat + 300))) return Response.json({ error: "invalid_dpop_proof" }, { status: 400 });

  const now = Math.floor(Date.now() / 1000);
  const input = `${b64url(encoder.encode('{"alg":"ES256","typ":"at+jwt"}'))}.${b64url(encoder.encode(JSON.stringify({ sub: "bench-client", iat: now, exp: now + 300, jti: crypto.randomUUID(), cnf: { jkt } })))}`;
  const tokenSignature = await crypto.subtle.sign(ES256, signingKey, encoder.encode(input));
  return Response.json({ access_token: `${input}.${b64url(tokenSignature)}`, token_type: "DPoP", expires_in: 300 });
});
