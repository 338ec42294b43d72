/**
 * Parse and validate the configuration once, then freeze it.
 *
 * Errors name the field by its path, e.g. `clients[2].token_endpoint_auth_method: unsupported value "foo"`,
 * and all of them are reported at once so an operator fixes a configuration in one pass.
 */
import type { z } from "zod";
import { X509Error, importTrustAnchors } from "../x509/chain";
import { checkFacetId } from "../uaf/facets";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import {
  androidPolicySchema,
  configSchema,
  DCR_SCOPE,
  DYNAMIC_CLIENT_AUTH_METHODS,
  HAAPI_SCOPE,
  iosPolicySchema,
  webPolicySchema,
  type AndroidPolicy,
  type AuthenticatorConfig,
  type ClientConfig,
  type SeededUser,
  type IosPolicy,
  type ParsedConfig,
  type WebPolicy,
} from "./schema";
import developmentConfig from "./development.json" with { type: "json" };

/** The attestation policy each configured platform of a client resolves to (named, or the strict defaults). */
export interface ResolvedAttestationPolicies {
  readonly android?: AndroidPolicy;
  readonly ios?: IosPolicy;
  readonly web?: WebPolicy;
}

/** What a dynamically registered client carries besides its OAuth settings (src/registration). */
export interface DynamicClientInfo {
  readonly templateId: string;
  /** The main client whose credential authorized the registration. */
  readonly mainClientId: string;
  /** Client assurance level of every token the client gets (DESIGN.md "Tokens"). */
  readonly cal: ClientAssuranceLevel;
  /** Epoch seconds of its first successful authentication, or null while unused. */
  readonly usedAt: number | null;
  /** 0: the secret never expires. */
  readonly secretExpiresAt: number;
}

export interface Client extends ClientConfig {
  /** `scope` split into tokens. */
  readonly scopes: ReadonlySet<string>;
  readonly attestationPolicies: ResolvedAttestationPolicies;
  /** Present for dynamically registered clients (never for configured ones). */
  readonly dynamic?: DynamicClientInfo;
}

export interface Config extends Omit<ParsedConfig, "clients"> {
  readonly clients: readonly Client[];
  readonly clientsById: ReadonlyMap<string, Client>;
  /** Registration templates by client_id (their `software_id`). */
  readonly templatesById: ReadonlyMap<string, Client>;
  readonly endpoints: Readonly<{
    token: string;
    jwks: string;
    cat: string;
    registration: string;
    authorize: string;
    userinfo: string;
    revoke: string;
    introspect: string;
  }>;
  readonly authenticatorsById: ReadonlyMap<string, AuthenticatorConfig>;
  /** Seeded users by lower-cased username. */
  readonly usersByName: ReadonlyMap<string, SeededUser>;
  /** Longest lifetime of any token this configuration issues, seconds (how long a retired key stays published). */
  readonly maxTokenTtl: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
}

type Path = readonly PropertyKey[];

export function formatPath(path: Path): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "(root)";
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = (extra: PropertyKey[] = []) => formatPath([...issue.path, ...extra]);
  switch (issue.code) {
    case "invalid_value":
      return [
        `${at()}: unsupported value ${JSON.stringify(issue.input)} (expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")})`,
      ];
    case "invalid_type":
      return [
        issue.input === undefined
          ? `${at()}: required`
          : `${at()}: expected ${issue.expected}, got ${typeOf(issue.input)}`,
      ];
    case "unrecognized_keys":
      return issue.keys.map((key) => `${at([key])}: unknown field`);
    case "invalid_union":
      return [`${at()}: ${issue.message}`];
    default:
      return [`${at()}: ${issue.message}`];
  }
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** The strictest settings: what a client gets when its attestation names no policy. */
export const DEFAULT_POLICIES = {
  android: androidPolicySchema.parse({}),
  ios: iosPolicySchema.parse({}),
  web: webPolicySchema.parse({}),
} as const;

