/**
 * The configuration schema: the one home of every option, its default and its documentation.
 *
 * Wire names follow the RFCs (RFC 7591 client metadata, RFC 8705, RFC 9449). Every option carries
 * a description; `npm run docs:config` renders docs/configuration.md from this file.
 *
 * Why one long file: it is one declarative list, the document's shape from top to bottom with each
 * field's type, bounds, default and description, and nothing else. Rules that span several fields
 * live in ./rules/, protocol constants in src/protocol.ts.
 */
import { z } from "zod";
import {
  AAID_PATTERN,
  ASYMMETRIC_ALGS,
  GRANT_TYPES,
  HAAPI_SCOPE,
  NEVIS_AAIDS,
  TOKEN_ENDPOINT_AUTH_METHODS,
  USERNAME_PATTERN,
  USERNAME_RULE,
} from "../protocol";
import { redirectUriProblem } from "./rules/redirect-uri";

const seconds = (min: number, max: number) => z.number().int().min(min).max(max);

const jwk = z.object({ kty: z.string() }).catchall(z.unknown()).describe("A JSON Web Key (RFC 7517).");

const rateLimit = z
  .strictObject({
    requests: z.number().int().min(1).max(1_000_000).describe("How many requests a window allows."),
    window: seconds(1, 86_400).describe("The window, seconds. The allowance refills evenly over it (token bucket)."),
  })
  .describe("A rate limit: `requests` per `window` seconds.");

/** An absolute URI without fragment (RFC 6749 §3.1.2): https, http on loopback, or a private-use scheme (RFC 8252 §7.1). */
const redirectUri = z
  .string()
  .max(2000)
  .refine((value) => redirectUriProblem(value) === null, {
    message:
      "must be an absolute URI without a fragment (https, http on a loopback address, or an app scheme such as app://haapi)",
  });

const registrationTemplate = z
  .strictObject({
    secret: z
      .boolean()
      .default(true)
      .describe(
        "Dynamic clients may get a generated client secret (client_secret_basic or client_secret_post). Curity: <secret/>.",
      ),
    device_keys: z
      .boolean()
      .default(true)
      .describe(
        "A device may instead register its own public key (`jwks`) and authenticate with private_key_jwt, with no shared secret.",
      ),
    authenticate_client_by: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        "client_ids of the main clients whose credential authorizes a registration from this template (Curity: authenticate-client-by).",
      ),
  })
  .describe(
    "This client is a template for dynamic client registration (RFC 7591 `software_id`): it is never used directly; every dynamic client registered from it copies its OAuth settings (scope, grant_types, redirect_uris, capabilities, TTLs).",
  );

const haapiCapability = z
  .strictObject({
    allow_without_attestation: z
      .boolean()
      .default(false)
      .describe(
        "Issue HAAPI access tokens to this client on its own credential, without attestation (Curity: allow-without-attestation).",
      ),
    use_legacy_dpop: z
      .boolean()
      .default(false)
      .describe(
        "When false (the default), HAAPI token requests must carry a server-issued DPoP nonce (Curity: use-legacy-dpop).",
      ),
    access_token_ttl: seconds(60, 86_400)
      .default(600)
      .describe(
        "Lifetime of HAAPI access tokens in seconds (Curity: haapi-access-token-ttl). SDKs refresh below 300 s, so keep it well above.",
      ),
    issue_token_bound_authorization_code: z
      .boolean()
      .default(false)
      .describe(
        "Bind authorization codes to the HAAPI access token's DPoP key: the code can only be redeemed with a proof by that key, and then without client authentication (Curity: issue-token-bound-authorization-code).",
      ),
  })
  .describe(`HAAPI capability: the client may obtain tokens with scope ${HAAPI_SCOPE}.`);

/** base64 (standard alphabet, padded) of a SHA-256 digest: Android signing-certificate digests (Curity: signature-digest). */
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;
const PEM_CERTIFICATE = /^\s*-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\s*$/;
const trustAnchors = z
  .array(z.string().regex(PEM_CERTIFICATE, "must be one PEM certificate (-----BEGIN CERTIFICATE-----)"))
  .min(1);
