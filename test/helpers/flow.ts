/**
 * Test-side HAAPI login flow: what an app does with a HAAPI token, step by step, over HTTP.
 */
import { exports } from "cloudflare:workers";
import { base64url } from "jose";
import { HAAPI_SCOPE } from "./attestation";
import { proof, type DeviceKey } from "./dpop";
import { basic, BASE, jsonOf, tokenRequest } from "./server";

export const AUTHORIZE_URL = `${BASE}/oauth/v2/oauth-authorize`;
export const HAAPI = "application/vnd.auth+json";

/** A HAAPI token for a client allowed without attestation (client_credentials, DPoP, nonce retry). */
export async function haapiTokenFor(clientId: string, secret: string, device: DeviceKey): Promise<string> {
  const body = { grant_type: "client_credentials", scope: HAAPI_SCOPE };
  let response = await tokenRequest({
    body,
    headers: { Authorization: basic(clientId, secret), DPoP: await proof(device) },
  });
  if (response.status === 400)
    response = await tokenRequest({
      body,
      headers: {
        Authorization: basic(clientId, secret),
        DPoP: await proof(device, { nonce: response.headers.get("DPoP-Nonce")! }),
      },
    });
  const json = await jsonOf(response);
  if (response.status !== 200) throw new Error(`haapi token: ${response.status} ${JSON.stringify(json)}`);
  return json.access_token as string;
}

/** How a client redeems its authorization code: the PKCE verifier, the redirect URI, its credentials. */
export interface CodeRedemption {
  readonly verifier: string;
  readonly redirectUri: string;
  readonly clientId: string;
  readonly secret: string;
  /** Added to the token request's headers, e.g. a DPoP proof. */
  readonly headers?: Record<string, string>;
}

/**
 * The authorization-code grant at the token endpoint (RFC 6749 §4.1.3, with the PKCE verifier of RFC
 * 7636 §4.5), the client authenticated with client_secret_basic. Returns the response unread.
 */
export function redeemCode(code: string, o: CodeRedemption): Promise<Response> {
  return tokenRequest({
    body: { grant_type: "authorization_code", code, redirect_uri: o.redirectUri, code_verifier: o.verifier },
    headers: { Authorization: basic(o.clientId, o.secret), ...o.headers },
  });
}

export interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
}

export async function pkce(): Promise<Pkce> {
  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url.encode(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  return { verifier, challenge };
}

/** One HAAPI request: the token as DPoP, a fresh proof (nonce learned on demand), Session-Id when known. */
export class FlowClient {
  sessionId: string | undefined;
  private nonce: string | undefined;

  constructor(
    readonly token: string,
    readonly device: DeviceKey,
  ) {}

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const method = init.method ?? (init.form ? "POST" : "GET");
    const send = async () => {
      const htu = url.split("?")[0]!;
      const headers: Record<string, string> = {
        Accept: HAAPI,
        Authorization: `DPoP ${this.token}`,
        DPoP: await proof(this.device, {
          htm: method,
          htu,
          accessToken: this.token,
          ...(this.nonce ? { nonce: this.nonce } : {}),
        }),
        ...(this.sessionId ? { "Session-Id": this.sessionId } : {}),
        ...(init.form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}),
        ...init.headers,
      };
      return exports.default.fetch(url, {
        method,
        headers,
        ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
      });
    };
    let response = await send();
    if (response.status === 401 && (response.headers.get("WWW-Authenticate") ?? "").includes("use_dpop_nonce")) {
      this.nonce = response.headers.get("DPoP-Nonce") ?? undefined;
      response = await send();
    }
    const fresh = response.headers.get("DPoP-Nonce");
    if (fresh) this.nonce = fresh;
    const session = response.headers.get("Set-Session-Id");
    if (session) this.sessionId = session;
    return response;
  }
}

export function authorizeUrl(params: Record<string, string>): string {
  return `${AUTHORIZE_URL}?${new URLSearchParams(params).toString()}`;
}

/** The action of `kind` in a representation. */
export function actionOf(representation: Record<string, any>, kind: string): Record<string, any> {
  const action = (representation.actions ?? []).find((candidate: Record<string, any>) => candidate.kind === kind);
  if (!action) throw new Error(`no ${kind} action in ${JSON.stringify(representation)}`);
  return action;
}