/** Subject of the simulator's local test CA (tools/simulator, dev/test-ca): never trusted in production. */
const TEST_CA_MARKER = "haapi-edge development test CA";

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Rules that span several fields. Each problem names the field it is about. */
function crossFieldProblems(config: ParsedConfig): string[] {
  const problems: string[] = [];
  const issuer = new URL(config.issuer);
  if (issuer.pathname !== "/" || issuer.search || issuer.hash || config.issuer.endsWith("/")) {
    problems.push(
      `issuer: must be an origin without path, query, fragment or trailing slash (got ${JSON.stringify(config.issuer)})`,
    );
  }
  if (issuer.protocol === "http:" && config.environment !== "development" && !LOOPBACK.has(issuer.hostname)) {
    problems.push(`issuer: must use https outside development (got ${JSON.stringify(config.issuer)})`);
  }

  const seen = new Map<string, number>();
  const byId = new Map(config.clients.map((client) => [client.client_id, client]));
  /** Main clients: named by some template's authenticate_client_by. */
  const mainClients = new Set(
    config.clients.flatMap((client) => client.dynamic_client_registration_template?.authenticate_client_by ?? []),
  );
  config.clients.forEach((client, i) => {
    const at = (field: string) => `clients[${i}].${field}`;
    const first = seen.get(client.client_id);
    if (first !== undefined)
      problems.push(`${at("client_id")}: duplicate value ${JSON.stringify(client.client_id)} (also clients[${first}])`);
    else seen.set(client.client_id, i);
    const scopes = client.scope.split(" ");

    const template = client.dynamic_client_registration_template;
    if (template) {
      problems.push(...templateProblems(client, at, byId));
      if (scopes.includes(HAAPI_SCOPE) && !client.capabilities.haapi)
        problems.push(`${at("capabilities.haapi")}: required because scope contains ${HAAPI_SCOPE}`);
      return;
    }
    if (client.registration_rate_limit && !mainClients.has(client.client_id)) {
      problems.push(
        `${at("registration_rate_limit")}: only used by main clients (named in a template's authenticate_client_by)`,
      );
    }
    if (scopes.includes(DCR_SCOPE)) {
      if (!mainClients.has(client.client_id))
        problems.push(
          `${at("scope")}: the ${DCR_SCOPE} scope is for main clients; no template names ${JSON.stringify(client.client_id)} in authenticate_client_by`,
        );
      if (!client.grant_types.includes("client_credentials"))
        problems.push(
          `${at("grant_types")}: client_credentials is needed to obtain an initial access token (scope ${DCR_SCOPE})`,
        );
    }

    const method = client.token_endpoint_auth_method;
    const usesSecret = method === "client_secret_basic" || method === "client_secret_post";
    if (client.client_secret !== undefined && client.client_secret_hash !== undefined) {
      problems.push(`${at("client_secret")}: give either client_secret or client_secret_hash, not both`);
    }
    if (usesSecret && client.client_secret === undefined && client.client_secret_hash === undefined) {
      problems.push(`${at("client_secret_hash")}: required for ${method}`);
    }
    if (client.client_secret !== undefined && config.environment !== "development") {
      problems.push(
        `${at("client_secret")}: plain-text secrets are only accepted when environment is "development"; use client_secret_hash (npm run hash-secret)`,
      );
    }
    if (!usesSecret && (client.client_secret !== undefined || client.client_secret_hash !== undefined)) {
      problems.push(`${at("client_secret")}: not used by ${method}; remove it`);
    }
    problems.push(...publicClientProblems(client, at));
    if (method === "private_key_jwt" || method === "self_signed_tls_client_auth") {
      if (!client.jwks) problems.push(`${at("jwks")}: required for ${method}`);
    }
    client.jwks?.keys.forEach((key, k) => {
      for (const member of PRIVATE_JWK_MEMBERS) {
        if (member in key)
          problems.push(`${at(`jwks.keys[${k}].${member}`)}: private key material; publish only the public key`);
      }
    });
    if (
      method === "self_signed_tls_client_auth" &&
      client.jwks &&
      !client.jwks.keys.some((key) => Array.isArray(key.x5c) && key.x5c.length > 0)
    ) {
      problems.push(`${at("jwks")}: self_signed_tls_client_auth needs at least one key with an x5c certificate`);
    }
    const tlsFields = (
      [
        "tls_client_auth_subject_dn",
        "tls_client_auth_san_dns",
        "tls_client_auth_san_uri",
        "tls_client_auth_san_ip",
        "tls_client_auth_san_email",
      ] as const
    ).filter((field) => client[field] !== undefined);
    if (method === "tls_client_auth" && tlsFields.length !== 1) {
      problems.push(
        `${at("tls_client_auth_subject_dn")}: tls_client_auth needs exactly one of tls_client_auth_subject_dn or tls_client_auth_san_* (RFC 8705 §2.1.2), got ${tlsFields.length}`,
      );
    }
    if (method !== "tls_client_auth" && tlsFields.length > 0) {
      problems.push(`${at(tlsFields[0]!)}: only used with tls_client_auth`);
    }
    if (client.token_endpoint_auth_signing_alg && method !== "private_key_jwt") {
      problems.push(`${at("token_endpoint_auth_signing_alg")}: only used with private_key_jwt`);
    }
    if (scopes.includes(HAAPI_SCOPE) && !client.capabilities.haapi) {
      problems.push(`${at("capabilities.haapi")}: required because scope contains ${HAAPI_SCOPE}`);
    }
    const attestation = client.attestation;
    if (attestation) {
      if (!client.capabilities.haapi || !scopes.includes(HAAPI_SCOPE)) {
        problems.push(
          `${at("attestation")}: an attesting client needs capabilities.haapi and ${HAAPI_SCOPE} in its scope`,
        );
      }
      if (!attestation.android && !attestation.ios && !attestation.web) {
        problems.push(`${at("attestation")}: configure at least one of android, ios or web`);
      }
      for (const platform of ["android", "ios", "web"] as const) {
        const name = attestation[platform]?.policy;
        if (name !== undefined && !(name in config.attestation_policies[platform])) {
          problems.push(
            `${at(`attestation.${platform}.policy`)}: no policy named ${JSON.stringify(name)} in attestation_policies.${platform}`,
          );
        }
      }
      if (attestation.disable_attestation_validation && config.environment !== "development") {
        problems.push(
          `${at("attestation.disable_attestation_validation")}: only allowed when environment is "development"`,
        );
      }
    }
  });

  config.dynamic_client_registration.software_statement_issuers.forEach((issuer, i) => {
    issuer.jwks.keys.forEach((key, k) => {
      for (const member of PRIVATE_JWK_MEMBERS) {
        if (member in key)
          problems.push(
            `dynamic_client_registration.software_statement_issuers[${i}].jwks.keys[${k}].${member}: private key material; publish only the public key`,
          );
      }
    });
  });

  problems.push(...loginProblems(config));
  problems.push(...uafProblems(config));

  for (const platform of ["android", "ios"] as const) {
    for (const [name, policy] of Object.entries(config.attestation_policies[platform])) {
      const at = (field: string) => `attestation_policies.${platform}.${name}.${field}`;
      policy.trust_anchors?.forEach((pem: string, i: number) => {
        try {
          const [anchor] = importTrustAnchors([pem]);
          if (anchor!.label.includes(TEST_CA_MARKER) && config.environment !== "development") {
            problems.push(
              `${at(`trust_anchors[${i}]`)}: the simulator's test CA is trusted only when environment is "development"`,
            );
          }
        } catch (error) {
          problems.push(
            `${at(`trust_anchors[${i}]`)}: not a readable certificate (${error instanceof X509Error ? error.message : "parse error"})`,
          );
        }
      });
    }
    for (const [name, policy] of Object.entries(config.attestation_policies.android)) {
      for (const field of ["do_not_validate_certificate_chain", "allow_software_root"] as const) {
        if (policy[field] && config.environment !== "development") {
          problems.push(
            `attestation_policies.android.${name}.${field}: only allowed when environment is "development"`,
          );
        }
      }
    }
  }
  return problems;
}