const policyTtl = seconds(60, 86_400)
  .default(600)
  .describe(
    "Lifetime of the HAAPI access tokens issued under this policy, seconds (Curity: haapi-access-token-ttl). SDKs refresh below 300 s, so keep it well above.",
  );

export const ANDROID_SECURITY_LEVELS = ["software", "trusted-environment", "strongbox"] as const;

export const androidPolicySchema = z
  .strictObject({
    verify_boot_state: z
      .boolean()
      .default(true)
      .describe("Require a verified boot state (VERIFIED) and a locked bootloader (rootOfTrust)."),
    minimum_security_level: z
      .enum(ANDROID_SECURITY_LEVELS)
      .default("trusted-environment")
      .describe(
        "Lowest accepted attestation security level (attestationSecurityLevel, which must also equal the KeyMint level).",
      ),
    trust_anchors: trustAnchors
      .optional()
      .describe(
        "PEM certificates that replace the bundled Google roots (Hardware Attestation Roots 1-4 and Key Attestation CA1). Matched by public key.",
      ),
    do_not_validate_certificate_chain: z
      .boolean()
      .default(false)
      .describe(
        "Non-production: skip the chain's trust (the leaf's KeyDescription is still parsed and checked). Refused when environment is production.",
      ),
    allow_software_root: z
      .boolean()
      .default(false)
      .describe(
        "Accept chains that end at an Android Keystore software attestation root (emulators). Refused when environment is production.",
      ),
    revocation: z
      .enum(["fail-closed", "fail-open", "off"])
      .default("fail-closed")
      .describe(
        "Certificate revocation status list (see `attestation.revocation_list_url`): fail-closed refuses attestations when the list cannot be read, fail-open accepts them, off skips the check.",
      ),
    haapi_access_token_ttl: policyTtl,
  })
  .describe("An Android attestation policy (Curity: android-policy).");

export const iosPolicySchema = z
  .strictObject({
    mode: z
      .enum(["production", "non-production"])
      .default("production")
      .describe(
        'production accepts only the App Attest production environment (aaguid "appattest"); non-production only the development environment ("appattestdevelop").',
      ),
    trust_anchors: trustAnchors
      .optional()
      .describe("PEM certificates that replace the bundled Apple App Attestation Root CA."),
    haapi_access_token_ttl: policyTtl,
  })
  .describe("An iOS App Attest policy (Curity: ios-policy).");

export const webPolicySchema = z
  .strictObject({
    disable_origin_verification: z
      .boolean()
      .default(false)
      .describe(
        "Do not check the app's origin (attested by the web driver's iframe, or the Origin of a direct request) against the client's allowed_origins, nor that an iframe request came from the server's own page (Curity: disable-origin-verification).",
      ),
    haapi_access_token_ttl: policyTtl,
  })
  .describe("A web policy (Curity: web-policy).");

const policyName = z.string().min(1).max(100);

