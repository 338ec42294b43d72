// Shared by the developer scripts (get-token, haapi-login): `--name value` / `--name=value` options
// and RFC 6749 HTTP Basic client credentials.

/**
 * @param {string[]} argv
 * @param {{ script: string, usage: string, names: string[], defaults: Record<string, string> }} spec
 * @returns {Record<string, string>}
 */
export function parseOptions(argv, { script, usage, names, defaults }) {
  const fail = (/** @type {string} */ message) => {
    console.error(`${script}: ${message}\n${usage}`);
    process.exit(2);
  };
  const options = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      console.log(usage);
      process.exit(0);
    }
    const [name, inline] = arg.startsWith("--") ? arg.slice(2).split(/=(.*)/s, 2) : [undefined];
    if (name === undefined || !names.includes(name)) fail(`unexpected argument ${JSON.stringify(arg)}`);
    const value = inline ?? argv[++i];
    if (value === undefined) fail(`--${name} needs a value`);
    options[/** @type {string} */ (name)] = value;
  }
  if (options.issuer) options.issuer = options.issuer.replace(/\/+$/, "");
  return options;
}

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded before they are joined and base64-encoded. */
export function basicAuthorization(/** @type {string} */ clientId, /** @type {string} */ secret) {
  const encode = (/** @type {string} */ value) => encodeURIComponent(value).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString("base64")}`;
}
