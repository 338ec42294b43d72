/**
 * Step: client authentication at the token endpoint.
 *
 * Exactly one method per request (RFC 6749 §2.3): HTTP Basic, secret in the body, a client
 * assertion (a private_key_jwt, or a CAT as urn:se:curity:attestation:client), or the
 * OAuth-Client-Attestation header (IETF draft; with its PoP header, or the DPoP combined mode).
 * mTLS clients present no such credential, only a certificate and their client_id (RFC 8705 §2).
 * The method must be the one the client is registered with; a CAT needs a client with `attestation`.
 * A public client (`none`) presents its client_id alone, where that is allowed (`allowPublic`); any
 * secret or JWT assertion it presents is refused, and only a CAT (its attestation) counts for it.
 */
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Client } from "../../config/load";
import { ASYMMETRIC_ALGS, type TokenEndpointAuthMethod } from "../../config/schema";
import { OAuthError } from "../../errors";
import { clientCertificateOf } from "../../http/client-certificate";
import { x5cThumbprints } from "../../x509/certificate";
import { verifyClientAssertion, type AssertionFailure } from "../../verifiers/client-assertion";
import {
  verifySelfSignedTlsClientAuth,
  verifyTlsClientAuth,
  type CertificateFailure,
  type ClientCertificate,
} from "../../verifiers/client-certificate";
import { verifyClientSecret } from "../../verifiers/client-secret";
import type { FormParams } from "../../http/form";
import type { AppEnv, AuthenticatedClient } from "../context";
import { verifyAttestationPop } from "../../verifiers/attestation-pop";
import { verifyCat } from "../../verifiers/cat";
import { findClient, markDynamicClientUsed } from "../dynamic-clients";
import { assertionReplay, keysFor } from "../services";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** HAAPI: a CAT as the client assertion (Curity's client_assertion_type). */
export const CURITY_ATTESTATION = "urn:se:curity:attestation:client";

/** What the request presented, before anything is verified. */
type Presented =
  | { kind: "basic"; clientId: string; secret: string }
  | { kind: "post"; clientId: string; secret: string }
  | { kind: "assertion"; clientId: string; assertion: string }
  | { kind: "cat"; clientId: string; cat: string; via: "assertion" }
  | { kind: "cat"; clientId: string; cat: string; via: "header"; pop: string | null }
  | { kind: "none"; clientId: string };

/** The methods a client must be registered with to present each kind; a CAT needs `attestation` instead. */
const METHOD_OF: Record<Exclude<Presented["kind"], "cat">, readonly TokenEndpointAuthMethod[]> = {
  basic: ["client_secret_basic"],
  post: ["client_secret_post"],
  assertion: ["private_key_jwt"],
  none: ["tls_client_auth", "self_signed_tls_client_auth"],
};

const SECRET_KINDS = new Set<Presented["kind"]>(["basic", "post"]);

/**
 * A configured client uses exactly its registered method. A dynamic client with a secret may send it
 * either way (HTTP Basic or the body), as Curity's "secret" method accepts: mobile SDKs differ, and the
 * two carry the same secret.
 */
function methodAccepted(kind: Exclude<Presented["kind"], "cat">, client: Client): boolean {
  if (METHOD_OF[kind].includes(client.token_endpoint_auth_method)) return true;
  return client.dynamic !== undefined && SECRET_KINDS.has(kind) && client.client_secret_hash !== undefined;
}

/** Headers of attestation-based client authentication (IETF draft), as presented. */
export interface AttestationHeaders {
  readonly attestation: string | null;
  readonly pop: string | null;
}

function subjectOf(jwt: string, onError: () => OAuthError): string {
  let subject: unknown;
  try {
    subject = decodeJwt(jwt).sub;
  } catch {
    throw onError();
  }
  if (typeof subject !== "string") throw onError();
  return subject;
}

function invalidClient(reason: string, basicTried: boolean, detail?: Record<string, unknown>): OAuthError {
  return new OAuthError("invalid_client", "client authentication failed", {
    reason,
    ...(detail ? { detail } : {}),
    headers: basicTried ? { "WWW-Authenticate": 'Basic realm="haapi-edge", charset="UTF-8"' } : {},
  });
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, "%20"));
}