const clientAttestation = z
  .strictObject({
    android: z
      .strictObject({
        package_names: z
          .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$/, "must be an Android package name"))
          .min(1)
          .describe("Accepted application package names (attestationApplicationId)."),
        signature_digests: z
          .array(
            z
              .string()
              .regex(SHA256_BASE64, "must be the base64 SHA-256 digest of the signing certificate (44 characters)"),
          )
          .min(1)
          .describe(
            "base64 SHA-256 digests of the app's signing certificates (`./gradlew signingReport` SHA-256, hex turned into base64). Every digest the device reports must be in this list (an app signed with several certificates reports several).",
          ),
        policy: policyName
          .optional()
          .describe("Name of a policy in attestation_policies.android. Absent: the strictest defaults."),
      })
      .optional()
      .describe("Android Key Attestation for this client."),
    ios: z
      .strictObject({
        app_id: z
          .string()
          .regex(/^[A-Z0-9]{10}\.[A-Za-z0-9.-]+$/, "must be <team ID>.<bundle ID>")
          .describe("App ID: the 10-character team ID, a dot, and the bundle ID."),
        policy: policyName
          .optional()
          .describe("Name of a policy in attestation_policies.ios. Absent: the strictest defaults."),
      })
      .optional()
      .describe("iOS App Attest for this client."),
    web: z
      .strictObject({
        allowed_origins: z
          .array(z.url({ protocol: /^https?$/ }))
          .min(1)
          .describe(
            "Origins the web app runs on (scheme://host[:port]). Only these may frame the web driver's CAT iframe page (CSP frame-ancestors) and be attested by it, and they get CORS answers at the token, userinfo and revocation endpoints.",
          ),
        policy: policyName
          .optional()
          .describe("Name of a policy in attestation_policies.web. Absent: the strictest defaults."),
      })
      .optional()
      .describe("Web origin check for this client."),
    disable_attestation_validation: z
      .boolean()
      .default(false)
      .describe(
        "Non-production: the attestation is parsed but not validated, and tokens carry `cal: none`. Refused when environment is production.",
      ),
  })
  .describe("Client attestation (HAAPI): how this client's app proves it is genuine to get a CAT.");

export const clientSchema = z
  .strictObject({
    client_id: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
      .describe("The client identifier (RFC 7591)."),
    client_name: z.string().optional().describe("Human-readable name (RFC 7591)."),
    client_secret: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Plain-text secret. Accepted only when `environment` is "development"; use `client_secret_hash` otherwise.',
      ),
    client_secret_hash: z
      .string()
      .regex(
        /^(sha256\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{43}|pbkdf2-sha256\$[1-9][0-9]*\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{43})$/,
        'must be "sha256$<salt>$<digest>" or "pbkdf2-sha256$<iterations>$<salt>$<digest>" as printed by `npm run hash-secret`',
      )
      .optional()
      .describe("Salted hash of the secret, as printed by `npm run hash-secret -- <secret>`."),
    token_endpoint_auth_method: z
      .enum(TOKEN_ENDPOINT_AUTH_METHODS)
      .default("client_secret_basic")
      .describe(
        "How the client authenticates at the token endpoint (RFC 7591). Default client_secret_basic. `none`: a public client (an app that cannot keep a secret): its codes are redeemed with client_id and PKCE (and DPoP when token-bound), and it gets a HAAPI token only with a CAT (`attestation`). `attest_jwt_client_auth`: the CAT is its only credential (Curity's client_assertion_type, or the OAuth-Client-Attestation headers); needs `attestation`. Neither takes a secret.",
      ),
    token_endpoint_auth_signing_alg: z
      .enum(ASYMMETRIC_ALGS)
      .optional()
      .describe("For private_key_jwt: the only JWS alg accepted for this client's assertions (RFC 7591)."),
    jwks: z
      .strictObject({ keys: z.array(jwk).min(1) })
      .optional()
      .describe(
        "The client's public keys (RFC 7591): assertion keys for private_key_jwt, certificates (x5c) for self_signed_tls_client_auth.",
      ),
    tls_client_auth_subject_dn: z
      .string()
      .min(1)
      .optional()
      .describe("tls_client_auth: expected subject DN, RFC 4514 string (RFC 8705 §2.1.2)."),
    tls_client_auth_san_dns: z.string().min(1).optional().describe("tls_client_auth: expected dNSName SAN (RFC 8705)."),
    tls_client_auth_san_uri: z
      .string()
      .min(1)
      .optional()
      .describe("tls_client_auth: expected uniformResourceIdentifier SAN (RFC 8705)."),
    tls_client_auth_san_ip: z
      .string()
      .min(1)
      .optional()
      .describe("tls_client_auth: expected iPAddress SAN (RFC 8705)."),
    tls_client_auth_san_email: z
      .string()
      .min(1)
      .optional()
      .describe("tls_client_auth: expected rfc822Name SAN (RFC 8705)."),
    tls_client_certificate_bound_access_tokens: z
      .boolean()
      .default(false)
      .describe("Bind access tokens to the client certificate with cnf.x5t#S256 (RFC 8705 §3)."),
    grant_types: z
      .array(z.enum(GRANT_TYPES))
      .min(1)
      .default(["client_credentials"])
      .describe('Grant types the client may use (RFC 7591). Default ["client_credentials"].'),
    scope: z
      .string()
      .regex(
        /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$|^$/,
        "must be space-separated scope tokens (RFC 6749 §3.3)",
      )
      .default("")
      .describe(
        "Space-separated scopes the client may request (RFC 7591). A request without `scope` gets all of them.",
      ),
    dpop_bound_access_tokens: z
      .boolean()
      .default(false)
      .describe("Always require DPoP for this client (RFC 9449 §5.2)."),
    require_dpop_nonce: z
      .boolean()
      .optional()
      .describe(
        "Require a server nonce in this client's DPoP proofs. Default: `dpop.require_nonce`, or true for HAAPI requests unless `capabilities.haapi.use_legacy_dpop`.",
      ),
    access_token_ttl: seconds(30, 86_400)
      .optional()
      .describe("Access token lifetime in seconds for this client. Default: top-level `access_token_ttl`."),
    refresh_token_ttl: seconds(60, 365 * 86_400)
      .optional()
      .describe("Refresh token lifetime in seconds (login flow). Default: top-level `refresh_token_ttl`."),
    redirect_uris: z
      .array(redirectUri)
      .default([])
      .describe("Redirect URIs for the authorization code flow (RFC 7591), compared exactly."),
    dynamic_client_registration_template: registrationTemplate.optional(),
    registration_rate_limit: rateLimit
      .optional()
      .describe(
        "For a main client of a registration template: how many dynamic clients its credential may register. Default: `dynamic_client_registration.rate_limit.per_client`.",
      ),
    capabilities: z
      .strictObject({ haapi: haapiCapability.optional() })
      .prefault({})
      .describe("Product capabilities of the client."),
    attestation: clientAttestation.optional(),
    authenticators: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "ids of the authenticators (top-level `authenticators`) this client's users may log in with; several give a selector. Default: all of them.",
      ),
  })
  .describe("A statically configured OAuth client.");

