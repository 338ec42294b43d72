/**
 * Reading the JSON request bodies of the UAF services and the Authentication Cloud API at the edge
 * (docs/uaf.md "Messages"): the content type, a size limit (`limits.max_attestation_bytes`: UAF
 * responses carry attestations), JSON, then the shape (zod), with `context` strings parsed in turn.
 * Anything wrong is `invalid_request` naming the member, which the UAF services answer as a 1400
 * ServerResponse (app.ts), never a 500.
 */
import type { Context } from "hono";
import { z } from "zod";
import { AAID_PATTERN, USERNAME_PATTERN, USERNAME_RULE } from "../../protocol";
import { OAuthError } from "../../errors";
import { readBodyLimited } from "../../http/form";
import type { AppEnv } from "../context";

export const UAF_CONTENT_TYPE = "application/fido+uaf;charset=UTF-8";
const ACCEPTED_TYPES = new Set(["application/fido+uaf", "application/json"]);
export const username = z.string().regex(USERNAME_PATTERN, USERNAME_RULE);

export const getUafRequestSchema = z.strictObject({
  op: z.enum(["Reg", "Auth", "Dereg"]),
  previousRequest: z.string().max(65_536).optional(),
  context: z.string().max(16_384).optional(),
});

export const sendUafResponseSchema = z.strictObject({
  uafResponse: z.string().min(2),
  context: z.string().max(16_384).optional(),
});

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be base64url");

/** A public EC P-256 JWK (the device's Device-Signature key); private members are refused. */
export const publicEcJwk = z
  .looseObject({ kty: z.literal("EC"), crv: z.literal("P-256"), x: b64url, y: b64url })
  .refine((jwk) => !("d" in jwk), "must be a public key (no `d`)");

export const transactionSchema = z
  .array(z.strictObject({ contentType: z.enum(["text/plain", "image/png"]), content: b64url.max(8192) }))
  .min(1)
  .max(1);

export type UafOp = z.output<typeof getUafRequestSchema>["op"];

/** The `context` of a GetUAFRequest, by its `op`: the user, and what the operation needs besides. */
const GET_UAF_REQUEST_CONTEXT = {
  Reg: z.looseObject({ username }),
  Auth: z.looseObject({ username, transaction: transactionSchema.optional() }),
  Dereg: z.looseObject({
    username,
    aaid: z.string().regex(AAID_PATTERN).optional(),
    keyID: b64url.max(400).optional(),
    deviceId: z.string().min(1).max(200).optional(),
  }),
} as const;

export type GetUafRequestContext<Op extends UafOp> = z.output<(typeof GET_UAF_REQUEST_CONTEXT)[Op]>;

/** A public encryption JWK (EC for ECDH-ES, or RSA for RSA-OAEP-256); private members are refused. */
export const encryptionJwk = z
  .looseObject({ kty: z.enum(["EC", "RSA"]) })
  .refine((jwk) => !("d" in jwk), "must be a public key (no `d`)");

export const deviceInformationSchema = z.looseObject({
  name: z.string().min(1).max(100),
  fcmRegistrationToken: z.string().min(1).max(4096).optional(),
  signatureKey: publicEcJwk.optional(),
  encryptionKey: encryptionJwk.optional(),
});

export const registrationResponseContextSchema = z.looseObject({
  deviceId: z.string().min(1).max(200),
  deviceInformation: deviceInformationSchema.optional(),
});

function describe(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.length ? issue.path.join(".") : "body";
  return `${path}: ${issue.message}`;
}

/** Validate `value` against `schema`; `invalid_request` naming the member otherwise. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const detail = describe(parsed.error);
    throw new OAuthError("invalid_request", `${where}: ${detail}`, {
      reason: "uaf_member_invalid",
      detail: { member: where, problem: detail },
    });
  }
  return parsed.data;
}

/** A JSON string member (`context`, `uafResponse`) parsed, or `invalid_request`. */
export function parseJsonString(value: string, where: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new OAuthError("invalid_request", `${where} is not JSON`, {
      reason: "uaf_member_not_json",
      detail: { member: where },
    });
  }
}

/** A GetUAFRequest's `context` (a JSON string) for `op`, parsed by that operation's schema; `where` names it. */
export function parseGetUafRequestContext<Op extends UafOp>(
  op: Op,
  context: string,
  where: string,
): GetUafRequestContext<Op> {
  // The schema is `op`'s own; TypeScript cannot follow `z.output` through the generic index.
  return parseWith(GET_UAF_REQUEST_CONTEXT[op], parseJsonString(context, where), where) as GetUafRequestContext<Op>;
}

/** The request body as JSON, with a UAF or JSON content type. */
export async function readJsonBody(c: Context<AppEnv>): Promise<unknown> {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!ACCEPTED_TYPES.has(type))
    throw new OAuthError("invalid_request", "Content-Type must be application/fido+uaf or application/json", {
      reason: "content_type_unsupported",
      detail: { content_type: type.slice(0, 60) },
    });
  return parseJsonString(await readBodyLimited(c.req.raw, c.get("config").limits.max_attestation_bytes), "body");
}

/** A UAF JSON answer (ReturnUAFRequest, ServerResponse). */
export function uafJson(c: Context<AppEnv>, body: unknown, status = 200): Response {
  return c.body(JSON.stringify(body), status as 200, { "Content-Type": UAF_CONTENT_TYPE, "Cache-Control": "no-store" });
}
