/**
 * Parse and validate the configuration once, then freeze it.
 *
 * Errors name the field by its path, e.g. `clients[2].token_endpoint_auth_method: unsupported value "foo"`,
 * and all of them are reported at once so an operator fixes a configuration in one pass.
 */
import type { z } from "zod";
import { LOOPBACK_HOSTS } from "../protocol";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import { attestationPolicyProblems } from "./rules/attestation-policies";
import { clientProblems } from "./rules/clients";
import { issuerProblems } from "./rules/issuer";
import { loginProblems } from "./rules/login";
import { softwareStatementIssuerProblems } from "./rules/templates";
import { uafProblems } from "./rules/uaf";
import {
  androidPolicySchema,
  configSchema,
  iosPolicySchema,
  webPolicySchema,
  type AndroidPolicy,
  type AuthenticatorConfig,
  type ClientConfig,
  type IosPolicy,
  type ParsedConfig,
  type SeededUser,
  type WebPolicy,
} from "./schema";
import developmentConfig from "./development.json" with { type: "json" };

/** The attestation policy each configured platform of a client resolves to (named, or the strict defaults). */
export interface ResolvedAttestationPolicies {
  readonly android?: AndroidPolicy;
  readonly ios?: IosPolicy;
  readonly web?: WebPolicy;
}

/** What a dynamically registered client carries besides its OAuth settings. */
export interface DynamicClientInfo {
  readonly templateId: string;
  /** The main client whose credential authorized the registration. */
  readonly mainClientId: string;
  /** Client assurance level (`cal`) of every token the client gets. */
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

/**
 * Rules that span several fields, one file per area (./rules/). Each problem names the field it is
 * about. Order: issuer, clients (all of one client's problems together), registration, login, UAF,
 * attestation policies.
 */
function crossFieldProblems(config: ParsedConfig): string[] {
  return [
    ...issuerProblems(config),
    ...clientProblems(config),
    ...softwareStatementIssuerProblems(config),
    ...loginProblems(config),
    ...uafProblems(config),
    ...attestationPolicyProblems(config),
  ];
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
/** Configurations parsed from the bundled development document (its secrets and keys are public). */
const bundledDevelopment = new WeakSet<Config>();

/**
 * Whether `config` is the bundled development configuration, which anyone can read in this repository:
 * it is served on loopback addresses only (src/app.ts, src/deno.ts), so a server deployed without a
 * CONFIG does not hand out tokens under publicly known secrets.
 */
export function isBundledDevelopment(config: Config): boolean {
  return bundledDevelopment.has(config);
}

/** A host name (as a URL gives it, or as `HOST` names it) of the loopback interface. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || LOOPBACK_HOSTS.has(`[${hostname}]`);
}

/**
 * The configuration for a binding value, parsed once per isolate.
 * `undefined` (no CONFIG binding) selects the bundled development configuration.
 */
export function configFor(binding: unknown): Config {
  const key = binding ?? DEVELOPMENT_CONFIG;
  let config = cache.get(key);
  if (!config) {
    config = parseConfig(key);
    if (key === DEVELOPMENT_CONFIG) bundledDevelopment.add(config);
    if (cache.size > 16) cache.clear();
    cache.set(key, config);
  }
  return config;
}
