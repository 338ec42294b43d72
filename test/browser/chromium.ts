/**
 * Where the browser tests find Chromium, and how they start it.
 *
 * There is no browser download here: the tests drive the system's Chromium (Debian's `chromium`
 * package) with playwright-core. Found in this order: `CHROMIUM_PATH`, then /usr/bin/chromium,
 * /usr/bin/chromium-browser, /usr/bin/google-chrome. Without one the browser tests are skipped, and
 * global-setup.ts prints once how to install it; with `HAAPI_EDGE_REQUIRE_CHROMIUM=1` (CI) a missing
 * Chromium fails the run instead, so CI never skips them silently.
 */
import { accessSync, constants, statSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] as const;

export const INSTALL_HINT =
  "install it with `apt-get update && apt-get install -y chromium`, or set CHROMIUM_PATH to a Chromium or Chrome executable";

/**
 * Flags that work as root on a machine without a display or outside network: no sandbox (root), no
 * GPU, and none of the background connections a closed network refuses (Google services, component
 * updates, sync, QUIC).
 */
export const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

/**
 * Playwright (1.65) starts Chromium with `--disable-features=` a list that includes
 * ThirdPartyStoragePartitioning. Without partitioning, a Chromium that blocks third-party cookies
 * denies a cross-site iframe any storage ("The user denied permission to access the database"), which
 * no current browser does by default: Chromium, Firefox and Safari give it storage partitioned by the
 * top-level site. The web driver's iframe keeps its DPoP key there (docs/web-apps.md), so the tests run
 * Chromium as shipped: Chromium takes the last `--disable-features` switch, and this one is
 * Playwright's list without ThirdPartyStoragePartitioning.
 */
const STOCK_STORAGE_FEATURES = [
  "--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch",
] as const;

export interface LaunchOptions {
  /**
   * false: Playwright's default, which gives a cross-site iframe no storage at all (like a browser that
   * blocks all third-party storage). Default true: partitioned storage, as Chromium ships.
   */
  readonly partitionedStorage?: boolean;
}

export type ChromiumLookup = { readonly path: string } | { readonly path: null; readonly why: string };

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The Chromium to use, or why there is none. A CHROMIUM_PATH that is not an executable is not silently passed over. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const configured = env.CHROMIUM_PATH;
  if (configured)
    return isExecutableFile(configured)
      ? { path: configured }
      : { path: null, why: `Chromium not found: CHROMIUM_PATH=${configured} is not an executable file` };
  const found = CANDIDATES.find(isExecutableFile);
  return found
    ? { path: found }
    : { path: null, why: `Chromium not found (CHROMIUM_PATH is not set; none of ${CANDIDATES.join(", ")})` };
}

/** True when a missing Chromium must fail the run (CI sets HAAPI_EDGE_REQUIRE_CHROMIUM=1). */
export function chromiumRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.HAAPI_EDGE_REQUIRE_CHROMIUM === "1";
}

/** Whether this run skips the browser tests: Chromium is missing and not required. */
export function skipBrowserTests(env: NodeJS.ProcessEnv = process.env): boolean {
  return findChromium(env).path === null && !chromiumRequired(env);
}

/** Start headless Chromium (playwright gives it a fresh, empty profile directory). Throws when there is none. */
export async function launchChromium(
  options: LaunchOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Browser> {
  const lookup = findChromium(env);
  if (lookup.path === null) throw new Error(`${lookup.why}: ${INSTALL_HINT}`);
  const args = [...LAUNCH_ARGS, ...(options.partitionedStorage === false ? [] : STOCK_STORAGE_FEATURES)];
  return chromium.launch({ executablePath: lookup.path, headless: true, args, timeout: 60_000 });
}
