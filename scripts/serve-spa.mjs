// @ts-check
// A tiny static server for the example single-page app (examples/spa), on 127.0.0.1.
//
//   npm run spa                  # http://localhost:5173/ (the web-spa client's allowed origin in development.json)
//   npm run spa -- --port 5174   # another port (then not an allowed origin: the iframe refuses to load)
//
// The app is opened as http://localhost:<port>: that is the origin the development configuration
// allows, and Chromium resolves `localhost` to the loopback address this server listens on.
// The tests import startSpaServer() and serve the app on a free port (`port: 0`).
// Plain ESM, Node's standard library only.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The app's files. */
export const SPA_ROOT = resolve(fileURLToPath(new URL("../examples/spa/", import.meta.url)));
export const DEFAULT_PORT = 5173;
const HOST = "127.0.0.1";

const CONTENT_TYPES = Object.freeze({
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".md": "text/plain; charset=utf-8",
});

/** Paths the app handles itself: its redirect URI is answered with the page too. */
const APP_PATHS = new Set(["/", "/callback"]);

/**
 * The page's policy: its own scripts only (no inline script), and fetches and frames to any http(s)
 * origin, because the issuer is chosen with a query parameter.
 */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src http: https:; frame-src http: https:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The file a request path names, inside SPA_ROOT; null for a path that leaves it or is not a plain file name.
 * @param {string} pathname already percent-decoded
 */
function fileFor(pathname) {
  if (APP_PATHS.has(pathname)) return join(SPA_ROOT, "index.html");
  if (pathname.includes("\0")) return null;
  const file = resolve(SPA_ROOT, `.${pathname}`);
  return file.startsWith(SPA_ROOT + sep) ? file : null;
}

/** @param {import("node:http").ServerResponse} res @param {number} status @param {string} text */
function plain(res, status, text) {
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  });
  res.end(`${text}\n`);
}

/** @param {import("node:http").IncomingMessage} req @param {import("node:http").ServerResponse} res */
async function handle(req, res) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return plain(res, 405, "method not allowed");
  }
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
  } catch {
    return plain(res, 400, "bad path");
  }
  const file = fileFor(pathname);
  const info = file ? await stat(file).catch(() => null) : null;
  if (!file || !info?.isFile()) return plain(res, 404, "not found");
  const type = CONTENT_TYPES[/** @type {keyof typeof CONTENT_TYPES} */ (extname(file))] ?? "application/octet-stream";
  res.writeHead(200, {
    "Content-Type": type,
    "Content-Length": info.size,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    ...(type.startsWith("text/html") ? { "Content-Security-Policy": PAGE_CSP } : {}),
  });
  if (req.method === "HEAD") return res.end();
  createReadStream(file).pipe(res);
}

/**
 * @typedef {object} SpaServer
 * @property {number} port
 * @property {string} origin `http://localhost:<port>`, the origin the app runs on
 * @property {() => Promise<void>} close
 */

/**
 * Serve examples/spa on 127.0.0.1.
 * @param {{ port?: number }} [options] `port: 0` picks a free port
 * @returns {Promise<SpaServer>}
 *
 * @example const spa = await startSpaServer({ port: 0 }); // spa.origin === "http://localhost:40123"
 */
export function startSpaServer(options = {}) {
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new TypeError(`port must be an integer from 0 to 65535, got ${port}`);
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) plain(res, 500, "internal error");
      else res.destroy(error);
    });
  });
  return new Promise((resolveStart, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, () => {
      server.off("error", reject);
      const address = server.address();
      if (!address || typeof address !== "object") return reject(new Error("the SPA server has no address"));
      /** @type {() => Promise<void>} */
      const close = () =>
        new Promise((resolveClose) => {
          server.closeAllConnections();
          server.close(() => resolveClose(undefined));
        });
      resolveStart({ port: address.port, origin: `http://localhost:${address.port}`, close });
    });
  });
}

/** `--port N` from the command line; the default otherwise. @param {string[]} args */
function parsePort(args) {
  let port = DEFAULT_PORT;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = arg === "--port" ? args[++i] : arg?.startsWith("--port=") ? arg.slice("--port=".length) : undefined;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write("usage: node scripts/serve-spa.mjs [--port N]   (default 5173)\n");
      process.exit(0);
    }
    if (value === undefined || !/^\d+$/.test(value)) {
      process.stderr.write(
        `serve-spa: ${arg === "--port" || arg?.startsWith("--port=") ? "--port needs a number" : `unknown argument ${arg}`}\nusage: node scripts/serve-spa.mjs [--port N]\n`,
      );
      process.exit(2);
    }
    port = Number(value);
  }
  return port;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const spa = await startSpaServer({ port: parsePort(process.argv.slice(2)) });
  process.stdout.write(
    `The example SPA is served on ${spa.origin}/\n` +
      `  against \`npm start\`: ${spa.origin}/?issuer=http://127.0.0.1:8787&client_id=web-spa\n` +
      `  (the web-spa client allows the origin http://localhost:5173 only)\n`,
  );
  const stop = () => spa.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