export const AUTHENTICATOR_TYPES = ["html-form", "approval-link", "uaf-mobile-approval", "uaf-device"] as const;

const authenticator = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lower-case letters, digits and dashes")
      .describe("Identifier, used in the authenticator's URLs (/authn/authenticate/<id>)."),
    type: z
      .enum(AUTHENTICATOR_TYPES)
      .describe(
        "html-form: username and password (users in the user store, PBKDF2). approval-link: out-of-band demonstration: the step polls until a one-time approval link is opened (development only). uaf-mobile-approval: a FIDO UAF authentication is dispatched to the user's registered phone (push, or a QR code/app link shown in the step) and the step polls until the phone answers. uaf-device: the app itself authenticates with a registered UAF key (a client-operation step).",
      ),
    title: z.string().min(1).max(100).optional().describe("Shown in the authenticator selector."),
    acr: z
      .string()
      .min(1)
      .optional()
      .describe("The `acr` of a login with this authenticator. Default: urn:se:curity:authentication:<type>:<id>."),
  })
  .describe("An authenticator of the login flow.");

const seededUser = z
  .strictObject({
    username: z.string().regex(USERNAME_PATTERN, USERNAME_RULE).describe("The login name (case-insensitive)."),
    password: z
      .string()
      .min(1)
      .optional()
      .describe("Plain-text password; development only. Use `password_hash` otherwise."),
    password_hash: z
      .string()
      .regex(
        /^pbkdf2-sha256\$[1-9][0-9]*\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{43}$/,
        'must be "pbkdf2-sha256$<iterations>$<salt>$<digest>" (npm run hash-secret -- --pbkdf2 <password>)',
      )
      .optional()
      .describe("PBKDF2-SHA-256 hash of the password."),
    claims: z
      .record(z.string(), z.union([z.string(), z.boolean(), z.number()]))
      .default({})
      .describe("OpenID Connect claims of the user (name, given_name, family_name, email, email_verified, ...)."),
  })
  .describe("A user seeded from the configuration (users registered through the flow live in the user store only).");

