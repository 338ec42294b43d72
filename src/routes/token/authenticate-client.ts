/**
 * Step: client authentication at the token endpoint (and wherever a client authenticates: introspection,
 * revocation, the registration endpoint's main clients).
 *
 * Exactly one method per request (RFC 6749 §2.3): HTTP Basic, secret in the body, a client
 * assertion (a private_key_jwt, or a CAT as urn:se:curity:attestation:client), or the
 * OAuth-Client-Attestation header (IETF draft; with its PoP header, or the DPoP combined mode).
 * mTLS clients present no such credential, only a certificate and their client_id (RFC 8705 §2).
 * The method must be the one the client is registered with; a CAT needs a client with `attestation`.
 * A public client (`none`) presents its client_id alone, where that is allowed (`allowPublic`); any
 * secret or JWT assertion it presents is refused, and only a CAT (its attestation) counts for it.
 *
 *   presentedCredential (presented-credential.ts) -> find the client -> the registered method? -> verify:
 *   the secret, the assertion, the certificate, or the CAT (authenticate-with-cat.ts)
 */
import type { Context } from "hono";
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { createMiddleware } from "hono/factory";
import type { Client } from "../../config/load";
import { ASYMMETRIC_ALGS, type TokenEndpointAuthMethod } from "../../protocol";
import type { OAuthError } from "../../errors";
import { clientCertificateOf } from "../../http/client-certificate";
import type { FormParams } from "../../http/form";
import { x5cThumbprints } from "../../x509/certificate";
import { verifyClientAssertion, type AssertionFailure } from "../../verifiers/client-assertion";
import {
  verifySelfSignedTlsClientAuth,
  verifyTlsClientAuth,
  type CertificateFailure,
  type ClientCertificate,
} from "../../verifiers/client-certificate";
import { verifyClientSecret } from "../../verifiers/client-secret";
import type { AppEnv, AuthenticatedClient } from "../context";
import { findClient, markDynamicClientUsed } from "../dynamic-clients";
import { assertionReplay } from "../services";
import { authenticateWithCat, catError } from "./authenticate-with-cat";
import { type AttestationHeaders, invalidClient, type Presented, presentedCredential } from "./presented-credential";

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
  return invalidClient(`assertion_${reason}`, false, detail);
}

function certificateError(reason: CertificateFailure, detail?: Readonly<Record<string, unknown>>): OAuthError {
  return invalidClient(`certificate_${reason}`, false, detail);
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

/** What a request presents for client authentication, wherever it is read from. */
export interface ClientCredentialInput {
  readonly authorization: string | null;
  /** Form parameters (token endpoint), or the same members taken from a JSON body (registration endpoint). */
  readonly form: FormParams;
  readonly attestation: AttestationHeaders;
}

/** What a form request (token, introspection, revocation) presents: its Authorization and attestation headers, its form. */
export function formRequestCredentials(c: Context<AppEnv>): ClientCredentialInput {
  return {
    authorization: c.req.header("Authorization") ?? null,
    form: c.get("form"),
    attestation: {
      attestation: c.req.header("OAuth-Client-Attestation") ?? null,
      pop: c.req.header("OAuth-Client-Attestation-PoP") ?? null,
    },
  };
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
    const reason = config.templatesById.has(presented.clientId) ? "template_client" : ("unknown_client" as const);
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
  const authenticated = await authenticateClientRequest(c, formRequestCredentials(c), {
    dynamic: true,
    allowPublic: c.get("form").get("grant_type") !== "client_credentials",
  });
  c.set("authenticated", authenticated);
  await next();
});