function parseBasic(header: string): { clientId: string; secret: string } {
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(atob(header.slice(6).trim()), (char) => char.charCodeAt(0)),
    );
  } catch {
    throw invalidClient("basic_not_base64", true);
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) throw invalidClient("basic_no_colon", true);
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient("basic_bad_encoding", true);
  }
}

/** Find out which single method the request uses and for which client_id. */
export function presentedCredential(
  authorization: string | null,
  form: FormParams,
  maxHeader: number,
  headers: AttestationHeaders,
): Presented {
  const kinds: Presented[] = [];
  const bodyClientId = form.get("client_id");
  if (authorization !== null) {
    if (authorization.length > maxHeader) throw new OAuthError("invalid_request", "Authorization header too large");
    if (!/^basic /i.test(authorization))
      throw new OAuthError("invalid_request", "unsupported Authorization scheme at the token endpoint", {
        reason: `scheme ${authorization.split(" ")[0]?.slice(0, 20)}`,
      });
    kinds.push({ kind: "basic", ...parseBasic(authorization) });
  }
  if (form.has("client_secret")) {
    if (!bodyClientId) throw invalidClient("post_without_client_id", false);
    kinds.push({ kind: "post", clientId: bodyClientId, secret: form.get("client_secret")! });
  }
  if (form.has("client_assertion") || form.has("client_assertion_type")) {
    const type = form.get("client_assertion_type");
    const assertion = form.get("client_assertion");
    if (type !== JWT_BEARER && type !== CURITY_ATTESTATION) {
      throw new OAuthError("invalid_request", "unsupported client_assertion_type", {
        reason: `client_assertion_type ${JSON.stringify(type?.slice(0, 100))}`,
      });
    }
    if (!assertion) throw new OAuthError("invalid_request", "client_assertion is required");
    const clientId = subjectOf(assertion, () => invalidClient("assertion_malformed", false));
    kinds.push(
      type === JWT_BEARER
        ? { kind: "assertion", clientId, assertion }
        : { kind: "cat", clientId, cat: assertion, via: "assertion" },
    );
  }
  if (headers.attestation !== null) {
    if (headers.attestation.length > maxHeader || (headers.pop?.length ?? 0) > maxHeader)
      throw new OAuthError("invalid_request", "client attestation header too large");
    if (headers.attestation.includes(",") || headers.pop?.includes(",")) {
      throw new OAuthError(
        "invalid_request",
        "exactly one OAuth-Client-Attestation and at most one OAuth-Client-Attestation-PoP header",
      );
    }
    const clientId = subjectOf(
      headers.attestation,
      () =>
        new OAuthError("invalid_client_attestation", "client attestation is malformed", {
          reason: "cat_header_malformed",
        }),
    );
    kinds.push({ kind: "cat", clientId, cat: headers.attestation, via: "header", pop: headers.pop });
  } else if (headers.pop !== null) {
    throw new OAuthError("invalid_request", "OAuth-Client-Attestation-PoP without OAuth-Client-Attestation");
  }
  if (kinds.length > 1)
    throw new OAuthError("invalid_request", "more than one client authentication method", {
      reason: `methods ${kinds.map((k) => k.kind).join(",")}`,
    });
  const [only] = kinds;
  if (only) {
    if (bodyClientId !== undefined && bodyClientId !== only.clientId)
      throw invalidClient("client_id_mismatch", only.kind === "basic");
    return only;
  }
  if (!bodyClientId) throw invalidClient("no_client_authentication", false);
  return { kind: "none", clientId: bodyClientId };
}

const assertionKeys = new WeakMap<Client, JWTVerifyGetKey>();

function keysOf(client: Client): JWTVerifyGetKey {
  let keys = assertionKeys.get(client);
  if (!keys) {
    keys = createLocalJWKSet(client.jwks as JSONWebKeySet);
    assertionKeys.set(client, keys);
  }
  return keys;
}

function assertionError(reason: AssertionFailure, detail?: Readonly<Record<string, unknown>>): OAuthError {
  // Deliberately one public message for every assertion failure; the reason is logged.
  return invalidClient(`assertion_${reason}`, false, detail ? { ...detail } : undefined);
}

function certificateError(reason: CertificateFailure, detail?: Readonly<Record<string, unknown>>): OAuthError {
  return invalidClient(`certificate_${reason}`, false, detail ? { ...detail } : undefined);
}

