// Defaults shared by the simulator CLI, the development configuration and the flow tests.
// Keep in sync with the development configuration (src/config/development.json).

/** Static client the simulator authenticates as: no secret, its CAT is its only credential (attest_jwt_client_auth). */
export const DEFAULT_CLIENT_ID = "mobile-app";

/** Local `wrangler dev` server. */
export const DEFAULT_SERVER = "http://127.0.0.1:8787";

/** Android package name the simulator claims (attestationApplicationId, tag 709). */
export const DEFAULT_ANDROID_PACKAGE = "io.haapiedge.simulator";

/** Android package version (versionCode) the simulator claims. */
export const DEFAULT_ANDROID_PACKAGE_VERSION = 1;

/**
 * The simulated app has no real signing certificate: its "signing certificate" is the UTF-8
 * bytes of this string, so its signature digest (Curity `signature-digest`: base64 of the raw
 * SHA-256 of the signing certificate) is base64(SHA-256(UTF-8(this string))).
 */
export const SIMULATOR_SIGNING_CERTIFICATE_TEXT = "haapi-edge simulator signing certificate";

/** base64(SHA-256(UTF-8("haapi-edge simulator signing certificate"))). Checked by selfcheck.mjs. */
export const DEFAULT_ANDROID_SIGNATURE_DIGEST = "SToUXwL1tR58I8+YfRrcvCxNp9pB1h7kPt1AYC9x4gY=";

/** iOS App Attest app id `<teamId>.<bundleId>`. */
export const DEFAULT_IOS_APP_ID = "HAAPIEDGE1.io.haapiedge.simulator";

/** iOS App Attest environment (aaguid "appattestdevelop"). */
export const DEFAULT_IOS_ENVIRONMENT = "development";

/** HAAPI scope requested with the CAT. */
export const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";

/** client_assertion_type for a CAT. */
export const CAT_ASSERTION_TYPE = "urn:se:curity:attestation:client";

// ---------------------------------------------------------------------------------------------
// Attestation fallback (templatized dynamic client registration, RFC 7591): the development
// configuration's main clients and their templates.

/** Main client of the fallback: its credential authorizes registrations from its template. */
export const DEFAULT_MAIN_CLIENT_ID = "haapi-client";

/** `haapi-client`'s secret in the development configuration (client_secret_basic). */
export const DEFAULT_MAIN_CLIENT_SECRET = "Password1";

/** Template `haapi-client` may register from (`software_id`). */
export const DEFAULT_TEMPLATE_ID = "haapi-template-client";

/** Main client that authenticates with private_key_jwt (cal `by-provisioned-key`). */
export const JWT_MAIN_CLIENT_ID = "haapi-jwt-client";

/** Template `haapi-jwt-client` may register from. */
export const JWT_TEMPLATE_ID = "haapi-jwt-template-client";

/** `haapi-jwt-client`'s private JWK, publicly known (dev/keys/README.md), relative to the repository root. */
export const JWT_MAIN_CLIENT_KEY_FILE = "dev/keys/haapi-jwt-client.private.jwk.json";

/** Scope of an initial access token: client_credentials for it authorizes one registration. */
export const DCR_SCOPE = "dcr";

/** client_assertion_type for a private_key_jwt client assertion (RFC 7523). */
export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// ---------------------------------------------------------------------------------------------
// FIDO UAF (docs/uaf.md): the simulated phone's facet IDs, trusted by the development configuration.

/** Android facet: base64 (no padding) of SHA-1 of the simulated signing certificate (see above). */
export const DEFAULT_UAF_ANDROID_FACET = "android:apk-key-hash:yK1xYp+Qu1rpQtNFud4OJZBKXFg";

/** iOS facet: the simulated app's bundle id. */
export const DEFAULT_UAF_IOS_FACET = "ios:bundle-id:io.haapiedge.simulator";
