/**
 * Step: read the POST to the CAT endpoint. Form-encoded, size-limited, no repeated parameters;
 * `challenge` and `challenge_response` required; `challenge_response` is JSON naming its platform:
 *
 *   {"platform":"android","certificate_chain":["<base64 DER>", ...]}           leaf first
 *   {"platform":"ios","key_id":"<base64>","attestation_object":"<base64 CBOR>"}  a new App Attest key
 *   {"platform":"ios","key_id":"<base64>","assertion":"<base64 CBOR>"}           a key attested before
 *   {"platform":"web","origin":"https://app.example"}  from the web driver's iframe: the embedding origin
 *   {"platform":"web"}                                    a direct request: its Origin header is the app's
 *
 * Every problem is a 400 invalid_request that names the field.
 */
import { createMiddleware } from "hono/factory";
import { OAuthError } from "../../errors";
import { isFormContentType, parseForm, readBodyLimited } from "../../http/form";
import type { AppEnv } from "../context";
import type { CatReason, RequestReason } from "../oauth-reasons";

export type ChallengeResponse =
  | { readonly platform: "android"; readonly chain: readonly Uint8Array[] }
  | {
      readonly platform: "ios";
      readonly keyId: Uint8Array;
      readonly attestationObject: Uint8Array;
      readonly assertion?: undefined;
    }
  | {
      readonly platform: "ios";
      readonly keyId: Uint8Array;
      readonly assertion: Uint8Array;
      readonly attestationObject?: undefined;
    }
  | { readonly platform: "web"; readonly origin?: string };

export interface CatRequest {
  readonly challenge: string;
  readonly response: ChallengeResponse;
}

const MAX_CHAIN = 10;
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/** invalid_request; the public text names the member, and the log says why too. */
const invalid = (
  description: string,
  reason: CatReason | RequestReason = "challenge_response_malformed",
  detail?: Readonly<Record<string, unknown>>,
) => new OAuthError("invalid_request", description, { reason, detail: detail ?? { problem: description } });

/** Standard or URL-safe base64, padded or not; null when it is neither. */
function decodeBase64(value: unknown): Uint8Array | null {
  if (typeof value !== "string" || value.length === 0 || !BASE64.test(value)) return null;
  try {
    return Uint8Array.from(atob(value.replace(/-/g, "+").replace(/_/g, "/")), (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}

function bytesField(object: Record<string, unknown>, name: string): Uint8Array {
  const bytes = decodeBase64(object[name]);
  if (!bytes) throw invalid(`challenge_response.${name} must be a base64 string`);
  return bytes;
}

export function parseChallengeResponse(text: string): ChallengeResponse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid("challenge_response must be a JSON object");
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw invalid("challenge_response must be a JSON object");
  const object = value as Record<string, unknown>;
  switch (object.platform) {
    case "android": {
      const chain = object.certificate_chain;
      if (!Array.isArray(chain) || chain.length === 0 || chain.length > MAX_CHAIN) {
        throw invalid(
          `challenge_response.certificate_chain must be an array of 1 to ${MAX_CHAIN} base64 DER certificates, leaf first`,
        );
      }
      return {
        platform: "android",
        chain: chain.map((item, i) => {
          const der = decodeBase64(item);
          if (!der) throw invalid(`challenge_response.certificate_chain[${i}] must be a base64 DER certificate`);
          return der;
        }),
      };
    }
    case "ios": {
      const keyId = bytesField(object, "key_id");
      if ((object.attestation_object === undefined) === (object.assertion === undefined)) {
        throw invalid("challenge_response needs exactly one of attestation_object or assertion for platform ios");
      }
      return object.attestation_object !== undefined
        ? { platform: "ios", keyId, attestationObject: bytesField(object, "attestation_object") }
        : { platform: "ios", keyId, assertion: bytesField(object, "assertion") };
    }
    case "web": {
      if (object.origin === undefined) return { platform: "web" };
      if (typeof object.origin !== "string" || object.origin.length === 0 || object.origin.length > 300)
        throw invalid("challenge_response.origin must be the embedding page's origin (scheme://host[:port])");
      return { platform: "web", origin: object.origin };
    }
    default:
      throw invalid('challenge_response.platform must be "android", "ios" or "web"', "platform_unknown", {
        platform: String(object.platform).slice(0, 40),
      });
  }
}

export const parseCatRequest = createMiddleware<AppEnv & { Variables: { catRequest: CatRequest } }>(async (c, next) => {
  if (!isFormContentType(c.req.header("Content-Type") ?? null)) {
    throw invalid("content type must be application/x-www-form-urlencoded", "content_type_unsupported", {
      content_type: c.req.header("Content-Type")?.slice(0, 100) ?? null,
    });
  }
  const form = parseForm(await readBodyLimited(c.req.raw, c.get("config").limits.max_attestation_bytes));
  const challenge = form.get("challenge");
  const response = form.get("challenge_response");
  if (!challenge) throw invalid("challenge is required", "parameter_missing", { parameter: "challenge" });
  if (!response)
    throw invalid("challenge_response is required", "parameter_missing", { parameter: "challenge_response" });
  c.set("catRequest", { challenge, response: parseChallengeResponse(response) });
  await next();
});