/**
 * Clients without a secret: `none` (public) and `attest_jwt_client_auth` (the CAT is the credential).
 * Whoever knows a public client's id can act as it, so it gets nothing a credential would guard: no
 * client_credentials without attestation, and no HAAPI token without a CAT.
 */
function publicClientProblems(client: ClientConfig, at: (field: string) => string): string[] {
  const method = client.token_endpoint_auth_method;
  if (method !== "none" && method !== "attest_jwt_client_auth") return [];
  const problems: string[] = [];
  if (method === "attest_jwt_client_auth" && !client.attestation) {
    problems.push(
      `${at("attestation")}: required for attest_jwt_client_auth (the CAT is the client's only credential)`,
    );
  }
  if (method === "none" && client.grant_types.includes("client_credentials") && !client.attestation) {
    problems.push(
      `${at("grant_types")}: a public client (none) gets client_credentials only as a HAAPI token through a CAT; configure attestation or remove client_credentials`,
    );
  }
  if (client.capabilities.haapi?.allow_without_attestation) {
    problems.push(
      `${at("capabilities.haapi.allow_without_attestation")}: with ${method} the client has no secret, so without attestation anyone could get its HAAPI tokens; remove it`,
    );
  }
  if (client.jwks !== undefined) problems.push(`${at("jwks")}: not used by ${method}; remove it`);
  if (client.tls_client_certificate_bound_access_tokens)
    problems.push(
      `${at("tls_client_certificate_bound_access_tokens")}: needs mTLS client authentication, not ${method}`,
    );
  return problems;
}

