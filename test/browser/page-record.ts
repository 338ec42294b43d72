/**
 * What a page said while a test drove it: console messages (of every frame), uncaught errors and
 * failed requests, to put in a failing assertion's message.
 */
import type { Page } from "playwright-core";

export interface PageRecord {
  readonly lines: string[];
  /** Everything recorded, one line each. */
  text(): string;
}

export function recordPage(page: Page): PageRecord {
  const lines: string[] = [];
  page.on("console", (message) =>
    lines.push(`console.${message.type()} [${message.location().url || "?"}] ${message.text()}`),
  );
  page.on("pageerror", (error) => lines.push(`pageerror ${error.name}: ${error.message}`));
  page.on("requestfailed", (request) =>
    lines.push(`requestfailed ${request.method()} ${request.url()}: ${request.failure()?.errorText ?? "?"}`),
  );
  return { lines, text: () => lines.join("\n") || "(nothing)" };
}
