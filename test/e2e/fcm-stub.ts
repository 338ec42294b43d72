/**
 * A local stand-in for Google's OAuth 2.0 token endpoint and the FCM HTTP v1 API, for the end-to-end
 * push tests: one node:http server on a free port that the Worker under `wrangler dev` is configured
 * to call (`uaf.dispatch.fcm.token_uri` / `endpoint`).
 *
 * It checks what it receives the way Google would, and records every request with what it found:
 * - token endpoint (RFC 7523 JWT bearer grant): form-encoded `grant_type` and an RS256 `assertion`
 *   that verifies with the service account's public key, `iss` = `sub` = client_email, `aud` = the
 *   token URI, the firebase.messaging scope, and a fresh `iat` / `exp` (at most an hour);
 * - messages:send (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send):
 *   `Authorization: Bearer` a token it issued, the service account's project in the path, and a
 *   `{message: {token, data}}` body whose data values are strings.
 * A request that fails a check is answered as Google would (400/401) and its problems are recorded, so
 * a test can assert that there were none. A registration token marked with `unregister()` is answered
 * 404 `UNREGISTERED`, as FCM does once the app is uninstalled; for one marked with `hangUp()` the
 * connection is dropped without an answer (recorded with status 0). Each send also records which TCP
 * connection it came on and whether that connection had carried a request before (kept alive), which is
 * what decides whether a client re-sends after a hang-up (uaf-push.test.ts, "FCM unreachable").
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { jwtVerify, type CryptoKey, type JWTPayload } from "jose";

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
export const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** How far the assertion's iat may be from the stub's clock (Google allows some skew). */
const IAT_LEEWAY = 300;

export interface StubServiceAccount {
  readonly project_id: string;
  readonly client_email: string;
  readonly publicKey: CryptoKey;
}

export interface TokenRequest {
  readonly contentType: string | undefined;
  readonly form: Record<string, string>;
  /** The verified assertion's claims (undefined when it did not verify). */
  readonly claims: JWTPayload | undefined;
  /** What the stub found wrong; empty when it issued a token. */
  readonly problems: string[];
  /** The access token issued, when it was. */
  readonly issued: string | undefined;
}

export interface SendRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly problems: string[];
  /** HTTP status and body the stub answered (0: it hung up). */
  readonly status: number;
  readonly answer: unknown;
  /** The TCP connection it came on: 1 for the stub's first connection, 2 for the next, ... */
  readonly connection: number;
  /** Whether that connection had carried an earlier request (a kept-alive connection, reused). */
  readonly reused: boolean;
}

export interface FcmStub {
  /** `http://127.0.0.1:<port>`: the FCM endpoint (messages:send is under /v1/projects/...). */
  readonly endpoint: string;
  /** The token endpoint URL (the assertion's audience). */
  readonly tokenUri: string;
  readonly tokenRequests: TokenRequest[];
  readonly sends: SendRequest[];
  /** Answer 404 UNREGISTERED for this registration token from now on. */
  unregister(registrationToken: string): void;
  /** Drop the connection without an answer for this registration token (a network failure). */
  hangUp(registrationToken: string): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json; charset=UTF-8" });
  res.end(JSON.stringify(body));
}