/** Authenticators, users and the clients that log users in. */
function loginProblems(config: ParsedConfig): string[] {
  const problems: string[] = [];
  const ids = new Map<string, number>();
  config.authenticators.forEach((authenticator, i) => {
    const first = ids.get(authenticator.id);
    if (first !== undefined)
      problems.push(
        `authenticators[${i}].id: duplicate value ${JSON.stringify(authenticator.id)} (also authenticators[${first}])`,
      );
    else ids.set(authenticator.id, i);
    if (authenticator.type === "approval-link" && config.environment !== "development") {
      problems.push(
        `authenticators[${i}].type: approval-link is a demonstration, only allowed when environment is "development"`,
      );
    }
  });
  const names = new Map<string, number>();
  config.users.forEach((user, i) => {
    const key = user.username.toLowerCase();
    const first = names.get(key);
    if (first !== undefined)
      problems.push(
        `users[${i}].username: duplicate value ${JSON.stringify(user.username)} (also users[${first}], case-insensitive)`,
      );
    else names.set(key, i);
    if ((user.password === undefined) === (user.password_hash === undefined))
      problems.push(`users[${i}].password_hash: give exactly one of password or password_hash`);
    if (user.password !== undefined && config.environment !== "development") {
      problems.push(
        `users[${i}].password: plain-text passwords are only accepted when environment is "development"; use password_hash`,
      );
    }
  });
  config.clients.forEach((client, i) => {
    client.authenticators?.forEach((id, k) => {
      if (!ids.has(id)) problems.push(`clients[${i}].authenticators[${k}]: no authenticator ${JSON.stringify(id)}`);
    });
    if (
      client.grant_types.includes("authorization_code") &&
      client.redirect_uris.length === 0 &&
      !client.dynamic_client_registration_template
    ) {
      problems.push(`clients[${i}].redirect_uris: required because grant_types contains authorization_code`);
    }
  });
  return problems;
}