const uaf = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe("Serve the FIDO UAF services (/_app/..., /nevisfido/..., /api/v1/...)."),
    facets: z
      .array(z.string().min(1).max(300))
      .default([])
      .describe(
        "Trusted facet IDs of the apps (GET /_app/uaf/1.1/facets): android:apk-key-hash:<base64 SHA-1 of the signing certificate, no padding>, android:apk-key-hash-sha256:<base64 SHA-256, no padding>, ios:bundle-id:<bundle id>, or an https origin. `fcParams.facetID` must be one of them.",
      ),
    aaids: z
      .array(z.string().regex(AAID_PATTERN, "must be an AAID such as F1D0#0001"))
      .min(1)
      .default([...NEVIS_AAIDS])
      .describe(
        "AAIDs accepted at registration (the registration policy). Default: the Nevis SDK's ten authenticators.",
      ),
    attestation: z
      .strictObject({
        metadata_roots: z
          .array(z.string().regex(PEM_CERTIFICATE, "must be one PEM certificate (-----BEGIN CERTIFICATE-----)"))
          .default([])
          .describe("Attestation root certificates (FIDO metadata) for BASIC_FULL attestation chains."),
        accept_basic_full_without_chain: z
          .boolean()
          .default(false)
          .describe(
            "Accept a BASIC_FULL attestation whose certificate does not chain to `metadata_roots` (its signature is still checked).",
          ),
        accept_surrogate: z
          .boolean()
          .default(true)
          .describe(
            "Accept BASIC_SURROGATE attestation (self-signed by the new key), what the Nevis SDK's software authenticators send.",
          ),
      })
      .prefault({})
      .describe("Registration attestation policy."),
    request_ttl: seconds(30, 900)
      .default(240)
      .describe(
        "How long a UAF request (its challenge and serverData) may be answered, seconds (`lifetimeMillis`). The SDK's user interaction timeout is 240 s.",
      ),
    id_token_max_age: seconds(30, 3600)
      .default(300)
      .describe(
        "An ID token authorizes in-app registration or deregistration (as a Bearer JWT) only this many seconds after it was issued: ID tokens are not sender-constrained.",
      ),
    counter_regression: z
      .enum(["reject", "allow"])
      .default("reject")
      .describe(
        "An authentication whose sign counter does not increase flags a possibly cloned authenticator: reject it (default) or allow it (logged).",
      ),
    authorization: z
      .enum(["required", "none"])
      .default("required")
      .describe(
        "In-app registration and deregistration requests: `required` needs a JWT of the same user (a DPoP-bound access token from the login flow, or an ID token as Bearer) or a Device-Signature; `none` is the SDK's EmptyAuthorizationProvider (development only).",
      ),
    dispatch: z
      .strictObject({
        token_ttl: seconds(30, 3600)
          .default(300)
          .describe("How long an out-of-band dispatch token may be redeemed, seconds."),
        app_link_base: z
          .url({ protocol: /^https?$/ })
          .optional()
          .describe("Base of app links (`<base>?dispatchTokenResponse=<payload>`). Default: <issuer>/open."),
        qr_code_size: z.number().int().min(100).max(1000).default(300).describe("Approximate QR code width in pixels."),
        rate_limit: z
          .strictObject({
            per_user: rateLimit
              .default({ requests: 5, window: 300 })
              .describe("Mobile-approval requests of the login flow per user (each may prompt the phone)."),
            per_source: rateLimit
              .default({ requests: 30, window: 900 })
              .describe(
                "Mobile-approval requests per source address (CF-Connecting-IP on Workers; on Deno the connection's peer or SOURCE_ADDRESS_HEADER).",
              ),
          })
          .prefault({})
          .describe(
            "Limits on the login flow's mobile-approval requests: nobody may flood a user's phone with prompts.",
          ),
        fcm: z
          .strictObject({
            endpoint: z
              .url({ protocol: /^https?$/ })
              .default("https://fcm.googleapis.com")
              .describe("FCM HTTP v1 base URL (messages:send)."),
            token_uri: z
              .url({ protocol: /^https?$/ })
              .default("https://oauth2.googleapis.com/token")
              .describe("Google OAuth 2.0 token endpoint for the service account's JWT bearer grant."),
          })
          .prefault({})
          .describe(
            "Firebase Cloud Messaging. The service account comes from the FCM_SERVICE_ACCOUNT secret (JSON with project_id, client_email, private_key).",
          ),
      })
      .prefault({})
      .describe("Out-of-band dispatch (link, QR code, push)."),
    api_access_key: z
      .string()
      .min(16)
      .optional()
      .describe(
        "Authentication Cloud API and dispatch access key, plain text (development only; use api_access_key_hash).",
      ),
    api_access_key_hash: z
      .string()
      .regex(
        /^sha256\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{43}$/,
        'must be "sha256$<salt>$<digest>" as printed by `npm run hash-secret -- <key>`',
      )
      .optional()
      .describe(
        "Salted SHA-256 of the Bearer access key of the Authentication Cloud API (/api/v1/...) and of the dispatch token services.",
      ),
  })
  .describe("FIDO UAF server compatible with Nevis-style mobile SDKs.");

