/**
 * The UAF 1.1 protocol messages as JSON (FIDO UAF Protocol Specification v1.1 §3), as zod schemas
 * and the types inferred from them. Requests are what this server builds; responses are what the
 * client sends back inside SendUAFResponse.uafResponse, a string holding a JSON array.
 *
 * Objects are not strict: UAF dictionaries are extensible and clients add members; unknown
 * members are dropped. Every string and array is bounded, so a hostile message costs little.
 * Semantic checks (versions, op, appID, challenge, TLV) are the verifiers' job, not the schema's.
 */
import { z } from "zod";
import { fail, ok, type Result } from "../verifiers/result";

/** The UAF media type (FIDO UAF HTTP transport). `;charset=UTF-8` may follow it. */
export const UAF_MEDIA_TYPE = "application/fido+uaf";

/** Upper bound of a SendUAFResponse.uafResponse string: room for several assertions with certificate chains. */
export const MAX_UAF_RESPONSE_CHARS = 64 * 1024;

const text = (max: number) => z.string().max(max);
const uint16 = z.number().int().min(0).max(0xffff);
const uint32 = z.number().int().min(0).max(0xffffffff);

export const Version = z.object({ major: uint16, minor: uint16 });
export type Version = z.infer<typeof Version>;

export const Extension = z.object({ id: text(32), data: text(8192), fail_if_unknown: z.boolean() });
export type Extension = z.infer<typeof Extension>;

const extensions = z.array(Extension).max(16);

export const Operation = z.enum(["Reg", "Auth", "Dereg"]);
export type Operation = z.infer<typeof Operation>;

export const OperationHeader = z.object({
  upv: Version,
  op: Operation,
  appID: text(512).optional(),
  serverData: text(1536).optional(),
  exts: extensions.optional(),
});
export type OperationHeader = z.infer<typeof OperationHeader>;

const aaid = text(9);
const keyId = text(2800);

export const MatchCriteria = z.object({
  aaid: z.array(aaid).max(64).optional(),
  vendorID: z.array(text(4)).max(64).optional(),
  keyIDs: z.array(keyId).max(64).optional(),
  userVerification: uint32.optional(),
  keyProtection: uint16.optional(),
  matcherProtection: uint16.optional(),
  attachmentHint: uint32.optional(),
  tcDisplay: uint16.optional(),
  authenticationAlgorithms: z.array(uint16).max(32).optional(),
  assertionSchemes: z.array(text(32)).max(8).optional(),
  attestationTypes: z.array(uint16).max(8).optional(),
  authenticatorVersion: uint16.optional(),
  exts: extensions.optional(),
});
export type MatchCriteria = z.infer<typeof MatchCriteria>;

export const Policy = z.object({
  accepted: z.array(z.array(MatchCriteria).min(1).max(8)).min(1).max(64),
  disallowed: z.array(MatchCriteria).max(64).optional(),
});
export type Policy = z.infer<typeof Policy>;

export const RegistrationRequest = z.object({
  header: OperationHeader,
  challenge: text(128),
  username: text(128),
  policy: Policy,
});
export type RegistrationRequest = z.infer<typeof RegistrationRequest>;

export const DisplayPngCharacteristicsDescriptor = z.object({
  width: uint32,
  height: uint32,
  bitDepth: z.number().int().min(0).max(255),
  colorType: z.number().int().min(0).max(255),
  compression: z.number().int().min(0).max(255),
  filter: z.number().int().min(0).max(255),
  interlace: z.number().int().min(0).max(255),
  plte: z
    .array(z.object({ r: uint16, g: uint16, b: uint16 }))
    .max(256)
    .optional(),
});

export const Transaction = z.object({
  contentType: text(64),
  /** base64url of the content the authenticator shows (text or PNG). */
  content: text(256 * 1024),
  tcDisplayPNGCharacteristics: DisplayPngCharacteristicsDescriptor.optional(),
});
export type Transaction = z.infer<typeof Transaction>;