function uafProblems(config: ParsedConfig): string[] {
  const problems: string[] = [];
  const uaf = config.uaf;
  config.authenticators.forEach((authenticator, i) => {
    if (authenticator.type.startsWith("uaf-") && !uaf.enabled)
      problems.push(`authenticators[${i}].type: ${authenticator.type} needs the UAF server (uaf.enabled is false)`);
  });
  if (uaf.api_access_key !== undefined && uaf.api_access_key_hash !== undefined)
    problems.push("uaf.api_access_key_hash: give at most one of api_access_key or api_access_key_hash");
  if (uaf.api_access_key !== undefined && config.environment !== "development") {
    problems.push(
      'uaf.api_access_key: plain-text keys are only accepted when environment is "development"; use api_access_key_hash (npm run hash-secret -- <key>)',
    );
  }
  if (uaf.authorization === "none" && config.environment !== "development") {
    problems.push(
      'uaf.authorization: "none" (no authorization of in-app registration) is only allowed when environment is "development"',
    );
  }
  uaf.facets.forEach((facet, i) => {
    const checked = checkFacetId(facet);
    if (!checked.ok) problems.push(`uaf.facets[${i}]: not a facet ID (${checked.reason})`);
  });
  uaf.attestation.metadata_roots.forEach((pem, i) => {
    try {
      importTrustAnchors([pem]);
    } catch (error) {
      problems.push(
        `uaf.attestation.metadata_roots[${i}]: not a readable certificate (${error instanceof X509Error ? error.message : "parse error"})`,
      );
    }
  });
  const seen = new Map<string, number>();
  uaf.aaids.forEach((aaid, i) => {
    const first = seen.get(aaid);
    if (first !== undefined)
      problems.push(`uaf.aaids[${i}]: duplicate value ${JSON.stringify(aaid)} (also uaf.aaids[${first}])`);
    else seen.set(aaid, i);
  });
  return problems;
}

/** A template is never used directly: no credential, no attestation; its main clients exist and have credentials. */
function templateProblems(
  client: ClientConfig,
  at: (field: string) => string,
  byId: ReadonlyMap<string, ClientConfig>,
): string[] {
  const problems: string[] = [];
  const template = client.dynamic_client_registration_template!;
  for (const field of [
    "client_secret",
    "client_secret_hash",
    "jwks",
    "attestation",
    "registration_rate_limit",
    "token_endpoint_auth_signing_alg",
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
  ] as const) {
    if (client[field] !== undefined)
      problems.push(`${at(field)}: a registration template is never used directly and takes no ${field}`);
  }
  if (client.scope.split(" ").includes(DCR_SCOPE))
    problems.push(`${at("scope")}: a template may not hand out the ${DCR_SCOPE} scope`);
  if (client.grant_types.includes("authorization_code") && client.redirect_uris.length === 0) {
    problems.push(
      `${at("redirect_uris")}: required because grant_types contains authorization_code (dynamic clients may only narrow the template's redirect URIs)`,
    );
  }
  if (!template.secret && !template.device_keys) {
    problems.push(
      `${at("dynamic_client_registration_template")}: enable secret or device_keys, or dynamic clients could not authenticate`,
    );
  }
  // The template's token_endpoint_auth_method is what a registration gets when it asks for none.
  const method = client.token_endpoint_auth_method;
  if (!(DYNAMIC_CLIENT_AUTH_METHODS as readonly string[]).includes(method)) {
    problems.push(
      `${at("token_endpoint_auth_method")}: a template's default method must be one of ${DYNAMIC_CLIENT_AUTH_METHODS.join(", ")}`,
    );
  } else if (method === "private_key_jwt" ? !template.device_keys : !template.secret) {
    problems.push(
      `${at("token_endpoint_auth_method")}: ${method} is disabled by dynamic_client_registration_template.${method === "private_key_jwt" ? "device_keys" : "secret"}`,
    );
  }
  template.authenticate_client_by.forEach((id, k) => {
    const main = byId.get(id);
    const field = at(`dynamic_client_registration_template.authenticate_client_by[${k}]`);
    if (!main) problems.push(`${field}: no client ${JSON.stringify(id)}`);
    else if (main.dynamic_client_registration_template)
      problems.push(`${field}: ${JSON.stringify(id)} is itself a template`);
  });
  return problems;
}

