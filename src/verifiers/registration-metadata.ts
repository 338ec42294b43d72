/**
 * Client metadata of a templatized registration (RFC 7591 §2, RFC 7592 §2.2), checked against its template.
 *
 * A registration may narrow what the template allows, never widen it:
 * - `scope`, `grant_types` and `redirect_uris` must be subsets of the template's (absent: the template's);
 * - `token_endpoint_auth_method` is a secret method when the template hands out secrets, or
 *   `private_key_jwt` with the device's own `jwks` when the template allows device keys; `none` never;
 * - `dpop_bound_access_tokens` may be turned on, never off when the template has it on.
 * Members this server does not know are ignored (RFC 7591 §2); known members of the wrong type or value are
 * `invalid_client_metadata` naming the member, and a redirect URI outside the template is `invalid_redirect_uri`.
 *
 * Pure: no I/O, no clock.
 */
import { importJWK } from "jose";
import { ASYMMETRIC_ALGS, DYNAMIC_CLIENT_AUTH_METHODS, hasPrivateJwkMember } from "../protocol";
import type { RegisteredJwk, RegisteredMetadata } from "../kv/dynamic-client";
import { fail, ok, type Result } from "./result";

export type MetadataFailure = "invalid_client_metadata" | "invalid_redirect_uri";