async function authenticate<E extends AppEnv>(
  c: Context<E>,
  presented: Presented,
  client: Client,
): Promise<AuthenticatedClient> {
  const config = c.get("config");
  const now = c.get("now");
  const certificate = (): Promise<ClientCertificate | null> =>
    clientCertificateOf(c.req.raw, config.mtls.certificate_header);
  switch (presented.kind) {
    case "basic":
    case "post": {
      const result = await verifyClientSecret(presented.secret, client);
      if (!result.ok) throw invalidClient(result.reason, presented.kind === "basic");
      return {
        client,
        method: client.token_endpoint_auth_method,
        cal: "none",
        certificate: client.tls_client_certificate_bound_access_tokens ? await certificate() : null,
      };
    }
    case "assertion": {
      const result = await verifyClientAssertion(
        presented.assertion,
        {
          clientId: client.client_id,
          audiences: [config.issuer, config.endpoints.token, config.endpoints.registration],
          algorithms: client.token_endpoint_auth_signing_alg
            ? [client.token_endpoint_auth_signing_alg]
            : ASYMMETRIC_ALGS,
          maxLifetime: config.client_authentication.assertion_max_lifetime,
          clockSkew: config.client_authentication.clock_skew,
        },
        { keys: keysOf(client), markUsed: assertionReplay(c, client.client_id) },
        now,
      );
      if (!result.ok) throw assertionError(result.reason, result.detail);
      return {
        client,
        method: "private_key_jwt",
        cal: "by-provisioned-key",
        certificate: client.tls_client_certificate_bound_access_tokens ? await certificate() : null,
      };
    }
    case "cat":
      return authenticateWithCat(c, presented, client);
    case "none": {
      const presentedCertificate = await certificate();
      const result =
        client.token_endpoint_auth_method === "tls_client_auth"
          ? verifyTlsClientAuth(presentedCertificate, client)
          : verifySelfSignedTlsClientAuth(presentedCertificate, await x5cThumbprints(client.jwks?.keys ?? []));
      if (!result.ok) throw certificateError(result.reason, result.detail);
      return {
        client,
        method: client.token_endpoint_auth_method,
        cal: "by-provisioned-key",
        certificate: result.value,
      };
    }
  }
}

/** Keys that verify the server's own CATs: its published JWK set (current, next and retired keys). */
const catKeySets = new WeakMap<object, JWTVerifyGetKey>();

function catError(via: "assertion" | "header", reason: string, detail?: Readonly<Record<string, unknown>>): OAuthError {
  if (via === "assertion") return invalidClient(reason, false, detail ? { ...detail } : undefined);
  return new OAuthError("invalid_client_attestation", "client attestation rejected", {
    reason,
    ...(detail ? { detail: { ...detail } } : {}),
  });
}

/** A CAT this server issued, for this client, bound to a key; with the IETF PoP header, proof of that key too. */
async function authenticateWithCat<E extends AppEnv>(
  c: Context<E>,
  presented: Extract<Presented, { kind: "cat" }>,
  client: Client,
): Promise<AuthenticatedClient> {
  if (!client.attestation) throw catError(presented.via, "cat_client_not_attesting");
  const config = c.get("config");
  const now = c.get("now");
  const keys = await keysFor(c);
  let keySet = catKeySets.get(keys.jwks);
  if (!keySet) {
    keySet = createLocalJWKSet(keys.jwks as JSONWebKeySet);
    catKeySets.set(keys.jwks, keySet);
  }
  const result = await verifyCat(
    presented.cat,
    { issuer: config.issuer, maxLifetime: config.attestation.cat_ttl },
    keySet,
    now,
  );
  if (!result.ok) throw catError(presented.via, `cat_${result.reason}`, result.detail);
  const cat = result.value;
  let popUse: { jti: string; expiresAt: number } | undefined;
  if (presented.via === "header" && presented.pop !== null) {
    const pop = await verifyAttestationPop(
      presented.pop,
      {
        audiences: [config.issuer, config.endpoints.token],
        algorithms: config.dpop.signing_alg_values,
        maxAge: config.attestation.pop_max_age,
        clockSkew: config.dpop.clock_skew,
      },
      cat.jwk,
      now,
    );
    if (!pop.ok) throw catError("header", `attestation_pop_${pop.reason}`, pop.detail);
    popUse = pop.value; // recorded with the CAT in spendAttestation
  }
  return {
    client,
    method: "attest_jwt_client_auth",
    cal: cat.cal,
    certificate: null,
    attestation: { ...cat, via: presented.via, ...(popUse ? { popUse } : {}) },
  };
}

