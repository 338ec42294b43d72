/**
 * Attestation: an attesting client is a HAAPI client, configures at least one platform and names only
 * policies that exist; the policies' trust anchors are readable certificates; and what weakens
 * attestation (skipping validation, the chain, software roots, the simulator's test CA) is allowed
 * only when environment is "development".
 */
import { HAAPI_SCOPE } from "../../protocol";
import type { ClientConfig, ParsedConfig } from "../schema";
import { type At, readCertificate } from "./shared";

/** Subject of the simulator's local test CA (tools/simulator, dev/test-ca): never trusted in production. */
const TEST_CA_MARKER = "haapi-edge development test CA";

/** Android policy switches that weaken the chain check. */
const ANDROID_DEVELOPMENT_ONLY = ["do_not_validate_certificate_chain", "allow_software_root"] as const;

/** A configured (non-template) client's `attestation`. */
export function clientAttestationProblems(client: ClientConfig, at: At, config: ParsedConfig): string[] {
  const attestation = client.attestation;
  if (!attestation) return [];
  const problems: string[] = [];
  if (!client.capabilities.haapi || !client.scope.split(" ").includes(HAAPI_SCOPE)) {
    problems.push(`${at("attestation")}: an attesting client needs capabilities.haapi and ${HAAPI_SCOPE} in its scope`);
  }
  if (!attestation.android && !attestation.ios && !attestation.web) {
    problems.push(`${at("attestation")}: configure at least one of android, ios or web`);
  }
  for (const platform of ["android", "ios", "web"] as const) {
    const name = attestation[platform]?.policy;
    if (name !== undefined && !(name in config.attestation_policies[platform])) {
      problems.push(
        `${at(`attestation.${platform}.policy`)}: no policy named ${JSON.stringify(name)} in attestation_policies.${platform}`,
      );
    }
  }
  if (attestation.disable_attestation_validation && config.environment !== "development") {
    problems.push(
      `${at("attestation.disable_attestation_validation")}: only allowed when environment is "development"`,
    );
  }
  return problems;
}

/** The named policies in attestation_policies: each Android one's trust anchors and switches, then each iOS one's anchors. */
export function attestationPolicyProblems(config: ParsedConfig): string[] {
  return [
    ...trustAnchorProblems(config, "android"),
    ...androidDevelopmentOnlyProblems(config),
    ...trustAnchorProblems(config, "ios"),
  ];
}

function trustAnchorProblems(config: ParsedConfig, platform: "android" | "ios"): string[] {
  return Object.entries(config.attestation_policies[platform]).flatMap(([name, policy]) =>
    (policy.trust_anchors ?? []).flatMap((pem: string, i: number) => {
      const at = `attestation_policies.${platform}.${name}.trust_anchors[${i}]`;
      const read = readCertificate(pem, at);
      if ("problem" in read) return [read.problem];
      return read.anchor.label.includes(TEST_CA_MARKER) && config.environment !== "development"
        ? [`${at}: the simulator's test CA is trusted only when environment is "development"`]
        : [];
    }),
  );
}

/** Android policies only: iOS and web policies have no such switches. */
function androidDevelopmentOnlyProblems(config: ParsedConfig): string[] {
  if (config.environment === "development") return [];
  return Object.entries(config.attestation_policies.android).flatMap(([name, policy]) =>
    ANDROID_DEVELOPMENT_ONLY.filter((field) => policy[field]).map(
      (field) => `attestation_policies.android.${name}.${field}: only allowed when environment is "development"`,
    ),
  );
}