/** What a template allows its dynamic clients. */
export interface TemplateAllowance {
  readonly templateId: string;
  readonly clientName: string | undefined;
  readonly scopes: readonly string[];
  readonly grantTypes: readonly string[];
  readonly redirectUris: readonly string[];
  /** Dynamic clients may get a generated secret. */
  readonly secret: boolean;
  /** Dynamic clients may register their own keys (private_key_jwt). */
  readonly deviceKeys: boolean;
  /** The method of a registration that names none (unless it sends jwks). */
  readonly defaultMethod: RegisteredMetadata["token_endpoint_auth_method"];
  readonly dpopBound: boolean;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_KEYS = 5;

type Checked = Result<RegisteredMetadata, MetadataFailure>;

const invalid = (field: string, problem: string): Checked => fail("invalid_client_metadata", { field, problem });

function stringArray(value: unknown, max: number): string[] | null {
  if (
    !Array.isArray(value) ||
    value.length > max ||
    !value.every((item) => typeof item === "string" && item.length > 0 && item.length <= 2000)
  )
    return null;
  return value as string[];
}

/** Check a registration (or an RFC 7592 update) against its template; returns the metadata to store. */
export async function checkRegistrationMetadata(
  input: Readonly<Record<string, unknown>>,
  template: TemplateAllowance,
): Promise<Checked> {
  if (input.software_id !== template.templateId) return invalid("software_id", "must name the template");

  let clientName = template.clientName;
  if (input.client_name !== undefined) {
    if (typeof input.client_name !== "string" || input.client_name.length === 0 || input.client_name.length > 200)
      return invalid("client_name", "must be a string of 1 to 200 characters");
    clientName = input.client_name;
  }

  let softwareVersion: string | undefined;
  if (input.software_version !== undefined) {
    if (typeof input.software_version !== "string" || input.software_version.length > 100)
      return invalid("software_version", "must be a string of at most 100 characters");
    softwareVersion = input.software_version;
  }

  let scopes = [...template.scopes];
  if (input.scope !== undefined) {
    if (typeof input.scope !== "string") return invalid("scope", "must be a space-separated string");
    const requested = input.scope.split(" ");
    if (input.scope === "" || !requested.every((token) => SCOPE_TOKEN.test(token)))
      return invalid("scope", "malformed scope");
    const refused = requested.filter((token) => !template.scopes.includes(token));
    if (refused.length) return invalid("scope", `not allowed by the template: ${refused.join(" ").slice(0, 200)}`);
    scopes = [...new Set(requested)];
  }

  let grantTypes = [...template.grantTypes];
  if (input.grant_types !== undefined) {
    const requested = stringArray(input.grant_types, 10);
    if (!requested || requested.length === 0) return invalid("grant_types", "must be a non-empty array of strings");
    const refused = requested.filter((grant) => !template.grantTypes.includes(grant));
    if (refused.length)
      return invalid("grant_types", `not allowed by the template: ${refused.join(" ").slice(0, 200)}`);
    grantTypes = [...new Set(requested)];
  }

  const codeFlow = grantTypes.includes("authorization_code");
  let responseTypes = codeFlow ? ["code"] : [];
  if (input.response_types !== undefined) {
    const requested = stringArray(input.response_types, 5);
    if (!requested) return invalid("response_types", "must be an array of strings");
    if (requested.some((type) => type !== "code")) return invalid("response_types", 'only "code" is supported');
    if (requested.length > 0 && !codeFlow)
      return invalid("response_types", '"code" needs the authorization_code grant type (RFC 7591 §2.1)');
    responseTypes = [...new Set(requested)];
  }

  let redirectUris = [...template.redirectUris];
  if (input.redirect_uris !== undefined) {
    const requested = stringArray(input.redirect_uris, 20);
    if (!requested) return invalid("redirect_uris", "must be an array of strings");
    const refused = requested.filter((uri) => !template.redirectUris.includes(uri));
    if (refused.length)
      return fail("invalid_redirect_uri", {
        field: "redirect_uris",
        problem: `not allowed by the template: ${refused.join(" ").slice(0, 300)}`,
      });
    if (requested.length > 0) redirectUris = [...new Set(requested)];
  }
  if (codeFlow && redirectUris.length === 0)
    return invalid(
      "redirect_uris",
      "the authorization_code grant type needs a redirect URI, and the template has none",
    );

  if (input.jwks_uri !== undefined) return invalid("jwks_uri", "not supported; register the public keys as jwks");

  let jwks: RegisteredMetadata["jwks"];
  if (input.jwks !== undefined) {
    const keys = (input.jwks as { keys?: unknown } | null)?.keys;
    if (
      typeof input.jwks !== "object" ||
      input.jwks === null ||
      !Array.isArray(keys) ||
      keys.length === 0 ||
      keys.length > MAX_KEYS
    ) {
      return invalid("jwks", `must be a JWK set with 1 to ${MAX_KEYS} keys`);
    }
    for (const [i, key] of keys.entries()) {
      const problem = await publicKeyProblem(key);
      if (problem) return invalid(`jwks.keys[${i}]`, problem);
    }
    jwks = { keys: keys.map(publicMembers) };
  }

  let method: RegisteredMetadata["token_endpoint_auth_method"];
  if (input.token_endpoint_auth_method !== undefined) {
    if (
      typeof input.token_endpoint_auth_method !== "string" ||
      !(DYNAMIC_CLIENT_AUTH_METHODS as readonly string[]).includes(input.token_endpoint_auth_method)
    ) {
      return invalid("token_endpoint_auth_method", `must be one of ${DYNAMIC_CLIENT_AUTH_METHODS.join(", ")}`);
    }
    method = input.token_endpoint_auth_method as RegisteredMetadata["token_endpoint_auth_method"];
  } else {
    method = jwks ? "private_key_jwt" : template.defaultMethod;
  }
  if (method === "private_key_jwt") {
    if (!template.deviceKeys)
      return invalid("token_endpoint_auth_method", "the template does not accept device keys (private_key_jwt)");
    if (!jwks) return invalid("jwks", "private_key_jwt needs the client's public keys (jwks)");
  } else {
    if (!template.secret)
      return invalid(
        "token_endpoint_auth_method",
        "the template does not hand out client secrets; register jwks and use private_key_jwt",
      );
    if (jwks) return invalid("jwks", `not used with ${method}`);
  }

  let signingAlg: string | undefined;
  if (input.token_endpoint_auth_signing_alg !== undefined) {
    if (
      typeof input.token_endpoint_auth_signing_alg !== "string" ||
      !(ASYMMETRIC_ALGS as readonly string[]).includes(input.token_endpoint_auth_signing_alg)
    ) {
      return invalid("token_endpoint_auth_signing_alg", `must be one of ${ASYMMETRIC_ALGS.join(", ")}`);
    }
    if (method !== "private_key_jwt")
      return invalid("token_endpoint_auth_signing_alg", "only used with private_key_jwt");
    signingAlg = input.token_endpoint_auth_signing_alg;
  }

  let dpopBound = template.dpopBound;
  if (input.dpop_bound_access_tokens !== undefined) {
    if (typeof input.dpop_bound_access_tokens !== "boolean")
      return invalid("dpop_bound_access_tokens", "must be a boolean");
    if (template.dpopBound && !input.dpop_bound_access_tokens)
      return invalid("dpop_bound_access_tokens", "the template requires DPoP-bound access tokens");
    dpopBound = input.dpop_bound_access_tokens;
  }

  return ok({
    ...(clientName !== undefined ? { client_name: clientName } : {}),
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    response_types: responseTypes,
    scope: scopes.join(" "),
    token_endpoint_auth_method: method,
    ...(signingAlg ? { token_endpoint_auth_signing_alg: signingAlg } : {}),
    ...(jwks ? { jwks } : {}),
    software_id: template.templateId,
    ...(softwareVersion !== undefined ? { software_version: softwareVersion } : {}),
    ...(dpopBound ? { dpop_bound_access_tokens: true } : {}),
  });
}

const JWK_MEMBERS = ["kty", "crv", "x", "y", "n", "e", "kid", "alg", "use", "key_ops", "x5c", "x5t", "x5t#S256"];

/** The JWK members worth keeping (after `publicKeyProblem` passed): strings and string arrays only. */
function publicMembers(key: Record<string, unknown>): RegisteredJwk {
  const out: Record<string, string | readonly string[]> = {};
  for (const member of JWK_MEMBERS) {
    const value = key[member];
    if (typeof value === "string" || (Array.isArray(value) && value.every((item) => typeof item === "string")))
      out[member] = value as string | string[];
  }
  return out;
}

/** Why `key` is not a usable public signing key, or null. */
async function publicKeyProblem(key: unknown): Promise<string | null> {
  if (typeof key !== "object" || key === null || Array.isArray(key)) return "must be a JWK object";
  const jwk = key as Record<string, unknown>;
  if (hasPrivateJwkMember(jwk)) return "private key material; register only the public key";
  if (jwk.kty !== "EC" && jwk.kty !== "RSA" && jwk.kty !== "OKP") return "kty must be EC, RSA or OKP";
  if (jwk.use !== undefined && jwk.use !== "sig") return "use must be sig";
  if (jwk.alg !== undefined && !(ASYMMETRIC_ALGS as readonly string[]).includes(jwk.alg as string))
    return `alg must be one of ${ASYMMETRIC_ALGS.join(", ")}`;
  if (jwk.kty === "RSA" && typeof jwk.n === "string" && jwk.n.length < 342)
    return "RSA keys must have at least 2048 bits";
  const alg =
    typeof jwk.alg === "string"
      ? jwk.alg
      : jwk.kty === "EC"
        ? ({ "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" } as Record<string, string>)[jwk.crv as string]
        : jwk.kty === "OKP"
          ? "EdDSA"
          : "RS256";
  if (!alg) return "unsupported curve";
  let imported: CryptoKey | Uint8Array;
  try {
    imported = await importJWK(jwk, alg);
  } catch {
    return "not a valid public key";
  }
  // The size of the imported key, not the length of `n`, which may be padded with leading zero octets.
  const modulusLength = (imported as { algorithm?: { modulusLength?: number } }).algorithm?.modulusLength ?? 0;
  if (jwk.kty === "RSA" && modulusLength < 2048) {
    return "RSA keys must have at least 2048 bits";
  }
  return null;
}
