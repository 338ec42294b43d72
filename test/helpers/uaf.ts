/**
 * Test-side FIDO UAF: the Worker's UAF services driven over HTTP the way a Nevis-style app and its
 * relying party's backend drive them (docs/uaf.md), with real Durable Objects. A fresh user logs in
 * through the HAAPI flow (user-register) to get the tokens the JWT authorization provider sends; QR codes
 * are read back from their PNG data URIs with a real decoder (jsQR), not by trusting our own encoder.
 */
import { exports } from "cloudflare:workers";
import jsQR from "jsqr";
import { pngToRgba } from "./png";
import { expect } from "vitest";
import { uafUserName, type UafUserRecord } from "../../src/kv/uaf-user";
import { testStores } from "./runtime";
import type { AuthenticatorKind, UafCredential } from "../../tools/simulator/uaf-authenticator.mjs";
import { registerInApp, UAF_CONTENT_TYPE, UAF_MEDIA_TYPE } from "../../tools/simulator/uaf-client.mjs";
import { newPhone, type UafPhone } from "../../tools/simulator/uaf-phone.mjs";
import testConfig from "../fixtures/test-config.json" with { type: "json" };
import { newDevice, type Device } from "./attestation";
import { proof } from "./dpop";
import { actionOf, authorizeUrl, FlowClient, haapiTokenFor, pkce, redeemCode } from "./flow";
import { BASE } from "./server";

export { BASE, UAF_CONTENT_TYPE };
const ACCESS_KEY = testConfig.uaf.api_access_key;

/** The Worker itself, as the simulator's injectable `fetch`. */
export const workerFetch = (url: string, init?: RequestInit): Promise<Response> => exports.default.fetch(url, init);

type Json = Record<string, any>;

