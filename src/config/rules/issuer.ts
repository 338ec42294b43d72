/** The issuer: an origin, and https outside development (except on a loopback address). */
import { LOOPBACK_HOSTS } from "../../protocol";
import type { ParsedConfig } from "../schema";

export function issuerProblems(config: ParsedConfig): string[] {
  const problems: string[] = [];
  const issuer = new URL(config.issuer);
  if (issuer.pathname !== "/" || issuer.search || issuer.hash || config.issuer.endsWith("/")) {
    problems.push(
      `issuer: must be an origin without path, query, fragment or trailing slash (got ${JSON.stringify(config.issuer)})`,
    );
  }
  if (issuer.protocol === "http:" && config.environment !== "development" && !LOOPBACK_HOSTS.has(issuer.hostname)) {
    problems.push(`issuer: must use https outside development (got ${JSON.stringify(config.issuer)})`);
  }
  return problems;
}