/** What a request presents for client authentication, wherever it is read from. */
export interface ClientCredentialInput {
  readonly authorization: string | null;
  /** Form parameters (token endpoint), or the same members taken from a JSON body (registration endpoint). */
  readonly form: FormParams;
  readonly attestation: AttestationHeaders;
}

/**
 * Authenticate the client of a request: find which single method it presents, look the client up
 * (configured clients, then dynamic clients when `dynamic` is true), check the method is the one the client
 * is registered with, and verify the credential. Templates are never clients.
 */
export async function authenticateClientRequest<E extends AppEnv>(
  c: Context<E>,
  input: ClientCredentialInput,
  options: {
    readonly dynamic: boolean;
    /**
     * Accept a client by client_id alone: a public client (`none`), or a HAAPI client whose grant is
     * DPoP-bound (authorization_code and refresh_token; the grant step refuses an unbound one). Never
     * for client_credentials or introspection.
     */
    readonly allowPublic?: boolean;
  },
): Promise<AuthenticatedClient> {
  const config = c.get("config");
  const log = c.get("log");
  const presented = presentedCredential(
    input.authorization,
    input.form,
    config.limits.max_header_bytes,
    input.attestation,
  );
  const client = await findClient(c, presented.clientId, options.dynamic);
  if (!client) {
    const detail = { client_id: presented.clientId.slice(0, 100) };
    const reason = config.templatesById.has(presented.clientId) ? "template_client" : "unknown_client";
    if (presented.kind === "cat") throw catError(presented.via, reason, detail);
    throw invalidClient(reason, presented.kind === "basic", detail);
  }
  log.client_id = client.client_id;
  if (presented.kind === "none" && client.token_endpoint_auth_method === "none") {
    // A public client (RFC 7591 §2) has nothing to prove: PKCE (and DPoP, for a bound code) protect its grants.
    if (!options.allowPublic) throw invalidClient("public_client_not_allowed_here", false);
    log.auth_method = "none";
    return { client, method: "none", cal: "none", certificate: null };
  }
  if (
    presented.kind === "none" &&
    options.allowPublic &&
    client.capabilities.haapi &&
    !METHOD_OF.none.includes(client.token_endpoint_auth_method)
  ) {
    // A HAAPI app redeeming a token-bound code (or refreshing a bound refresh token) proves itself with
    // the DPoP key the grant is bound to; the grant step refuses anything that is not bound.
    log.auth_method = "none";
    return { client, method: "none", cal: client.dynamic?.cal ?? "none", certificate: null };
  }
  if (presented.kind !== "cat" && !methodAccepted(presented.kind, client)) {
    throw invalidClient("method_not_registered", presented.kind === "basic", {
      presented: presented.kind,
      registered: client.token_endpoint_auth_method,
    });
  }
  const authenticated = await authenticate(c, presented, client);
  log.auth_method = authenticated.method;
  if (!client.dynamic) return authenticated;
  // A dynamic client's assurance level was fixed when it was registered; its first use spares it from clean-up.
  if (client.dynamic.usedAt === null) await markDynamicClientUsed(c, client.client_id);
  log.cal = client.dynamic.cal;
  return { ...authenticated, cal: client.dynamic.cal };
}

export const authenticateClient = createMiddleware<AppEnv>(async (c, next) => {
  const authenticated = await authenticateClientRequest(
    c,
    {
      authorization: c.req.header("Authorization") ?? null,
      form: c.get("form"),
      attestation: {
        attestation: c.req.header("OAuth-Client-Attestation") ?? null,
        pop: c.req.header("OAuth-Client-Attestation-PoP") ?? null,
      },
    },
    { dynamic: true, allowPublic: c.get("form").get("grant_type") !== "client_credentials" },
  );
  c.set("authenticated", authenticated);
  await next();
});
