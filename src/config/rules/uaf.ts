/**
 * The FIDO UAF server: its authenticators need it enabled; the API access key is hashed outside
 * development, as is any relaxation of registration authorization; facet IDs, metadata roots and AAIDs
 * are each well formed and listed once.
 */
import { checkFacetId } from "../../uaf/facets";
import type { ParsedConfig } from "../schema";
import { firstOccurrences, readCertificate } from "./shared";

export function uafProblems(config: ParsedConfig): string[] {
  const problems: string[] = [];
  const uaf = config.uaf;
  const development = config.environment === "development";
  config.authenticators.forEach((authenticator, i) => {
    if (authenticator.type.startsWith("uaf-") && !uaf.enabled)
      problems.push(`authenticators[${i}].type: ${authenticator.type} needs the UAF server (uaf.enabled is false)`);
  });
  if (uaf.api_access_key !== undefined && uaf.api_access_key_hash !== undefined)
    problems.push("uaf.api_access_key_hash: give at most one of api_access_key or api_access_key_hash");
  if (uaf.api_access_key !== undefined && !development) {
    problems.push(
      'uaf.api_access_key: plain-text keys are only accepted when environment is "development"; use api_access_key_hash (npm run hash-secret -- <key>)',
    );
  }
  if (uaf.authorization === "none" && !development) {
    problems.push(
      'uaf.authorization: "none" (no authorization of in-app registration) is only allowed when environment is "development"',
    );
  }
  uaf.facets.forEach((facet, i) => {
    const checked = checkFacetId(facet);
    if (!checked.ok) problems.push(`uaf.facets[${i}]: not a facet ID (${checked.reason})`);
  });
  uaf.attestation.metadata_roots.forEach((pem, i) => {
    const read = readCertificate(pem, `uaf.attestation.metadata_roots[${i}]`);
    if ("problem" in read) problems.push(read.problem);
  });
  const firstAaid = firstOccurrences();
  uaf.aaids.forEach((aaid, i) => {
    const first = firstAaid(aaid, i);
    if (first !== undefined)
      problems.push(`uaf.aaids[${i}]: duplicate value ${JSON.stringify(aaid)} (also uaf.aaids[${first}])`);
  });
  return problems;
}
