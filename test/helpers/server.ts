/**
 * Drive the Worker the way a client would: real HTTP requests into the real Worker, real Durable Objects.
 */
import { exports } from "cloudflare:workers";

export const BASE = "http://127.0.0.1:8787";
export const TOKEN_URL = `${BASE}/oauth/v2/oauth-token`;

export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${btoa(`${encode(clientId)}:${encode(secret)}`)}`;
}

export interface TokenRequest {
  body?: Record<string, string> | string;
  headers?: Record<string, string>;
  cf?: Record<string, unknown>;
}

export function tokenRequest({ body = {}, headers = {}, cf }: TokenRequest): Promise<Response> {
  const init: RequestInit & { cf?: unknown } = {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: typeof body === "string" ? body : new URLSearchParams(body).toString(),
  };
  if (cf) init.cf = cf;
  return exports.default.fetch(TOKEN_URL, init);
}

export async function jsonOf(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}
