/**
 * UAF `serverData` (docs/uaf.md "serverData"): the server's own state, carried by the client in
 * every message header and returned unchanged, so nothing needs storing between request and
 * response except the spent challenges.
 *
 *   serverData = base64url(payload) "." base64url(HMAC-SHA-256(key, payload))
 *   payload    = JSON {"op","username"?,"challenge","exp","tx"?,"txh"?,"authority"?}   (exp: epoch seconds)
 *   key        = the server's serverData key (src/tokens/server-keys.ts: HKDF of the server secret)
 *
 * The MAC is over the payload's UTF-8 JSON bytes. Opening checks, in order: shape (malformed), MAC
 * (forged, compared in constant time), payload fields (malformed), expiry (expired). This does NOT
 * check that the challenge is unspent: the user's store does that atomically.
 *
 * Pure: the key and `now` are passed in.
 */
import { z } from "zod";
import { constantTimeEqual } from "../verifiers/constant-time";
import { fail, ok, type Result } from "../verifiers/result";
import { decodeBase64url, encodeBase64url } from "./base64url";
import { bufferSource } from "../bytes";

export interface ServerData {
  op: "Reg" | "Auth" | "Dereg";
  username?: string;
  challenge: string;
  /** Epoch seconds; the serverData is refused from this second on. */
  exp: number;
  /** The out-of-band transaction (its id), or the login session (`session:<id>`), this message belongs to. */
  tx?: string;
  /** base64url SHA-256 of the transaction content shown (authentication with a transaction text). */
  txh?: string;
  /**
   * What authorized an in-app registration request, re-checked at the response: `grant:<grant id>`,
   * `web-session:<browser session id>` or `device:<base64url SHA-256 of the device id>`.
   */
  authority?: string;
}

export type ServerDataReason = "server_data_malformed" | "server_data_forged" | "server_data_expired";

/** Longest serverData accepted (the header schema allows 1536 characters). */
const MAX_SERVER_DATA_CHARS = 1536;

const Payload = z.strictObject({
  op: z.enum(["Reg", "Auth", "Dereg"]),
  username: z.string().min(1).max(256).optional(),
  challenge: z.string().min(1).max(128),
  exp: z.number().int().min(0),
  tx: z.string().min(1).max(256).optional(),
  txh: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/)
    .optional(),
  authority: z
    .string()
    .regex(/^(?:(?:grant|web-session):[0-9a-f]{64}|device:[A-Za-z0-9_-]{43})$/)
    .optional(),
});

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

async function mac(key: CryptoKey, payload: Uint8Array): Promise<string> {
  return encodeBase64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, bufferSource(payload))));
}

/** Seal `data` into a serverData string. */
export async function sealServerData(key: CryptoKey, data: ServerData): Promise<string> {
  const checked = Payload.safeParse(data);
  if (!checked.success) throw new TypeError(`serverData payload: ${checked.error.issues[0]!.message}`);
  const payload = encoder.encode(JSON.stringify(checked.data));
  return `${encodeBase64url(payload)}.${await mac(key, payload)}`;
}

/** Open a serverData string sealed with `key`, at `now` (epoch seconds). */
export async function openServerData(
  key: CryptoKey,
  serverData: string,
  now: number,
): Promise<Result<ServerData, ServerDataReason>> {
  if (typeof serverData !== "string" || serverData.length > MAX_SERVER_DATA_CHARS)
    return fail("server_data_malformed", { why: "missing or too long" });
  const parts = serverData.split(".");
  if (parts.length !== 2) return fail("server_data_malformed", { why: "not two dot-separated parts" });
  const [payloadPart, macPart] = parts as [string, string];
  const payload = decodeBase64url(payloadPart);
  if (!payload || payload.length === 0 || !/^[A-Za-z0-9_-]{43}$/.test(macPart))
    return fail("server_data_malformed", { why: "parts are not base64url" });

  if (!constantTimeEqual(macPart, await mac(key, payload))) return fail("server_data_forged");

  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(payload));
  } catch {
    return fail("server_data_malformed", { why: "payload is not UTF-8 JSON" });
  }
  const parsed = Payload.safeParse(json);
  if (!parsed.success) return fail("server_data_malformed", { why: parsed.error.issues[0]!.message });
  if (now >= parsed.data.exp) return fail("server_data_expired", { exp: parsed.data.exp, now });
  return ok(parsed.data);
}
