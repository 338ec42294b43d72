/**
 * UAF policies (FIDO UAF Protocol v1.1 §3.4.2 MatchCriteria, §3.4.3 Policy) on the server side:
 * does an authenticator the client used satisfy the policy this server sent?
 *
 * - A MatchCriteria matches when every member it sets matches (AND). Lists (aaid, vendorID,
 *   keyIDs, authenticationAlgorithms, assertionSchemes, attestationTypes) match when the
 *   authenticator's value is in the list; bit fields (keyProtection, matcherProtection,
 *   attachmentHint, tcDisplay) when they share a bit; userVerification when they share a bit, or
 *   exactly when the criteria sets USER_VERIFY_ALL; authenticatorVersion when the authenticator's is
 *   at least that. AAIDs and vendor IDs compare case-insensitively (they are hex).
 * - `accepted` is an OR of AND-sets. For one authenticator, as in every registration this server
 *   asks for, "satisfies a set" means it matches one MatchCriteria of it (a set has one entry in
 *   single-authenticator policies); `disallowed` blocks whatever any of its entries matches.
 *
 * A member the server cannot evaluate (metadata it does not have, such as keyProtection without
 * metadata, or an extension with fail_if_unknown) never helps the authenticator: it fails a match in
 * `accepted` and counts as a match in `disallowed`.
 */
import type { MatchCriteria, Policy } from "./messages";

/** What the server knows about an authenticator when it checks a policy. */
export interface PolicyAuthenticator {
  readonly aaid: string;
  /** base64url. */
  readonly keyId?: string;
  readonly signAlg?: number;
  readonly assertionScheme?: string;
  /** TAG_ATTESTATION_BASIC_FULL (0x3E07) or TAG_ATTESTATION_BASIC_SURROGATE (0x3E08). */
  readonly attestationType?: number;
  readonly authenticatorVersion?: number;
  /** From metadata, when the server has it. */
  readonly userVerification?: number;
  readonly keyProtection?: number;
  readonly matcherProtection?: number;
  readonly attachmentHint?: number;
  readonly tcDisplay?: number;
}

const USER_VERIFY_ALL = 0x400;

type Outcome = "match" | "no_match" | "unknown";

const upper = (value: string): string => value.toUpperCase();

function listMember<T>(
  list: readonly T[] | undefined,
  value: T | undefined,
  same: (a: T, b: T) => boolean = (a, b) => a === b,
): Outcome {
  if (list === undefined) return "match";
  if (value === undefined) return "unknown";
  return list.some((item) => same(item, value)) ? "match" : "no_match";
}

function bits(criteria: number | undefined, value: number | undefined): Outcome {
  if (criteria === undefined) return "match";
  if (value === undefined) return "unknown";
  return (criteria & value) !== 0 ? "match" : "no_match";
}

function userVerification(criteria: number | undefined, value: number | undefined): Outcome {
  if (criteria === undefined) return "match";
  if (value === undefined) return "unknown";
  if (criteria & USER_VERIFY_ALL) return criteria === value ? "match" : "no_match";
  return (criteria & value) !== 0 ? "match" : "no_match";
}

/** One MatchCriteria against one authenticator: match, no match, or not decidable here. */
function evaluate(criteria: MatchCriteria, authenticator: PolicyAuthenticator): Outcome {
  const sameHex = (a: string, b: string): boolean => upper(a) === upper(b);
  const outcomes: Outcome[] = [
    listMember(criteria.aaid, authenticator.aaid, sameHex),
    listMember(criteria.vendorID, authenticator.aaid.slice(0, 4), sameHex),
    listMember(criteria.keyIDs, authenticator.keyId),
    listMember(criteria.authenticationAlgorithms, authenticator.signAlg),
    listMember(criteria.assertionSchemes, authenticator.assertionScheme),
    listMember(criteria.attestationTypes, authenticator.attestationType),
    userVerification(criteria.userVerification, authenticator.userVerification),
    bits(criteria.keyProtection, authenticator.keyProtection),
    bits(criteria.matcherProtection, authenticator.matcherProtection),
    bits(criteria.attachmentHint, authenticator.attachmentHint),
    bits(criteria.tcDisplay, authenticator.tcDisplay),
    criteria.authenticatorVersion === undefined
      ? "match"
      : authenticator.authenticatorVersion === undefined
        ? "unknown"
        : authenticator.authenticatorVersion >= criteria.authenticatorVersion
          ? "match"
          : "no_match",
    criteria.exts?.some((ext) => ext.fail_if_unknown) ? "unknown" : "match",
  ];
  if (outcomes.includes("no_match")) return "no_match";
  return outcomes.includes("unknown") ? "unknown" : "match";
}

/** Whether `authenticator` satisfies `policy`: matched by some accepted set, blocked by no disallowed entry. */
export function matchesPolicy(policy: Policy, authenticator: PolicyAuthenticator): boolean {
  const blocked = (policy.disallowed ?? []).some((criteria) => evaluate(criteria, authenticator) !== "no_match");
  if (blocked) return false;
  return policy.accepted.some((set) => set.some((criteria) => evaluate(criteria, authenticator) === "match"));
}

/**
 * Whether the policy names this AAID anywhere in `accepted` (or accepts some AAIDs without listing
 * them). Tells "an AAID this server does not know" (UAF 1480) from "a known AAID refused here" (1492).
 */
export function policyKnowsAaid(policy: Policy, aaid: string): boolean {
  return policy.accepted.some((set) =>
    set.some((criteria) => criteria.aaid === undefined || criteria.aaid.some((item) => upper(item) === upper(aaid))),
  );
}

/**
 * The registration policy this server sends: any one of `allowedAaids`, except the keys the user
 * already registered (`disallowed` by AAID and KeyID, so the client does not register them twice).
 */
export function registrationPolicy(
  allowedAaids: readonly string[],
  registered: readonly { aaid: string; keyId: string }[] = [],
): Policy {
  if (allowedAaids.length === 0) throw new TypeError("registrationPolicy needs at least one AAID");
  const disallowed = groupByAaid(registered).map(([aaid, keyIDs]) => ({ aaid: [aaid], keyIDs }));
  return { accepted: allowedAaids.map((aaid) => [{ aaid: [aaid] }]), ...(disallowed.length > 0 ? { disallowed } : {}) };
}

/** The authentication policy for a user's registered keys: any one of them. */
export function authenticationPolicy(registered: readonly { aaid: string; keyId: string }[]): Policy {
  if (registered.length === 0) throw new TypeError("authenticationPolicy needs at least one registered key");
  return { accepted: groupByAaid(registered).map(([aaid, keyIDs]) => [{ aaid: [aaid], keyIDs }]) };
}

function groupByAaid(keys: readonly { aaid: string; keyId: string }[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const { aaid, keyId } of keys) groups.set(upper(aaid), [...(groups.get(upper(aaid)) ?? []), keyId]);
  return [...groups];
}