/** Start the stub on a free port of 127.0.0.1. */
export async function startFcmStub(account: StubServiceAccount): Promise<FcmStub> {
  const tokenRequests: TokenRequest[] = [];
  const sends: SendRequest[] = [];
  const issued = new Set<string>();
  const unregistered = new Set<string>();
  const hungUp = new Set<string>();
  let tokenUri = "";
  let messages = 0;
  /** Per TCP connection: its number, and how many requests it has carried so far. */
  const connections = new WeakMap<Socket, { number: number; requests: number }>();
  let connectionCount = 0;

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = req.headers["content-type"];
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const problems: string[] = [];
    if (!contentType?.startsWith("application/x-www-form-urlencoded")) problems.push(`content-type ${contentType}`);
    if (form.grant_type !== JWT_BEARER) problems.push(`grant_type ${form.grant_type}`);
    let claims: JWTPayload | undefined;
    try {
      ({ payload: claims } = await jwtVerify(form.assertion ?? "", account.publicKey, {
        algorithms: ["RS256"],
        issuer: account.client_email,
        subject: account.client_email,
        audience: tokenUri,
        requiredClaims: ["iat", "exp"],
      }));
    } catch (error) {
      problems.push(`assertion: ${(error as Error).message}`);
    }
    if (claims) {
      const now = Math.floor(Date.now() / 1000);
      if (claims.scope !== FCM_SCOPE) problems.push(`scope ${String(claims.scope)}`);
      if (Math.abs(claims.iat! - now) > IAT_LEEWAY) problems.push(`iat ${claims.iat} is not fresh (now ${now})`);
      if (claims.exp! <= now || claims.exp! - claims.iat! > 3600)
        problems.push(`exp ${claims.exp} (iat ${claims.iat})`);
    }
    if (problems.length) {
      tokenRequests.push({ contentType, form, claims, problems, issued: undefined });
      return answer(res, 400, { error: "invalid_grant", error_description: problems.join("; ") });
    }
    const accessToken = `ya29.stub-${randomBytes(24).toString("base64url")}`;
    issued.add(accessToken);
    tokenRequests.push({ contentType, form, claims, problems, issued: accessToken });
    answer(res, 200, { access_token: accessToken, expires_in: 3599, token_type: "Bearer" });
  }

  async function send(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const { number: connection, requests } = connections.get(req.socket) ?? { number: 0, requests: 1 };
    const reused = requests > 1;
    const authorization = req.headers.authorization;
    const contentType = req.headers["content-type"];
    const text = await readBody(req);
    const problems: string[] = [];
    let body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      body = JSON.parse(text);
    } catch {
      problems.push("body is not JSON");
    }
    const bearer = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
    const reply = (status: number, payload: unknown) => {
      sends.push({ path, authorization, contentType, body, problems, status, answer: payload, connection, reused });
      answer(res, status, payload);
    };
    if (!bearer || !issued.has(bearer)) {
      problems.push(`authorization ${authorization}`);
      return reply(401, {
        error: { code: 401, status: "UNAUTHENTICATED", message: "Request had invalid authentication credentials." },
      });
    }
    if (path !== `/v1/projects/${account.project_id}/messages:send`) problems.push(`path ${path}`);
    if (!contentType?.startsWith("application/json")) problems.push(`content-type ${contentType}`);
    const message = body?.message;
    if (typeof message?.token !== "string" || !message.token) problems.push("message.token is missing");
    if (typeof message?.data !== "object" || message.data === null) problems.push("message.data is missing");
    else
      for (const [key, value] of Object.entries(message.data))
        if (typeof value !== "string") problems.push(`message.data.${key} is not a string`);
    if (problems.length)
      return reply(400, { error: { code: 400, status: "INVALID_ARGUMENT", message: problems.join("; ") } });
    if (hungUp.has(message.token)) {
      sends.push({
        path,
        authorization,
        contentType,
        body,
        problems,
        status: 0,
        answer: "connection closed without an answer",
        connection,
        reused,
      });
      return void req.socket.destroy();
    }
    if (unregistered.has(message.token))
      return reply(404, { error: { code: 404, status: "UNREGISTERED", message: "Requested entity was not found." } });
    reply(200, { name: `projects/${account.project_id}/messages/0:${Date.now()}%${++messages}` });
  }

  const server = createServer((req, res) => {
    const counted = connections.get(req.socket);
    if (counted) counted.requests++;
    const path = new URL(req.url ?? "/", "http://stub").pathname;
    const handled =
      req.method === "POST" && path === "/token"
        ? token(req, res)
        : req.method === "POST" && path.startsWith("/v1/")
          ? send(req, res, path)
          : undefined;
    if (!handled)
      return answer(res, 404, { error: { code: 404, status: "NOT_FOUND", message: `${req.method} ${path}` } });
    handled.catch((error: unknown) =>
      answer(res, 500, { error: { code: 500, status: "INTERNAL", message: String(error) } }),
    );
  });
  // Node closes an idle kept-alive connection after 5 s; keep it for a minute, so that whether a send
  // comes on a reused connection does not depend on how long a test took between two sends.
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => connections.set(socket, { number: ++connectionCount, requests: 0 }));
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenUri = `${endpoint}/token`;
  return {
    endpoint,
    tokenUri,
    tokenRequests,
    sends,
    unregister: (registrationToken) => void unregistered.add(registrationToken),
    hangUp: (registrationToken) => void hungUp.add(registrationToken),
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
