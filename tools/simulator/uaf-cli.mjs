// The UAF phone simulator CLI (Node only): `npm run simulate -- uaf <command> [options]`, dispatched
// from cli.mjs. A simulated phone kept in a JSON file (--store) registers PIN, fingerprint, biometric,
// passcode or password authenticators, authenticates (optionally approving a transaction text),
// deregisters, redeems out-of-band payloads (QR code, link, encrypted push data), and reads, renames or
// deletes its device record with a Device-Signature, against a running server.

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { CliError, fail, say, show, textToStderr } from "./cli-io.mjs";
import { DEFAULT_SERVER } from "./defaults.mjs";
import { FACET_IDS, KINDS } from "./uaf-authenticator.mjs";
import { authenticate, deregister, redeemOutOfBand, registerInApp, UafClientError } from "./uaf-client.mjs";
import { changeDevice, deleteDevice, readDevice } from "./uaf-devices.mjs";
import { loadPhone, savePhone } from "./uaf-phone-file.mjs";
import { ensureEncryptionKey, newPhone, phoneView } from "./uaf-phone.mjs";

const DEFAULT_STORE = ".uaf-phone.json";

const USAGE = `Usage: npm run simulate -- uaf <command> [options]

Simulates a phone with a Nevis-style FIDO UAF client (docs/uaf.md): software authenticators with the
SDK's AAIDs (Android F1D0#000x, iOS F1D0#100x), WebCrypto P-256 keys, surrogate attestation. The phone
(device id, name, signature and encryption keys, credentials with private keys) lives in a JSON file
(--store).

Commands:
  register --username U [--kind K]       in-app registration (creates the phone on first use)
  authenticate [--username U] [--kind K] [--transaction TEXT]
                                          in-app authentication; without --username, usernameless
  deregister --username U [--kind K] [--device-signature]
                                          remove K (default: every authenticator of U) on both sides
  redeem <payload-or-link>               out-of-band registration or approval: the base64url payload of
                                          a QR code, an .../open?dispatchTokenResponse=... link, the
                                          {"nma_data": {...}} JSON, or a push message's data
                                          {"nma_data": "<JWE>", "nma_data_content_type": "application/jose", ...}
                                          (decrypted with the phone's encryption key)
  device show [--username U]             the server's record of this device (Device-Signature)
  device rename --name N [--username U]  change the device's name on the server and the phone
  device delete [--username U]           deregister every authenticator of U on this device
                                          (--username: default the phone's only user)
  show                                    print the phone without its private keys

Options:
  --base-url URL          server base URL (default ${DEFAULT_SERVER})
  --family F              _app (Authentication Cloud paths, default) or nevisfido (Identity Suite paths)
  --store FILE            the phone (default ${DEFAULT_STORE}, mode 0600; holds private keys)
  --kind K                ${KINDS.join(" | ")}
                          (register default: pin; redeem default: the first kind the request's
                          policy accepts). On iOS fingerprint is Touch ID and biometric is Face ID
  --platform P            android (default) | ios: only when the phone is created
  --device-name NAME      DeviceInformation name: only when the phone is created
  --fcm-token T           FCM registration token: only when the phone is created
  --token JWT             authorize register/deregister with "Authorization: Bearer JWT"
  --cookie COOKIE         authorize register/deregister with a session cookie ("name=value")
  --device-signature      authorize register/deregister with a Device-Signature JWS by the phone's
                          signature key (the server must know this device for the user)
  --name N                device rename: the new name
  --transaction TEXT      authenticate: a text/plain transaction, shown on the authenticator
  --sig-alg A             register: raw (0x01, default) | der (0x02)
  --pub-key A             register: raw (0x100, default) | spki (0x101)
  --facet-id ID           facetID in fcParams (default ${FACET_IDS.android} on
                          Android, ${FACET_IDS.ios} on iOS)
  --json                  human-readable output goes to stderr; stdout gets one JSON object:
                          {command, store, phone (no private keys), op, request, response,
                          server_response, credential (no private key), removed, device}
  -h, --help              this text
`;

/** @param {string | undefined} value @param {Record<string, number>} names @param {string} option */
function named(value, names, option) {
  if (value === undefined) return undefined;
  if (!(value in names)) fail(`--${option} must be ${Object.keys(names).join(" or ")}`);
  return names[value];
}

/** @param {any} result the credential without its private key, for output */
function publicResult(result) {
  const { privateJwk: _private, ...credential } = result.credential ?? {};
  return {
    op: result.op,
    request: result.request,
    response: result.response,
    server_response: result.serverResponse,
    credential: result.credential ? credential : null,
    removed: result.removed?.map((/** @type {any} */ { privateJwk: _p, ...rest }) => rest) ?? null,
    device: result.device ?? null,
  };
}

/**
 * The user a device command is for: --username, or the phone's only user.
 * @param {string | undefined} username @param {import("./uaf-phone.mjs").UafPhone} phone
 */
function deviceUser(username, phone) {
  if (username !== undefined) return username;
  const users = [...new Set(phone.credentials.map((c) => c.username))];
  if (users.length !== 1)
    fail(`device needs --username (the phone holds credentials of ${users.length ? users.join(", ") : "no user"})`);
  return /** @type {string} */ (users[0]);
}

/**
 * Run one `uaf` command.
 * @param {string[]} args the arguments after `uaf`
 */
