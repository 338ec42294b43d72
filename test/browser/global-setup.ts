/**
 * Global setup of the "browser" vitest project: runs once before its test files. Without Chromium it
 * prints one line saying how to install it (the test files then skip), or, when
 * HAAPI_EDGE_REQUIRE_CHROMIUM=1, fails the run.
 */
import { chromiumRequired, findChromium, INSTALL_HINT } from "./chromium";

export default function setup(): void {
  const lookup = findChromium();
  if (lookup.path !== null) return;
  if (chromiumRequired()) throw new Error(`HAAPI_EDGE_REQUIRE_CHROMIUM=1, and ${lookup.why}: ${INSTALL_HINT}.`);
  console.warn(`\n*** ${lookup.why}, so the browser tests (test/browser) are skipped: ${INSTALL_HINT}. ***\n`);
}
