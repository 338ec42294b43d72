#!/usr/bin/env node
// Renders docs/configuration.md from the configuration schema (src/config/schema.ts), the one home
// of every option, its default and its description. Run: npm run docs:config
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { z } from "zod";

// src/ imports its own modules without an extension (bundler resolution); Node needs the `.ts`.
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!specifier.startsWith(".") || error?.code !== "ERR_MODULE_NOT_FOUND") throw error;
      return nextResolve(`${specifier}.ts`, context);
    }
  },
});
const { configSchema } = await import("../src/config/schema.ts");

const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" });
const rows = [];

function typeOf(node) {
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (node.anyOf) return node.anyOf.map(typeOf).join(" | ");
  if (node.type === "array") return `array of ${node.items ? typeOf(node.items) : "any"}`;
  if (node.type === "integer") return `integer${node.minimum !== undefined ? ` ${node.minimum}..${node.maximum}` : ""}`;
  return node.type ?? "any";
}

function walk(node, path, required) {
  if (node.type === "object" && node.properties) {
    if (path) rows.push({ path, type: "object", required, fallback: node.default, text: node.description ?? "" });
    for (const [name, child] of Object.entries(node.properties)) {
      walk(child, path ? `${path}.${name}` : name, (node.required ?? []).includes(name) && child.default === undefined);
    }
    return;
  }
  if (
    node.type === "object" &&
    node.additionalProperties &&
    typeof node.additionalProperties === "object" &&
    node.additionalProperties.properties
  ) {
    // A map from names to objects (named attestation policies).
    rows.push({ path, type: "map of name to object", required, fallback: node.default, text: node.description ?? "" });
    walk(node.additionalProperties, `${path}.<name>`, false);
    return;
  }
  if (node.type === "array" && node.items?.type === "object") {
    rows.push({ path, type: "array of objects", required, fallback: node.default, text: node.description ?? "" });
    walk(node.items, `${path}[]`, false);
    return;
  }
  rows.push({ path, type: typeOf(node), required, fallback: node.default, text: node.description ?? "" });
}

walk(schema, "", false);
const cell = (text) => String(text).replace(/\|/g, "\\|").replace(/\n/g, " ");
const lines = [
  "# Configuration reference",
  "",
  "Generated from `src/config/schema.ts` by `npm run docs:config`; do not edit by hand.",
  "The document is the `CONFIG` binding (a JSON string or object); without it the bundled development",
  "configuration (`src/config/development.json`) is used. It is validated when the Worker starts, and every",
  'invalid field is reported by its path, e.g. `clients[2].token_endpoint_auth_method: unsupported value "foo"`.',
  "",
  "| field | type | default | description |",
  "| --- | --- | --- | --- |",
  ...rows.map(
    (row) =>
      `| \`${row.path}\` | ${cell(row.type)} | ${row.required ? "**required**" : row.fallback === undefined ? "" : `\`${cell(JSON.stringify(row.fallback))}\``} | ${cell(row.text)} |`,
  ),
  "",
  "Secrets are not part of this document: `SIGNING_KEYS` (a JWK set of EC P-256 private keys, the first one signs)",
  "and `SERVER_SECRET` (at least 32 characters, the key for stateless DPoP nonces) are Worker secrets",
  "(`wrangler secret put`). Without them a key-manager Durable Object generates, stores and rotates both.",
  "",
];
writeFileSync(new URL("../docs/configuration.md", import.meta.url), lines.join("\n"));
console.log(`wrote docs/configuration.md (${rows.length} fields)`);
