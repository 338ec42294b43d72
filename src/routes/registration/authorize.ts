/**
 * Step: who authorizes a registration. Either
 * (a) an initial access token: `Authorization: Bearer` (or `DPoP`, when the token is DPoP-bound) with a
 *     token this server issued to a main client by client_credentials with scope `dcr`; or
 * (b) the main client authenticating directly: HTTP Basic, a private_key_jwt assertion as the JSON members
 *     `client_assertion_type`/`client_assertion`, or an mTLS certificate (matched against the template's
 *     main clients).
 * Either way the outcome is the main client and how strongly it authenticated (`cal`). The initial access
 * token is spent later, once the registration is otherwise valid.
 */
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Client, Config } from "../../config/load";
import { DCR_SCOPE } from "../../protocol";
import { OAuthError } from "../../errors";
import { clientCertificateOf } from "../../http/client-certificate";
import type { ClientAssuranceLevel } from "../../tokens/access-token";
import { authenticateClientRequest } from "../token/authenticate-client";
import { JWT_BEARER } from "../token/presented-credential";
import { authenticateAccessToken } from "../access-token-auth";
import type { RegistrationReason } from "../oauth-reasons";
import type { RegistrationEnv } from "./context";

export interface RegistrationAuthority {
  readonly mainClient: Client;
  readonly cal: ClientAssuranceLevel;
  /** Present when an initial access token authorized the registration: spent once it succeeds. */
  readonly initialToken?: { readonly jti: string; readonly exp: number };
}

/** 401 with an RFC 6750 / RFC 9449 challenge; the reason goes to the log only. */
export function invalidToken(
  reason: RegistrationReason,
  description: string,
  scheme: "Bearer" | "DPoP" = "Bearer",
): OAuthError {
  return new OAuthError("invalid_token", description, {
    reason,
    headers: { "WWW-Authenticate": `${scheme} error="invalid_token", error_description="${description}"` },
  });
}

/** A main client: a configured client that is not a registration template. */
async function mainClientOf(config: Config, clientId: string): Promise<Client | undefined> {
  const client = config.clientsById.get(clientId);
  return client && !client.dynamic_client_registration_template ? client : undefined;
}

/** The initial access token, accepted as every access token is (authenticateAccessToken), with scope dcr. */
async function byInitialAccessToken(c: Context<RegistrationEnv>): Promise<RegistrationAuthority> {
  const config = c.get("config");
  const { token, client: mainClient } = await authenticateAccessToken(c, {
    url: config.endpoints.registration,
    requireDpop: false,
    clientOf: (clientId) => mainClientOf(config, clientId),
  });
  if (!token.scopes.includes(DCR_SCOPE)) {
    throw new OAuthError("insufficient_scope", `the token lacks the ${DCR_SCOPE} scope`, {
      reason: "initial_token_without_dcr_scope",
      headers: {
        "WWW-Authenticate": `${token.jkt ? "DPoP" : "Bearer"} error="insufficient_scope", scope="${DCR_SCOPE}"`,
      },
    });
  }
  c.get("log").main_client_id = mainClient.client_id;
  return { mainClient, cal: token.cal, initialToken: { jti: token.jti, exp: token.exp } };
}

async function byClientAuthentication(
  c: Context<RegistrationEnv>,
  authorization: string | null,
): Promise<RegistrationAuthority> {
  const config = c.get("config");
  const body = c.get("registrationBody");
  const options = { dynamic: false } as const;
  const noAttestation = { attestation: null, pop: null };
  const form = new Map<string, string>();
  if (body.client_assertion !== undefined || body.client_assertion_type !== undefined) {
    if (body.client_assertion_type !== JWT_BEARER)
      throw new OAuthError("invalid_request", `client_assertion_type must be ${JWT_BEARER}`, {
        reason: "registration_assertion_type",
      });
    if (typeof body.client_assertion !== "string" || !body.client_assertion)
      throw new OAuthError("invalid_request", "client_assertion is required", {
        reason: "parameter_missing",
        detail: { parameter: "client_assertion" },
      });
    form.set("client_assertion_type", JWT_BEARER);
    form.set("client_assertion", body.client_assertion);
  }
  if (authorization !== null || form.size > 0) {
    const authenticated = await authenticateClientRequest(
      c,
      { authorization, form, attestation: noAttestation },
      options,
    );
    return { mainClient: authenticated.client, cal: authenticated.cal };
  }
  // No credential at all: answer with the Bearer challenge (RFC 7591 §3, RFC 6750 §3), not with an mTLS
  // candidate's "no certificate" failure (a 401 without WWW-Authenticate).
  const unauthorized = invalidToken(
    "registration_unauthorized",
    "an initial access token or client authentication is required",
  );
  if ((await clientCertificateOf(c.req.raw, config.mtls.certificate_header)) === null) throw unauthorized;
  // mTLS: the certificate names no client; try the template's main clients that use mTLS.
  const template = config.templatesById.get(String(body.software_id));
  const candidates = (template?.dynamic_client_registration_template?.authenticate_client_by ?? [])
    .map((id) => config.clientsById.get(id))
    .filter(
      (client): client is Client =>
        client?.token_endpoint_auth_method === "tls_client_auth" ||
        client?.token_endpoint_auth_method === "self_signed_tls_client_auth",
    );
  let lastError: unknown = unauthorized;
  for (const candidate of candidates) {
    try {
      const authenticated = await authenticateClientRequest(
        c,
        { authorization: null, form: new Map([["client_id", candidate.client_id]]), attestation: noAttestation },
        options,
      );
      return { mainClient: authenticated.client, cal: authenticated.cal };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

export const authorizeRegistration = createMiddleware<RegistrationEnv>(async (c, next) => {
  const authorization = c.req.header("Authorization") ?? null;
  if (authorization !== null && authorization.length > c.get("config").limits.max_header_bytes)
    throw new OAuthError("invalid_request", "Authorization header too large", {
      reason: "authorization_header_too_large",
    });
  let authority: RegistrationAuthority;
  if (authorization !== null && /^(Bearer|DPoP) /i.test(authorization)) {
    authority = await byInitialAccessToken(c);
  } else if (authorization !== null && !/^basic /i.test(authorization)) {
    throw invalidToken("registration_authorization_scheme", "use Bearer (an initial access token), DPoP, or Basic");
  } else {
    authority = await byClientAuthentication(c, authorization);
  }
  c.get("log").main_client_id = authority.mainClient.client_id;
  c.set("authority", authority);
  await next();
});
