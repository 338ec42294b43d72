/**
 * Firebase Cloud Messaging HTTP v1 API (its reference, `projects.messages.send`):
 * the push dispatcher of out-of-band UAF operations.
 *
 * Credentials: a Google service account (the FCM_SERVICE_ACCOUNT secret: `project_id`, `client_email`,
 * `private_key` PKCS#8 PEM). Its access token comes from the OAuth 2.0 JWT bearer grant (RFC 7523) at
 * `token_uri`, and is cached per isolate until shortly before it expires. Both URLs are configurable,
 * so tests (and emulators) point them at a local stub.
 */
import { importPKCS8, SignJWT } from "jose";
import { z } from "zod";

const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";

const serviceAccountSchema = z.looseObject({
  project_id: z.string().regex(/^[a-z0-9-]{1,100}$/),
  client_email: z.string().min(3).max(320),
  private_key: z.string().includes("PRIVATE KEY"),
});

export type ServiceAccount = z.output<typeof serviceAccountSchema>;

export class FcmError extends Error {
  override readonly name = "FcmError";
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** The service account from the secret, or why it is unusable (never echoing the secret). */
export function parseServiceAccount(secret: string | undefined): ServiceAccount {
  if (!secret) throw new FcmError("fcm_not_configured", "FCM_SERVICE_ACCOUNT is not set");
  let json: unknown;
  try {
    json = JSON.parse(secret);
  } catch {
    throw new FcmError("fcm_service_account_not_json", "FCM_SERVICE_ACCOUNT is not JSON");
  }
  const parsed = serviceAccountSchema.safeParse(json);
  if (!parsed.success)
    throw new FcmError(
      "fcm_service_account_invalid",
      `FCM_SERVICE_ACCOUNT: ${parsed.error.issues[0]!.path.join(".")} is missing or malformed`,
    );
  return parsed.data;
}

export interface FcmEndpoints {
  readonly endpoint: string;
  readonly tokenUri: string;
}

const tokens = new Map<string, { token: string; until: number }>();

/** fetch, with a network failure (refused, reset, DNS) as an FcmError rather than an internal error. */
async function post(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, { ...init, method: "POST" });
  } catch (error) {
    throw new FcmError(
      "fcm_unreachable",
      `${what} is unreachable: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

async function accessToken(account: ServiceAccount, endpoints: FcmEndpoints, now: number): Promise<string> {
  const cacheKey = `${account.client_email}\u0000${endpoints.tokenUri}`;
  const cached = tokens.get(cacheKey);
  if (cached && cached.until > now) return cached.token;
  let key: CryptoKey;
  try {
    key = await importPKCS8(account.private_key, "RS256");
  } catch {
    throw new FcmError("fcm_private_key_invalid", "FCM_SERVICE_ACCOUNT.private_key is not an RSA PKCS#8 key");
  }
  const assertion = await new SignJWT({ scope: FCM_SCOPE })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(account.client_email)
    .setSubject(account.client_email)
    .setAudience(endpoints.tokenUri)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(key);
  const response = await post(
    endpoints.tokenUri,
    {
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
    },
    "the token endpoint",
  );
  const body = (await response.json().catch(() => null)) as { access_token?: unknown; expires_in?: unknown } | null;
  if (!response.ok || typeof body?.access_token !== "string")
    throw new FcmError("fcm_token_refused", `the token endpoint answered ${response.status}`);
  const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 3600;
  tokens.set(cacheKey, { token: body.access_token, until: now + Math.max(0, expiresIn - 60) });
  return body.access_token;
}

export interface FcmMessage {
  /** The device's FCM registration token. */
  readonly token: string;
  /** FCM data values are strings. */
  readonly data: Readonly<Record<string, string>>;
  readonly notification?: { readonly title: string; readonly body: string };
}

/** Send one message; returns FCM's message name (`projects/<id>/messages/<id>`). */
export async function sendFcmMessage(
  account: ServiceAccount,
  endpoints: FcmEndpoints,
  message: FcmMessage,
  now: number,
): Promise<string> {
  const bearer = await accessToken(account, endpoints, now);
  const response = await post(
    `${endpoints.endpoint.replace(/\/$/, "")}/v1/projects/${account.project_id}/messages:send`,
    {
      headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        message: {
          token: message.token,
          data: message.data,
          ...(message.notification ? { notification: message.notification } : {}),
          android: { priority: "high" },
          apns: { headers: { "apns-priority": "10" } },
        },
      }),
    },
    "FCM",
  );
  const body = (await response.json().catch(() => null)) as { name?: unknown; error?: { status?: unknown } } | null;
  if (!response.ok || typeof body?.name !== "string") {
    const status = typeof body?.error?.status === "string" ? body.error.status : String(response.status);
    // UNREGISTERED / NOT_FOUND: the app was uninstalled or the token rotated.
    throw new FcmError(
      status === "UNREGISTERED" || status === "NOT_FOUND" ? "fcm_target_expired" : "fcm_send_failed",
      `FCM answered ${status}`,
    );
  }
  return body.name;
}
