/**
 * Step: read a registration request (RFC 7591 §3.1): a JSON object, size-limited. A software statement
 * (§2.3), when present, must come from an approved issuer; its claims take precedence over the same
 * members of the body (§3.1.1).
 */
import type { Context } from "hono";
import { createLocalJWKSet, type JSONWebKeySet } from "jose";
import { createMiddleware } from "hono/factory";
import type { Config } from "../../config/load";
import { OAuthError } from "../../errors";
import { readBodyLimited } from "../../http/form";
import { verifySoftwareStatement, type TrustedStatementIssuer } from "../../verifiers/software-statement";
import type { AppEnv } from "../context";
import type { RegistrationEnv } from "./context";

export function isJsonContentType(contentType: string | null): boolean {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** The request's JSON object body, or a precise 400. */
export async function readJsonObject<E extends AppEnv>(c: Context<E>): Promise<Record<string, unknown>> {
  if (!isJsonContentType(c.req.header("Content-Type") ?? null)) {
    throw new OAuthError("invalid_request", "content type must be application/json", {
      reason: "content_type_unsupported",
      detail: { content_type: c.req.header("Content-Type")?.slice(0, 100) ?? null },
    });
  }
  const text = await readBodyLimited(c.req.raw, c.get("config").limits.max_body_bytes);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new OAuthError("invalid_request", "the body is not valid JSON", { reason: "body_not_json" });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new OAuthError("invalid_client_metadata", "the body must be a JSON object of client metadata", {
      reason: "body_not_object",
    });
  return body as Record<string, unknown>;
}

const issuerKeys = new WeakMap<Config, readonly TrustedStatementIssuer[]>();

function trustedIssuers(config: Config): readonly TrustedStatementIssuer[] {
  let issuers = issuerKeys.get(config);
  if (!issuers) {
    issuers = config.dynamic_client_registration.software_statement_issuers.map((entry) => ({
      issuer: entry.issuer,
      keys: createLocalJWKSet(entry.jwks as JSONWebKeySet),
    }));
    issuerKeys.set(config, issuers);
  }
  return issuers;
}

export const parseRegistration = createMiddleware<RegistrationEnv>(async (c, next) => {
  const config = c.get("config");
  const body = await readJsonObject(c);
  let merged: Record<string, unknown> = body;
  if (body.software_statement !== undefined) {
    const result = await verifySoftwareStatement(
      body.software_statement,
      { issuers: trustedIssuers(config), clockSkew: config.client_authentication.clock_skew },
      c.get("now"),
    );
    if (!result.ok) {
      throw result.reason === "unapproved"
        ? new OAuthError("unapproved_software_statement", "the software statement's issuer is not approved", {
            reason: "statement_unapproved",
            ...(result.detail ? { detail: { ...result.detail } } : {}),
          })
        : new OAuthError("invalid_software_statement", "the software statement is not valid", {
            reason: `statement_${result.reason}`,
            ...(result.detail ? { detail: { ...result.detail } } : {}),
          });
    }
    // RFC 7591 §3.2.1: the statement itself is returned unmodified, whatever its claims say.
    merged = { ...body, ...result.value, software_statement: body.software_statement };
    c.get("log").software_statement = true;
  }
  if (typeof merged.software_id !== "string" || merged.software_id.length === 0) {
    throw new OAuthError(
      "invalid_client_metadata",
      "software_id is required: the client_id of a registration template",
      { reason: "software_id_missing" },
    );
  }
  c.set("registrationBody", merged);
  await next();
});