export const AuthenticationRequest = z.object({
  header: OperationHeader,
  challenge: text(128),
  transaction: z.array(Transaction).min(1).max(4).optional(),
  policy: Policy,
});
export type AuthenticationRequest = z.infer<typeof AuthenticationRequest>;

export const DeregisterAuthenticator = z.object({ aaid, keyID: keyId });
export type DeregisterAuthenticator = z.infer<typeof DeregisterAuthenticator>;

export const DeregistrationRequest = z.object({
  header: OperationHeader,
  authenticators: z.array(DeregisterAuthenticator).min(1).max(64),
});
export type DeregistrationRequest = z.infer<typeof DeregistrationRequest>;

export const ChannelBinding = z.object({
  serverEndPoint: text(1024).optional(),
  tlsServerCertificate: text(16 * 1024).optional(),
  tlsUnique: text(1024).optional(),
  cid_pubkey: text(4096).optional(),
});
export type ChannelBinding = z.infer<typeof ChannelBinding>;

/** The decoded fcParams (its base64url string is what FINAL_CHALLENGE_HASH covers). */
export const FinalChallengeParams = z.object({
  appID: text(512),
  challenge: text(128),
  facetID: text(512),
  channelBinding: ChannelBinding,
});
export type FinalChallengeParams = z.infer<typeof FinalChallengeParams>;

export const AuthenticatorSignAssertion = z.object({
  assertionScheme: text(32),
  assertion: text(16 * 1024),
  exts: extensions.optional(),
});
export type AuthenticatorSignAssertion = z.infer<typeof AuthenticatorSignAssertion>;

const response = z.object({
  header: OperationHeader,
  fcParams: text(8192),
  assertions: z.array(AuthenticatorSignAssertion).min(1).max(16),
});

export const RegistrationResponse = response;
export type RegistrationResponse = z.infer<typeof RegistrationResponse>;
export const AuthenticationResponse = response;
export type AuthenticationResponse = z.infer<typeof AuthenticationResponse>;

const pathOf = (path: readonly PropertyKey[]): string =>
  path
    .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
    .join("")
    .replace(/^\./, "") || "(root)";

/**
 * Parse SendUAFResponse.uafResponse: a JSON array with exactly one response (a UAF client answers
 * a request array with the one message it processed, UAF Protocol v1.1 §3.1). The header's op is
 * not checked here (the verifiers refuse a wrong op with their own reason); `op` picks the type.
 * `detail.path` names the first bad member, e.g. "[0].assertions[0].assertion".
 */
export function parseUafResponse(
  uafResponse: string,
  op: "Reg",
): Result<RegistrationResponse[], "uaf_response_malformed">;
export function parseUafResponse(
  uafResponse: string,
  op: "Auth",
): Result<AuthenticationResponse[], "uaf_response_malformed">;
export function parseUafResponse(
  uafResponse: string,
  op: "Reg" | "Auth",
): Result<(RegistrationResponse | AuthenticationResponse)[], "uaf_response_malformed">;
export function parseUafResponse(
  uafResponse: string,
  op: "Reg" | "Auth",
): Result<(RegistrationResponse | AuthenticationResponse)[], "uaf_response_malformed"> {
  if (typeof uafResponse !== "string") return fail("uaf_response_malformed", { path: "(root)", why: "not a string" });
  if (uafResponse.length > MAX_UAF_RESPONSE_CHARS)
    return fail("uaf_response_malformed", { path: "(root)", why: `longer than ${MAX_UAF_RESPONSE_CHARS} characters` });
  let json: unknown;
  try {
    json = JSON.parse(uafResponse);
  } catch {
    return fail("uaf_response_malformed", { path: "(root)", why: "not JSON" });
  }
  const schema = z.array(op === "Reg" ? RegistrationResponse : AuthenticationResponse).length(1);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail("uaf_response_malformed", { path: pathOf(issue.path), why: issue.message });
  }
  return ok(parsed.data);
}
