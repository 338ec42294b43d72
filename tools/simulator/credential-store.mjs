// Where the simulator keeps a dynamic client's credentials between runs (Node only), as a HAAPI SDK
// persists them in the app's storage: registered once, then reused for every later HAAPI token.
// A plain JSON file, readable by its owner only. Test use only: it holds a client secret in plain text.

import { readFile, writeFile } from "node:fs/promises";
import { fail } from "./cli-io.mjs";

/**
 * @typedef {object} StoredClient
 * @property {string} server the issuer the client was registered at
 * @property {string} main_client_id the main client whose credential authorized the registration
 * @property {string} registered_at ISO 8601
 * @property {Record<string, any> & { client_id: string, client_secret: string }} registration
 *   the registration response (RFC 7591 §3.2.1) as received, with the secret and the registration access token
 */

/**
 * The stored client, or undefined when the file does not exist.
 * @param {string} file
 * @returns {Promise<StoredClient | undefined>}
 */
export async function loadClient(file) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code === "ENOENT") return undefined;
    return fail(`--credentials ${file}: cannot read it (${/** @type {Error} */ (e).message})`);
  }
  /** @type {any} */
  let stored;
  try {
    stored = JSON.parse(text);
  } catch {
    return fail(`--credentials ${file}: not JSON; delete it to register a new client`);
  }
  const registration = stored?.registration;
  if (
    typeof stored?.server !== "string" ||
    typeof registration?.client_id !== "string" ||
    typeof registration?.client_secret !== "string"
  ) {
    return fail(
      `--credentials ${file}: not a stored dynamic client with a secret ({server, registration: {client_id, client_secret}}); delete it to register a new client`,
    );
  }
  return stored;
}

/**
 * Write the client to `file` (mode 0600), replacing what was there.
 * @param {string} file
 * @param {StoredClient} client
 * @returns {Promise<void>}
 */
export async function saveClient(file, client) {
  try {
    await writeFile(file, `${JSON.stringify(client, null, 2)}\n`, { mode: 0o600 });
  } catch (e) {
    fail(`--credentials ${file}: cannot write it (${/** @type {Error} */ (e).message})`);
  }
}