export function newUsername(prefix = "uaf"): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 13)}`;
}

/** A user who logged in through the HAAPI flow: a DPoP-bound access token (bound to `key`) and an ID token. */
export interface Account {
  readonly username: string;
  readonly accessToken: string;
  readonly idToken: string;
  readonly refreshToken: string;
  readonly key: Device;
  /** The redeemed code and its PKCE verifier (redeeming it again revokes the grant). */
  readonly code: string;
  readonly codeVerifier: string;
}

/**
 * The JSON of a UAF response (application/fido+uaf), decoded by hand: workerd warns when `.text()` or
 * `.json()` reads a body whose type is not text or JSON.
 */
export async function uafBody(response: Response): Promise<Json> {
  return JSON.parse(new TextDecoder().decode(await response.arrayBuffer())) as Json;
}

async function json(response: Response, status: number): Promise<Json> {
  const text = new TextDecoder().decode(await response.arrayBuffer());
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as Json;
}

/** A new account, created in the HAAPI flow of flow-client (user-register), and its tokens. */
export async function newAccount(username = newUsername()): Promise<Account> {
  const key = await newDevice();
  const flow = new FlowClient(await haapiTokenFor("flow-client", "flow-secret", key), key);
  const { verifier, challenge } = await pkce();
  const login = await json(
    await flow.request(
      authorizeUrl({
        client_id: "flow-client",
        response_type: "code",
        redirect_uri: "app://haapi",
        scope: "openid profile",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }),
    ),
    200,
  );
  const form = await json(await flow.request(actionOf(login, "user-register").model.href), 200);
  const done = await json(
    await flow.request(actionOf(form, "user-register").model.href, {
      form: { userName: username, password: "uaf-test-password-9" },
    }),
    200,
  );
  expect(done.type).toBe("oauth-authorization-response");
  const redeemed = await redeemCode(done.properties.code, {
    verifier,
    redirectUri: "app://haapi",
    clientId: "flow-client",
    secret: "flow-secret",
    headers: { DPoP: await proof(key) },
  });
  const tokens = await json(redeemed, 200);
  return {
    username,
    accessToken: tokens.access_token as string,
    idToken: tokens.id_token as string,
    refreshToken: tokens.refresh_token as string,
    key,
    code: done.properties.code as string,
    codeVerifier: verifier,
  };
}

/** `Authorization: DPoP <access token>` and a proof for `url`. */
export async function dpopHeaders(
  account: Account,
  url: string,
  options: { method?: string; nonce?: string } = {},
): Promise<Record<string, string>> {
  return {
    authorization: `DPoP ${account.accessToken}`,
    dpop: await proof(account.key, {
      htm: options.method ?? "POST",
      htu: url,
      accessToken: account.accessToken,
      ...(options.nonce ? { nonce: options.nonce } : {}),
    }),
  };
}

/**
 * The simulator's `fetch`, adding the account's DPoP authorization to the registration and
 * deregistration request services (the simulator itself only knows Bearer JWTs).
 */
export function fetchWithDpop(account: Account): (url: string, init: RequestInit) => Promise<Response> {
  return async (url, init) => {
    if (!/\/uaf\/1\.1\/request\/(registration|deregistration)\/?$/.test(new URL(url).pathname))
      return workerFetch(url, init);
    return workerFetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), ...(await dpopHeaders(account, url)) },
    });
  };
}

/** A new account with a new phone on which `kinds` are registered in-app (DPoP access token). */
export async function registeredPhone(
  options: { platform?: "android" | "ios"; kinds?: readonly AuthenticatorKind[]; name?: string } = {},
): Promise<{ account: Account; username: string; phone: UafPhone }> {
  const account = await newAccount();
  const phone = await newPhone({
    platform: options.platform ?? "android",
    ...(options.name ? { name: options.name } : {}),
  });
  for (const kind of options.kinds ?? ["pin"])
    await registerInApp({ baseUrl: BASE, username: account.username, kind, phone, fetch: fetchWithDpop(account) });
  return { account, username: account.username, phone };
}

/** The credential a redeemed out-of-band registration or authentication left on the phone. */
export function credentialOf(
  result: { op: string } & ({ credential: UafCredential } | { removed: unknown }),
): UafCredential {
  if (!("credential" in result)) throw new Error(`a ${result.op} leaves no credential`);
  return result.credential;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Json;
}

/** POST a JSON body (as `application/fido+uaf;charset=UTF-8` unless `contentType` says otherwise). */
export async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = UAF_CONTENT_TYPE,
): Promise<Answer> {
  const response = await workerFetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": contentType, accept: UAF_MEDIA_TYPE, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = new TextDecoder().decode(await response.arrayBuffer()); // UTF-8, whatever the type (application/fido+uaf)
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    throw new Error(`${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A UAF ServerResponse refusal: its HTTP status, UAF status code and content type. */
export function expectRefused(
  answer: Answer,
  statusCode: number,
  httpStatus = statusCode === 1401 ? 401 : statusCode === 1403 ? 403 : statusCode === 1404 ? 404 : 400,
): void {
  expect({ status: answer.status, statusCode: answer.body.statusCode }, JSON.stringify(answer.body)).toEqual({
    status: httpStatus,
    statusCode,
  });
  expect(answer.headers.get("content-type")).toBe(UAF_CONTENT_TYPE);
  expect(typeof answer.body.description).toBe("string");
}

/** The user's stored UAF record (null before the first contact). */
export function readUafUser(username: string): Promise<UafUserRecord | null> {
  return testStores()
    .uafUsers.named(uafUserName(username))
    .then((user) => user.run("read", null, Math.floor(Date.now() / 1000)));
}

/** A dispatch token request of the relying party's backend (access key). */
export function dispatchToken(
  operation: string,
  body: Json,
  options: { family?: "_app" | "nevisfido"; accessKey?: string | null } = {},
): Promise<Answer> {
  const accessKey = options.accessKey === undefined ? ACCESS_KEY : options.accessKey;
  return post(
    `/${options.family ?? "nevisfido"}/token/dispatch/${operation}`,
    body,
    accessKey === null ? {} : { authorization: `Bearer ${accessKey}` },
    "application/json",
  );
}

/** A GetUAFRequest of `op` for a context. */
export function getUafRequest(op: string, context: Json): Json {
  return { op, context: JSON.stringify(context) };
}

/** The status service's view of an out-of-band session. */
export async function sessionStatus(sessionId: string, family: "_app" | "nevisfido" = "nevisfido"): Promise<Json> {
  const answer = await post(`/${family}/status`, { sessionId }, {}, "application/json");
  expect(answer.status).toBe(200);
  return answer.body;
}

/** An Authentication Cloud API call with the access key. */
export function cloudApi(
  path: "users/enroll" | "approval" | "status",
  body: Json,
  accessKey: string | null = ACCESS_KEY,
): Promise<Answer> {
  return post(
    `/api/v1/${path}`,
    body,
    accessKey === null ? {} : { authorization: `Bearer ${accessKey}` },
    "application/json",
  );
}

/** The text of the QR code in a `data:image/png;base64,...` URI. */
export async function readQrDataUri(dataUri: string): Promise<{ text: string; width: number; height: number }> {
  const match = /^data:image\/png;base64,([A-Za-z0-9+/]+={0,2})$/.exec(dataUri);
  if (!match) throw new Error(`not a PNG data URI: ${dataUri.slice(0, 40)}`);
  const { width, height, rgba } = await pngToRgba(Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0)));
  const code = jsQR(rgba, width, height);
  if (!code) throw new Error("no QR code found in the PNG");
  return { text: code.data, width, height };
}
