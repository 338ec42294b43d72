/**
 * Protocol constants: names and value lists that the specifications, Curity's HAAPI and the Nevis SDK
 * fix, and that the configuration schema, the verifiers and the routes share. Values, and predicates
 * over them; no other logic.
 */

/**
 * Client authentication methods at the token endpoint (RFC 7591 §2, RFC 7523, RFC 8705), and the two
 * that take no secret: `none`, a public client (RFC 7591 §2: PKCE for its codes, a CAT for a HAAPI
 * token), and `attest_jwt_client_auth`, a client whose only credential is its CAT (the name the IETF
 * attestation-based client authentication draft registers).
 */
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  "client_secret_basic",
  "client_secret_post",
  "private_key_jwt",
  "tls_client_auth",
  "self_signed_tls_client_auth",
  "none",
  "attest_jwt_client_auth",
] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** Client authentication methods a dynamic client may register with. */
export const DYNAMIC_CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"] as const;

/** Grant types a client may be configured with (all served by the token endpoint). */
export const GRANT_TYPES = ["client_credentials", "authorization_code", "refresh_token"] as const;

/** Asymmetric JWS algorithms this server can verify (RFC 7518 §3.1, RFC 8037). `none` and HS* never are. */
export const ASYMMETRIC_ALGS = [
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
  "PS256",
  "PS384",
  "PS512",
  "RS256",
  "RS384",
  "RS512",
] as const;
export type AsymmetricAlg = (typeof ASYMMETRIC_ALGS)[number];

/** Client metadata that names the certificate a tls_client_auth client presents: exactly one is set (RFC 8705 §2.1.2). */
export const TLS_CLIENT_AUTH_FIELDS = [
  "tls_client_auth_subject_dn",
  "tls_client_auth_san_dns",
  "tls_client_auth_san_uri",
  "tls_client_auth_san_ip",
  "tls_client_auth_san_email",
] as const;

/**
 * JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2 and §6.4.1; RFC 8037 §2): a
 * public key that carries one of them is refused.
 */
export const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/** Whether `jwk` carries any private key member. */
export const hasPrivateJwkMember = (jwk: object): boolean => PRIVATE_JWK_MEMBERS.some((member) => member in jwk);

/**
 * The longest `jti` (RFC 7519 §4.1.7) this server accepts in a JWT it must remember for single use
 * (client assertions, DPoP proofs, attestation PoPs): its own bound, which keeps replay records small.
 */
export const MAX_JTI_LENGTH = 256;

/** Whether `value` is a `jti` this server will record: a non-empty string of at most MAX_JTI_LENGTH. */
export const isRecordableJti = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= MAX_JTI_LENGTH;

/**
 * Client assurance levels, the `cal` claim of HAAPI tokens (Curity's names): how the client proved
 * who it is.
 */
export const CLIENT_ASSURANCE_LEVELS = ["by-policy", "by-provisioned-key", "none"] as const;

export const isClientAssuranceLevel = (value: unknown): value is (typeof CLIENT_ASSURANCE_LEVELS)[number] =>
  (CLIENT_ASSURANCE_LEVELS as readonly unknown[]).includes(value);

/** The scope that marks a HAAPI access token request (Curity's name, kept for SDK compatibility). */
export const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";

/** The scope of an initial access token for dynamic client registration (Curity's name). */
export const DCR_SCOPE = "dcr";

/** Host names of the loopback interface (RFC 8252 §7.3, §8.3): where plain http is still acceptable. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** User names, everywhere (configuration, login forms, UAF contexts): case-insensitive. */
export const USERNAME_PATTERN = /^[A-Za-z0-9._@+-]{1,100}$/;
export const USERNAME_RULE = "must be 1 to 100 of A-Z a-z 0-9 . _ @ + -";

/** AAID syntax: 4 hex digits (vendor), "#", 4 hex digits (FIDO UAF Protocol v1.1 §3.1.4). */
export const AAID_PATTERN = /^[0-9A-F]{4}#[0-9A-F]{4}$/;

/** The Nevis SDK's AAIDs: Android F1D0#000x, iOS F1D0#100x (PIN, fingerprint/Touch ID, biometric/Face ID, device passcode, password). */
export const NEVIS_AAIDS = [
  "F1D0#0001",
  "F1D0#0002",
  "F1D0#0003",
  "F1D0#0004",
  "F1D0#0005",
  "F1D0#1001",
  "F1D0#1002",
  "F1D0#1003",
  "F1D0#1004",
  "F1D0#1005",
] as const;