export const configSchema = z
  .strictObject({
    issuer: z
      .url({ protocol: /^https?$/ })
      .describe(
        "Public base URL of this server, no path. Used as `iss`, as `aud` of access tokens, in metadata and for DPoP `htu` comparison.",
      ),
    environment: z
      .enum(["production", "development"])
      .default("production")
      .describe('"development" allows plain-text client secrets and an http issuer on any host.'),
    access_token_ttl: seconds(30, 86_400).default(600).describe("Default access token lifetime in seconds."),
    refresh_token_ttl: seconds(60, 365 * 86_400)
      .default(30 * 86_400)
      .describe("Default refresh token lifetime in seconds (login flow)."),
    dpop: z
      .strictObject({
        signing_alg_values: z
          .array(z.enum(ASYMMETRIC_ALGS))
          .min(1)
          .default(["ES256", "EdDSA", "PS256", "RS256"])
          .describe("Algorithms accepted in DPoP proofs (RFC 9449 dpop_signing_alg_values_supported)."),
        clock_skew: seconds(1, 600)
          .default(60)
          .describe(
            "How far a proof's `iat` may lie before or after server time, in seconds. Curity uses 10, oidc-provider 300 without nonces.",
          ),
        require_nonce: z.boolean().default(false).describe("Require a server nonce in every DPoP proof (RFC 9449 §8)."),
        nonce_step: seconds(10, 3600)
          .default(60)
          .describe("Nonce time step in seconds. A nonce is accepted during its step and the next one."),
      })
      .prefault({})
      .describe("DPoP proof checks (RFC 9449 §4.3)."),
    client_authentication: z
      .strictObject({
        assertion_max_lifetime: seconds(10, 3600)
          .default(300)
          .describe("private_key_jwt: the longest accepted `exp` - now (and `exp` - `iat`), in seconds."),
        clock_skew: seconds(0, 300)
          .default(30)
          .describe("private_key_jwt: leeway for `exp`, `nbf` and `iat`, in seconds."),
      })
      .prefault({})
      .describe("Client authentication at the token endpoint."),
    mtls: z
      .strictObject({
        certificate_header: z
          .string()
          .regex(/^[A-Za-z0-9-]+$/)
          .nullable()
          .default(null)
          .describe(
            "Name of a request header (RFC 9440 `Client-Cert`) carrying the client certificate from a trusted TLS-terminating proxy. Null: only Cloudflare's own mTLS (request.cf.tlsClientAuth) counts. Enable only when the proxy strips the header from client requests.",
          ),
      })
      .prefault({})
      .describe("Mutual-TLS client authentication and certificate-bound tokens (RFC 8705)."),
    signing_keys: z
      .strictObject({
        rotation_period: seconds(3600, 365 * 86_400)
          .default(30 * 86_400)
          .describe(
            "When keys are generated by the key manager (a stored record): how long a key signs before the next one takes over, in seconds.",
          ),
      })
      .prefault({})
      .describe("Token signing keys. The SIGNING_KEYS secret, when set, replaces generated keys."),
    limits: z
      .strictObject({
        max_body_bytes: z
          .number()
          .int()
          .min(1024)
          .max(1_048_576)
          .default(16_384)
          .describe("Largest accepted request body."),
        max_header_bytes: z
          .number()
          .int()
          .min(1024)
          .max(65_536)
          .default(8_192)
          .describe("Largest accepted Authorization or DPoP header."),
        max_attestation_bytes: z
          .number()
          .int()
          .min(8_192)
          .max(1_048_576)
          .default(65_536)
          .describe(
            "Largest accepted request body at the CAT endpoint (certificate chains and App Attest objects are larger than token requests).",
          ),
      })
      .prefault({})
      .describe("Request size limits."),
    logging: z
      .strictObject({
        level: z
          .enum(["debug", "info", "warn", "error", "silent"])
          .default("info")
          .describe("Lowest level written to the log."),
      })
      .prefault({})
      .describe("Structured JSON logs, one line per request."),
    attestation: z
      .strictObject({
        challenge_ttl: seconds(10, 600).default(120).describe("How long a CAT challenge may be answered, seconds."),
        cat_ttl: seconds(10, 120)
          .default(120)
          .describe("Lifetime of a CAT (client attestation token), seconds; at most 2 minutes."),
        revocation_list_url: z
          .url({ protocol: /^https?$/ })
          .default("https://android.googleapis.com/attestation/status")
          .describe("Android attestation certificate status list (Google's by default)."),
        revocation_list_cache_ttl: seconds(60, 86_400)
          .default(3600)
          .describe("How long the status list is cached (KV), seconds."),
        pop_max_age: seconds(10, 600)
          .default(300)
          .describe(
            "OAuth-Client-Attestation-PoP: how old its `iat` may be, seconds (and how long its `jti` is remembered).",
          ),
      })
      .prefault({})
      .describe("Client attestation: CAT challenges, CATs, the Android revocation list."),
    attestation_policies: z
      .strictObject({
        android: z.record(policyName, androidPolicySchema).default({}).describe("Android policies by name."),
        ios: z.record(policyName, iosPolicySchema).default({}).describe("iOS policies by name."),
        web: z.record(policyName, webPolicySchema).default({}).describe("Web policies by name."),
      })
      .prefault({})
      .describe("Named attestation policies; a client's `attestation.<platform>.policy` names one."),
    dynamic_client_registration: z
      .strictObject({
        initial_access_token_ttl: seconds(10, 3600)
          .default(120)
          .describe(
            "Lifetime of an initial access token (client_credentials with scope `dcr`), seconds. It is also single use.",
          ),
        client_secret_ttl: z
          .number()
          .int()
          .min(0)
          .max(10 * 365 * 86_400)
          .default(0)
          .describe(
            "Lifetime of a dynamic client's secret, seconds (`client_secret_expires_at`). 0: the secret does not expire. An expired client is refused and then deleted.",
          ),
        unused_client_ttl: seconds(60, 365 * 86_400)
          .default(86_400)
          .describe(
            "A dynamic client that has not obtained a token within this many seconds of its registration is deleted.",
          ),
        rate_limit: z
          .strictObject({
            per_client: rateLimit
              .default({ requests: 600, window: 3600 })
              .describe(
                "Registrations per main client (each main client's own `registration_rate_limit` overrides it).",
              ),
            per_source: rateLimit
              .default({ requests: 60, window: 3600 })
              .describe(
                "Registration requests per source address (CF-Connecting-IP on Workers; on Deno the connection's peer or SOURCE_ADDRESS_HEADER), counted before authentication.",
              ),
          })
          .prefault({})
          .describe("Registration rate limits: a leaked app credential must not let anyone fill the store."),
        software_statement_issuers: z
          .array(
            z.strictObject({
              issuer: z.string().min(1).describe("The statement's `iss`."),
              jwks: z
                .strictObject({ keys: z.array(jwk).min(1) })
                .describe("Public keys that sign this issuer's statements."),
            }),
          )
          .default([])
          .describe(
            "Issuers whose software statements (RFC 7591 §2.3) are approved. A statement from anyone else is `unapproved_software_statement`.",
          ),
      })
      .prefault({})
      .describe("Templatized dynamic client registration (RFC 7591, RFC 7592): the attestation fallback."),
    clients: z.array(clientSchema).default([]).describe("Statically configured clients."),
    authenticators: z
      .array(authenticator)
      .min(1)
      .default([{ id: "html-form", type: "html-form" }])
      .describe("Authenticators of the HAAPI login flow. Default: one username/password form."),
    users: z.array(seededUser).default([]).describe("Users seeded from the configuration (development and tests)."),
    uaf: uaf.prefault({}),
    login: z
      .strictObject({
        session_ttl: seconds(60, 3600)
          .default(900)
          .describe("How long a login flow (HAAPI session) may take, seconds."),
        authorization_code_ttl: seconds(10, 600)
          .default(60)
          .describe("Lifetime of an authorization code, seconds. Single use."),
        id_token_ttl: seconds(60, 86_400).default(3600).describe("Lifetime of ID tokens, seconds."),
        max_failed_attempts: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(5)
          .describe("Failed password attempts before a user is locked out."),
        lockout: seconds(10, 86_400).default(900).describe("How long a locked-out user stays locked, seconds."),
        per_source: rateLimit
          .default({ requests: 30, window: 900 })
          .describe(
            "Failed logins per source address (CF-Connecting-IP on Workers; on Deno the connection's peer or SOURCE_ADDRESS_HEADER) before it gets too-many-attempts.",
          ),
        allow_user_registration: z
          .boolean()
          .default(true)
          .describe("Offer the user-register action on the login form."),
        approval_link_ttl: seconds(30, 900)
          .default(300)
          .describe("approval-link authenticator: how long the link may be opened."),
        web_session_ttl: z
          .number()
          .int()
          .min(0)
          .max(30 * 86_400)
          .default(3600)
          .describe(
            "A browser login starts a session (the `haapi-session` cookie) of this many seconds, which the FIDO UAF services accept as cookie authorization. 0: no session.",
          ),
      })
      .prefault({})
      .describe("The HAAPI login flow: sessions, codes, lockout."),
  })
  .describe("haapi-edge configuration (the CONFIG binding).");

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ClientConfig = z.output<typeof clientSchema>;
export type HaapiCapability = z.output<typeof haapiCapability>;
export type AndroidPolicy = z.output<typeof androidPolicySchema>;
export type IosPolicy = z.output<typeof iosPolicySchema>;
export type WebPolicy = z.output<typeof webPolicySchema>;
export type ClientAttestation = z.output<typeof clientAttestation>;
export type RegistrationTemplate = z.output<typeof registrationTemplate>;
export type RateLimit = z.output<typeof rateLimit>;
export type AuthenticatorConfig = z.output<typeof authenticator>;
export type SeededUser = z.output<typeof seededUser>;
export type UafConfig = z.output<typeof uaf>;
export type AttestationPlatform = "android" | "ios" | "web";
