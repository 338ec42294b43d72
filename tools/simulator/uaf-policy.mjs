// The UAF policy check a FIDO UAF client runs before it lets an authenticator answer a request
// (UAF Protocol v1.1 §3.4.1 Policy, §3.4.2 MatchCriteria): the simulated authenticator must match one
// `accepted` set and no `disallowed` entry. An independent second implementation: the server has its
// own policy builder and checks (src/uaf/), and the simulator must not borrow them.
//
// What is modelled of MatchCriteria: aaid, keyIDs, authenticationAlgorithms, assertionSchemes,
// attestationTypes. The authenticator-metadata criteria (userVerification, keyProtection,
// matcherProtection, attachmentHint, tcDisplay, exts, ...) are not: the simulator treats them as met.
// An `accepted` set is an AND of authenticators used together; one simulated authenticator can only
// satisfy a set of one.
// Plain ESM, no dependencies: runs in Node 22 and workerd.

/** ATTESTATION_BASIC_SURROGATE: the only attestation the simulator produces. */
const SURROGATE_ATTESTATION = 0x3e08;

/**
 * @typedef {object} MatchCriteria
 * @property {string[]} [aaid]
 * @property {string[]} [keyIDs] base64url
 * @property {number[]} [authenticationAlgorithms]
 * @property {string[]} [assertionSchemes]
 * @property {number[]} [attestationTypes]
 */

/**
 * @typedef {object} Policy
 * @property {MatchCriteria[][]} accepted
 * @property {MatchCriteria[]} [disallowed]
 */

/**
 * The authenticator being checked.
 * @typedef {object} Candidate
 * @property {string} aaid
 * @property {string[]} keyIds base64url: the key being used (authentication), or the keys this
 *   authenticator already registered for the user (registration, where `disallowed` lists them)
 * @property {number} signAlg
 */

/**
 * Whether one MatchCriteria matches the candidate.
 * @param {MatchCriteria} criteria
 * @param {Candidate} candidate
 * @returns {boolean}
 */
function matchesCriteria(criteria, candidate) {
  if (criteria.aaid !== undefined && !criteria.aaid.includes(candidate.aaid)) return false;
  if (
    criteria.keyIDs !== undefined &&
    !candidate.keyIds.some((k) => /** @type {string[]} */ (criteria.keyIDs).includes(k))
  )
    return false;
  if (criteria.authenticationAlgorithms !== undefined && !criteria.authenticationAlgorithms.includes(candidate.signAlg))
    return false;
  if (criteria.assertionSchemes !== undefined && !criteria.assertionSchemes.includes("UAFV1TLV")) return false;
  if (criteria.attestationTypes !== undefined && !criteria.attestationTypes.includes(SURROGATE_ATTESTATION))
    return false;
  return true;
}

/**
 * Why the policy refuses the candidate, or undefined when it accepts it.
 * @param {Policy | undefined} policy the request's policy
 * @param {Candidate} candidate
 * @returns {string | undefined}
 *
 * @example policyRefusal({ accepted: [[{ aaid: ["F1D0#0001"] }]] }, { aaid: "F1D0#0002", keyIds: [], signAlg: 1 })
 * // 'F1D0#0002 matches no accepted set of the policy ([[{"aaid":["F1D0#0001"]}]])'
 */
export function policyRefusal(policy, candidate) {
  if (!policy || !Array.isArray(policy.accepted)) return "the request has no policy.accepted";
  const blocked = (policy.disallowed ?? []).find((criteria) => matchesCriteria(criteria, candidate));
  if (blocked) return `${candidate.aaid} is disallowed by the policy (${JSON.stringify(blocked)})`;
  const accepted = policy.accepted.some(
    (set) => Array.isArray(set) && set.length === 1 && set[0] !== undefined && matchesCriteria(set[0], candidate),
  );
  if (!accepted)
    return `${candidate.aaid}${candidate.keyIds.length ? ` (keyID ${candidate.keyIds.join(", ")})` : ""} matches no accepted set of the policy (${JSON.stringify(policy.accepted)})`;
  return undefined;
}
