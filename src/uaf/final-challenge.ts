/**
 * The checks every UAF response shares (FIDO UAF Protocol v1.1 §3.4.6.5 and §3.5.7.5, server
 * processing rules): the operation header, then fcParams, the client's FinalChallengeParams.
 *
 * - header: upv 1.0 or 1.1 (the Nevis SDKs send 1.1, the spec examples 1.0; the messages do not
 *   differ), op as expected, appID exactly ours;
 * - fcParams: base64url (with or without `=` padding) of a JSON object whose appID is ours, whose
 *   challenge is the one issued, whose facetID is a trusted facet, or equals the appID (a client
 *   called without an appID uses its own facet ID as the appID, UAF Protocol §3.1.2; the eBay
 *   Android vector does this), and whose channelBinding is an object. Its members are not compared:
 *   a Worker does not see its own TLS channel, so every binding is accepted (UAF allows this).
 *
 * Returns SHA-256 of the fcParams string exactly as received (UTF-8): FINAL_CHALLENGE_HASH must
 * equal it. This does NOT check serverData (the route opens it and passes the challenge).
 */
import { sha256 } from "../hash";
import { constantTimeEqual } from "../verifiers/constant-time";
import { fail, ok, type Result } from "../verifiers/result";
import { decodeBase64url } from "./base64url";
import { ChannelBinding, FinalChallengeParams, type OperationHeader } from "./messages";

export type FinalChallengeReason =
  | "upv_unsupported"
  | "op_mismatch"
  | "app_id_mismatch"
  | "fc_params_malformed"
  | "fc_params_app_id_mismatch"
  | "challenge_mismatch"
  | "facet_not_trusted"
  | "channel_binding_invalid";

export interface ExpectedFinalChallenge {
  readonly op: "Reg" | "Auth";
  readonly appId: string;
  readonly challenge: string;
  readonly trustedFacetIds: readonly string[];
}

export interface CheckedFinalChallenge {
  readonly fcParams: FinalChallengeParams;
  /** SHA-256 of the fcParams string as received. */
  readonly hash: Uint8Array;
}

const SUPPORTED_MINOR_VERSIONS = [0, 1];
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function checkHeader(
  header: OperationHeader,
  expected: Pick<ExpectedFinalChallenge, "op" | "appId">,
): Result<null, FinalChallengeReason> {
  if (header.upv.major !== 1 || !SUPPORTED_MINOR_VERSIONS.includes(header.upv.minor)) {
    return fail("upv_unsupported", { upv: `${header.upv.major}.${header.upv.minor}` });
  }
  if (header.op !== expected.op) return fail("op_mismatch", { expected: expected.op, actual: header.op });
  if (header.appID !== expected.appId)
    return fail("app_id_mismatch", { expected: expected.appId, actual: header.appID ?? null });
  return ok(null);
}

function decodeFcParams(fcParams: string): Result<{ json: Record<string, unknown> }, FinalChallengeReason> {
  const bytes = decodeBase64url(fcParams);
  if (!bytes) return fail("fc_params_malformed", { why: "not base64url" });
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch {
    return fail("fc_params_malformed", { why: "not UTF-8 JSON" });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return fail("fc_params_malformed", { why: "not a JSON object" });
  return ok({ json: json as Record<string, unknown> });
}

export async function checkFinalChallenge(
  fcParams: string,
  expected: ExpectedFinalChallenge,
): Promise<Result<CheckedFinalChallenge, FinalChallengeReason>> {
  const decoded = decodeFcParams(fcParams);
  if (!decoded.ok) return decoded;
  const { json } = decoded.value;
  // channelBinding separately: a wrong one is UAF 1490, not a malformed message.
  if (!ChannelBinding.safeParse(json.channelBinding).success) return fail("channel_binding_invalid");
  const parsed = FinalChallengeParams.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return fail("fc_params_malformed", { path: issue.path.join("."), why: issue.message });
  }
  const params = parsed.data;
  if (params.appID !== expected.appId)
    return fail("fc_params_app_id_mismatch", { expected: expected.appId, actual: params.appID });
  if (!constantTimeEqual(params.challenge, expected.challenge)) return fail("challenge_mismatch");
  if (!expected.trustedFacetIds.includes(params.facetID) && params.facetID !== expected.appId) {
    return fail("facet_not_trusted", { facetID: params.facetID });
  }
  const hash = await sha256(fcParams);
  return ok({ fcParams: params, hash });
}

/** Header and fcParams of a response to an `op` request, in that order. */
export async function checkResponseEnvelope(
  response: { header: OperationHeader; fcParams: string },
  op: ExpectedFinalChallenge["op"],
  expected: Omit<ExpectedFinalChallenge, "op">,
): Promise<Result<CheckedFinalChallenge, FinalChallengeReason>> {
  const header = checkHeader(response.header, { op, appId: expected.appId });
  if (!header.ok) return header;
  const { appId, challenge, trustedFacetIds } = expected;
  return checkFinalChallenge(response.fcParams, { op, appId, challenge, trustedFacetIds });
}
