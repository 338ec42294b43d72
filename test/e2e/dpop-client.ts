/**
 * A DPoP client (RFC 9449) for the end-to-end tests that make their own proofs: one ES256 key, the
 * server's latest nonce, and one retry when the server asks for it (400 use_dpop_nonce at the token
 * endpoint, 401 with a use_dpop_nonce challenge at resources, §8).
 *
 * A request names a URL of the issuer (the proof's `htu`) and may be sent to another process serving
 * the same issuer: the server compares `htu` with the endpoint URL it derives from its configured
 * issuer (src/routes/token/verify-dpop.ts), not with the URL the request arrived at.
 */
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

export interface DpopKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** RFC 7638 SHA-256 thumbprint: the access token's `cnf.jkt`. */
  readonly jkt: string;
}

export async function newDpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, "sha256") };
}

export interface ProofClaims {
  readonly htm: string;
  /** The request URL; its query and fragment are left out (§4.2). */
  readonly htu: string;
  readonly nonce?: string;
  /** The access token the request carries: its hash goes in `ath` (§4.2). */
  readonly accessToken?: string;
}

/** A fresh proof (new `jti`, `iat` now). */
export async function dpopProof(key: DpopKey, claims: ProofClaims): Promise<string> {
  const htu = new URL(claims.htu);
  htu.search = "";
  htu.hash = "";
  const ath =
    claims.accessToken === undefined
      ? undefined
      : base64url.encode(
          new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(claims.accessToken))),
        );
  return new SignJWT({
    htm: claims.htm,
    htu: htu.href,
    ...(claims.nonce ? { nonce: claims.nonce } : {}),
    ...(ath ? { ath } : {}),
  })
    .setProtectedHeader({ typ: "dpop+jwt", alg: "ES256", jwk: key.publicJwk })
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .sign(key.privateKey);
}

/** `url` (a URL of the issuer) with its origin replaced by `origin`: the same request to another process. */
export function sentTo(url: string, origin: string): string {
  const target = new URL(url);
  const base = new URL(origin);
  target.protocol = base.protocol;
  target.host = base.host;
  return target.href;
}

export interface DpopRequest {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent form-encoded. */
  readonly form?: Readonly<Record<string, string>>;
  /** Sent as `Authorization: DPoP <token>`, with its `ath` in the proof. */
  readonly accessToken?: string;
  /** Where to send it: another process serving the issuer; default the URL's own origin. */
  readonly origin?: string;
}

export interface DpopAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The body as JSON, or `{ text }` when it is not JSON. */
  readonly body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class DpopClient {
  /** The latest DPoP-Nonce any answer carried. */
  nonce: string | undefined;

  constructor(readonly key: DpopKey) {}

  /** Send `request` to `url` with a fresh proof; once more with the nonce when the server asks for one. */
  async send(url: string, request: DpopRequest = {}): Promise<DpopAnswer> {
    const method = request.method ?? (request.form ? "POST" : "GET");
    for (let attempt = 1; ; attempt++) {
      const proof = await dpopProof(this.key, {
        htm: method,
        htu: url,
        ...(this.nonce ? { nonce: this.nonce } : {}),
        ...(request.accessToken ? { accessToken: request.accessToken } : {}),
      });
      const response = await fetch(request.origin ? sentTo(url, request.origin) : url, {
        method,
        headers: {
          ...request.headers,
          DPoP: proof,
          ...(request.accessToken ? { Authorization: `DPoP ${request.accessToken}` } : {}),
          ...(request.form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        },
        ...(request.form ? { body: new URLSearchParams(request.form) } : {}),
      });
      const text = await response.text();
      let body: DpopAnswer["body"];
      try {
        body = JSON.parse(text) as DpopAnswer["body"];
      } catch {
        body = { text };
      }
      const fresh = response.headers.get("DPoP-Nonce");
      if (fresh) this.nonce = fresh;
      const askedForNonce =
        (response.status === 400 && body.error === "use_dpop_nonce") ||
        (response.status === 401 && (response.headers.get("WWW-Authenticate") ?? "").includes("use_dpop_nonce"));
      if (askedForNonce && fresh && attempt === 1) continue;
      return { status: response.status, headers: response.headers, body };
    }
  }
}

/** `Authorization: Basic` for a client secret (RFC 6749 §2.3.1: form-encoded id and secret). */
export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString("base64")}`;
}