function resolvePolicies(client: ClientConfig, config: ParsedConfig): ResolvedAttestationPolicies {
  const attestation = client.attestation;
  if (!attestation) return {};
  const named = <P>(policies: Record<string, P>, name: string | undefined, fallback: P): P =>
    name === undefined ? fallback : policies[name]!;
  const policies = config.attestation_policies;
  return {
    ...(attestation.android
      ? { android: named(policies.android, attestation.android.policy, DEFAULT_POLICIES.android) }
      : {}),
    ...(attestation.ios ? { ios: named(policies.ios, attestation.ios.policy, DEFAULT_POLICIES.ios) } : {}),
    ...(attestation.web ? { web: named(policies.web, attestation.web.policy, DEFAULT_POLICIES.web) } : {}),
  };
}

/** Validate a configuration document (a JSON string or an object). Throws ConfigError listing every problem. */
export function parseConfig(source: unknown): Config {
  let document = source;
  if (typeof source === "string") {
    try {
      document = JSON.parse(source);
    } catch (error) {
      throw new ConfigError([`CONFIG: not valid JSON (${(error as Error).message})`]);
    }
  }
  const result = configSchema.safeParse(document, { reportInput: true });
  if (!result.success) throw new ConfigError(result.error.issues.flatMap(describeIssue));
  const problems = crossFieldProblems(result.data);
  if (problems.length) throw new ConfigError(problems);

  const clients: Client[] = result.data.clients.map((client) =>
    deepFreeze({
      ...client,
      scopes: new Set(client.scope ? client.scope.split(" ") : []),
      attestationPolicies: resolvePolicies(client, result.data),
    }),
  );
  const policyTtls = [
    ...Object.values(result.data.attestation_policies.android),
    ...Object.values(result.data.attestation_policies.ios),
    ...Object.values(result.data.attestation_policies.web),
    ...Object.values(DEFAULT_POLICIES),
  ].map((policy) => policy.haapi_access_token_ttl);
  return deepFreeze({
    ...result.data,
    clients,
    clientsById: new Map(clients.map((client) => [client.client_id, client])),
    authenticatorsById: new Map(result.data.authenticators.map((authenticator) => [authenticator.id, authenticator])),
    usersByName: new Map(result.data.users.map((user) => [user.username.toLowerCase(), user])),
    templatesById: new Map(
      clients
        .filter((client) => client.dynamic_client_registration_template)
        .map((client) => [client.client_id, client]),
    ),
    maxTokenTtl: Math.max(
      result.data.access_token_ttl,
      result.data.dynamic_client_registration.initial_access_token_ttl,
      result.data.login.id_token_ttl,
      ...clients.map((client) =>
        Math.max(client.access_token_ttl ?? 0, client.capabilities.haapi?.access_token_ttl ?? 0),
      ),
      ...policyTtls,
    ),
    endpoints: {
      token: `${result.data.issuer}/oauth/v2/oauth-token`,
      jwks: `${result.data.issuer}/oauth/v2/oauth-jwks`,
      cat: `${result.data.issuer}/oauth/v2/oauth-token/cat`,
      registration: `${result.data.issuer}/token-service/oauth-registration`,
      authorize: `${result.data.issuer}/oauth/v2/oauth-authorize`,
      userinfo: `${result.data.issuer}/oauth/v2/oauth-userinfo`,
      revoke: `${result.data.issuer}/oauth/v2/oauth-revoke`,
      introspect: `${result.data.issuer}/oauth/v2/oauth-introspect`,
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (!(value instanceof Map) && !(value instanceof Set)) {
      for (const inner of Object.values(value)) deepFreeze(inner);
    }
  }
  return value;
}

/** The bundled development configuration, used when no CONFIG binding is set. */
export const DEVELOPMENT_CONFIG: unknown = developmentConfig;

const cache = new Map<unknown, Config>();

/**
 * The configuration for a binding value, parsed once per isolate.
 * `undefined` (no CONFIG binding) selects the bundled development configuration.
 */
export function configFor(binding: unknown): Config {
  const key = binding ?? DEVELOPMENT_CONFIG;
  let config = cache.get(key);
  if (!config) {
    config = parseConfig(key);
    if (cache.size > 16) cache.clear();
    cache.set(key, config);
  }
  return config;
}
