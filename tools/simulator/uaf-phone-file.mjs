// Where the UAF simulator CLI keeps its simulated phone between runs (Node only): a JSON file, readable
// by its owner only, as the SDK keeps its keys in the device's keystore. Test use only: it holds the
// authenticators' private keys in plain text.

import { readFile, writeFile } from "node:fs/promises";
import { fail } from "./cli-io.mjs";

/**
 * The stored phone, or undefined when the file does not exist.
 * @param {string} file
 * @returns {Promise<import("./uaf-phone.mjs").UafPhone | undefined>}
 */
export async function loadPhone(file) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code === "ENOENT") return undefined;
    return fail(`--store ${file}: cannot read it (${/** @type {Error} */ (e).message})`);
  }
  /** @type {any} */
  let phone;
  try {
    phone = JSON.parse(text);
  } catch {
    return fail(`--store ${file}: not JSON; delete it to start with a new phone`);
  }
  if (
    phone?.version !== 1 ||
    typeof phone.deviceId !== "string" ||
    (phone.platform !== "android" && phone.platform !== "ios") ||
    !phone.signatureKey?.privateJwk ||
    !Array.isArray(phone.credentials)
  ) {
    return fail(
      `--store ${file}: not a simulated UAF phone ({version: 1, deviceId, platform, signatureKey, credentials}); delete it to start with a new phone`,
    );
  }
  return phone;
}

/**
 * Write the phone to `file` (mode 0600), replacing what was there.
 * @param {string} file
 * @param {import("./uaf-phone.mjs").UafPhone} phone
 * @returns {Promise<void>}
 */
export async function savePhone(file, phone) {
  try {
    await writeFile(file, `${JSON.stringify(phone, null, 2)}\n`, { mode: 0o600 });
  } catch (e) {
    fail(`--store ${file}: cannot write it (${/** @type {Error} */ (e).message})`);
  }
}