export async function runUafCli(args) {
  const { values: v, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      json: { type: "boolean" },
      "base-url": { type: "string", default: DEFAULT_SERVER },
      family: { type: "string", default: "_app" },
      store: { type: "string", default: DEFAULT_STORE },
      username: { type: "string" },
      kind: { type: "string" },
      platform: { type: "string" },
      "device-name": { type: "string" },
      "fcm-token": { type: "string" },
      token: { type: "string" },
      cookie: { type: "string" },
      "device-signature": { type: "boolean" },
      name: { type: "string" },
      transaction: { type: "string" },
      "sig-alg": { type: "string" },
      "pub-key": { type: "string" },
      "facet-id": { type: "string" },
    },
  });
  if (v.help) {
    console.log(USAGE);
    return;
  }
  if (v.json) textToStderr();
  const [command, payload, ...extra] = positionals;
  if (!command || !["register", "authenticate", "deregister", "redeem", "device", "show"].includes(command)) {
    console.error(USAGE);
    fail(command ? `unknown uaf command "${command}"` : "missing uaf command");
  }
  if (extra.length || (payload !== undefined && command !== "redeem" && command !== "device"))
    fail(`unexpected argument "${extra[0] ?? payload}"`);
  if (command === "redeem" && !payload)
    fail("redeem needs the payload or link (from the QR code or the dispatch response)");
  if (command === "device" && !["show", "rename", "delete"].includes(payload ?? ""))
    fail(`device needs show, rename or delete${payload ? `, not "${payload}"` : ""}`);
  if ((v.name !== undefined) !== (command === "device" && payload === "rename"))
    fail(v.name === undefined ? "device rename needs --name" : "--name is for device rename only");
  if ((command === "register" || command === "deregister") && !v.username) fail(`${command} needs --username`);
  if (v.kind !== undefined && !KINDS.includes(/** @type {any} */ (v.kind)))
    fail(`--kind must be one of ${KINDS.join(", ")}`);
  if (v.platform !== undefined && v.platform !== "android" && v.platform !== "ios")
    fail("--platform must be android or ios");
  if (v.family !== "_app" && v.family !== "nevisfido") fail("--family must be _app or nevisfido");
  if ([v.token, v.cookie, v["device-signature"]].filter((x) => x !== undefined).length > 1)
    fail("--token, --cookie and --device-signature exclude each other");
  const signAlg = named(v["sig-alg"], { raw: 0x01, der: 0x02 }, "sig-alg");
  const pubKeyAlg = named(v["pub-key"], { raw: 0x100, spki: 0x101 }, "pub-key");

  const store = resolve(/** @type {string} */ (v.store));
  let phone = await loadPhone(store);
  const isNew = !phone;
  let upgraded = false;
  if (!phone) {
    if (command !== "register" && command !== "redeem")
      fail(`no phone in ${store}: register an authenticator first (uaf register --username ...)`);
    phone = await newPhone({
      platform: /** @type {any} */ (v.platform ?? "android"),
      name: v["device-name"],
      fcmRegistrationToken: v["fcm-token"],
    });
    say(`new ${phone.platform} phone "${phone.name}" (deviceId ${phone.deviceId}), kept in ${store}`);
  } else {
    if (v.platform !== undefined && v.platform !== phone.platform)
      fail(`the phone in ${store} is ${phone.platform}; use another --store for a ${v.platform} phone`);
    if (v["device-name"] !== undefined || v["fcm-token"] !== undefined)
      say(`(--device-name and --fcm-token only apply to a new phone; ${store} already exists)`);
    if (!phone.encryptionKey) {
      await ensureEncryptionKey(phone);
      upgraded = true;
      say(
        `(the phone in ${store} had no encryption key: created one; a server learns it only with a registration from a device new to the user)`,
      );
    }
  }

  const before = JSON.stringify(phone);
  const common = {
    baseUrl: /** @type {string} */ (v["base-url"]),
    family: /** @type {"_app" | "nevisfido"} */ (v.family),
    phone,
    kind: /** @type {any} */ (v.kind),
    facetId: v["facet-id"],
  };
  /** @type {import("./uaf-client.mjs").Authorization} */
  const authorization =
    v.token !== undefined
      ? { type: "jwt", token: v.token }
      : v.cookie !== undefined
        ? { type: "cookie", cookie: v.cookie }
        : v["device-signature"]
          ? { type: "device-signature" }
          : { type: "none" };
  /** @type {any} */
  let result = null;
  try {
    if (command === "register")
      result = await registerInApp({
        ...common,
        username: /** @type {string} */ (v.username),
        authorization,
        signAlg,
        pubKeyAlg,
      });
    else if (command === "authenticate")
      result = await authenticate({ ...common, username: v.username, transaction: v.transaction });
    else if (command === "deregister")
      result = await deregister({ ...common, username: /** @type {string} */ (v.username), authorization });
    else if (command === "redeem")
      result = await redeemOutOfBand({ ...common, payload: /** @type {string} */ (payload), signAlg, pubKeyAlg });
    else if (command === "device") {
      const device = { ...common, username: deviceUser(v.username, phone) };
      if (payload === "show") result = await readDevice(device);
      else if (payload === "rename") result = await changeDevice({ ...device, name: v.name });
      else result = await deleteDevice(device);
    }
  } catch (e) {
    if (e instanceof UafClientError) throw new CliError(e.message);
    throw e;
  } finally {
    // An authenticator's counter moves even when the server then refuses: keep what changed.
    if (isNew || upgraded || JSON.stringify(phone) !== before) await savePhone(store, phone);
  }

  const out = result ? publicResult(result) : null;
  if (out?.device) show("device (server)", out.device);
  else if (out) {
    show(`${out.op} request`, out.request);
    if (out.response) show(`${out.op} response`, out.response);
    if (out.server_response) show("server response", out.server_response);
    if (out.credential) show("credential (private key not shown)", out.credential);
    if (out.removed) show("removed from the phone", out.removed);
  }
  const view = phoneView(phone);
  show("phone", view);
  if (v.json) console.log(JSON.stringify({ command, store, phone: view, ...(out ?? {}) }));
}
