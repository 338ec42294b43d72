// The app's own OAuth calls, with the browser's plain fetch (cross-origin, so the server must answer
// CORS for this origin): PKCE (RFC 7636), redeeming the code as a public client (RFC 6749 §4.1.3,
// no secret: token_endpoint_auth_method "none"), and the userinfo request (OpenID Connect Core §5.3).

const encoder = new TextEncoder();

/** @param {Uint8Array} bytes */
function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A random base64url string of `size` bytes of entropy. */
export function randomToken(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2). */
export async function pkce() {
  const verifier = randomToken(32);
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(verifier))));
  return { verifier, challenge };
}

/**
 * The authorization request URL.
 * @param {string} issuer
 * @param {{ clientId: string, redirectUri: string, scope: string, state: string, codeChallenge: string }} request
 */
export function authorizeUrl(issuer, request) {
  const url = new URL(`${issuer}/oauth/v2/oauth-authorize`);
  url.search = new URLSearchParams({
    client_id: request.clientId,
    response_type: "code",
    redirect_uri: request.redirectUri,
    scope: request.scope,
    state: request.state,
    code_challenge: request.codeChallenge,
    code_challenge_method: "S256",
  }).toString();
  return url.href;
}

/** An OAuth error answer as an Error naming the endpoint, the status and the error code. @param {string} what @param {Response} response */
async function oauthFailure(what, response) {
  const text = await response.text();
  let detail = text.slice(0, 300);
  try {
    const body = JSON.parse(text);
    if (typeof body.error === "string")
      detail = `${body.error}${body.error_description ? `: ${body.error_description}` : ""}`;
  } catch {
    // not JSON: the text as is
  }
  return new Error(`${what}: HTTP ${response.status} ${detail}`);
}

/**
 * Redeem an authorization code as a public client: client_id and code_verifier, no secret.
 * @param {string} tokenEndpoint
 * @param {{ code: string, redirectUri: string, codeVerifier: string, clientId: string }} grant
 * @returns {Promise<Record<string, any>>} the token response
 */
export async function redeemCode(tokenEndpoint, grant) {
  const response = await fetch(tokenEndpoint, {
    method: "POST",
    headers: { Accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: grant.code,
      redirect_uri: grant.redirectUri,
      code_verifier: grant.codeVerifier,
      client_id: grant.clientId,
    }),
  });
  if (!response.ok) throw await oauthFailure("token endpoint", response);
  const tokens = await response.json();
  if (typeof tokens.access_token !== "string") throw new Error("token endpoint: the answer has no access_token");
  return tokens;
}

/**
 * The userinfo of an access token. This page holds no DPoP key and sends no proof when it redeems the
 * code, so its tokens are Bearer tokens; a DPoP-bound one cannot be used from here and is refused.
 * @param {string} issuer
 * @param {Record<string, any>} tokens the token response
 * @returns {Promise<Record<string, any>>}
 */
export async function userinfo(issuer, tokens) {
  const type = String(tokens.token_type ?? "");
  if (type.toLowerCase() !== "bearer")
    throw new Error(`the access token is a ${type} token; this page has no DPoP key to present it with`);
  const response = await fetch(`${issuer}/oauth/v2/oauth-userinfo`, {
    headers: { Authorization: `Bearer ${tokens.access_token}`, Accept: "application/json" },
  });
  if (!response.ok) throw await oauthFailure("userinfo", response);
  return response.json();
}

/** The claims of a JWT, decoded but not verified (for display only: the app got it straight from the token endpoint). @param {string} jwt */
export function unverifiedClaims(jwt) {
  const payload = String(jwt).split(".")[1] ?? "";
  const binary = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}
