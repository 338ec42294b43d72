/**
 * The FIDO UAF services under both path families (docs/uaf.md): the Authentication Cloud style
 * `/_app/...` and the Identity Suite style `/nevisfido/...` (authentication at `/auth/fidouaf`), each with
 * and without a trailing slash; and the Authentication Cloud API under `/api/v1`. Off when `uaf.enabled`
 * is false (404). Two sub-apps, one per error format: the services the app calls, and the backend's.
 */
import { Hono, type Handler } from "hono";
import { createMiddleware } from "hono/factory";
import { OAuthError } from "../../errors";
import type { AppEnv } from "../context";
import { errorHandler } from "../error-handler";
import { refuseOtherMethods } from "../method-not-allowed";
import { requireAccessKey } from "./access-key";
import { approval, cloudStatus, enroll } from "./cloud-api";
import { changeDevice, deleteDevice, readDevice } from "./devices";
import {
  authenticationRequest,
  authenticationResponse,
  deregistrationRequestService,
  facets,
  registrationRequest,
  registrationResponse,
} from "./in-app";
import { dispatchToken, redeemToken, status } from "./oob-services";
import { asUafError } from "./uaf-error";

const FAMILIES = ["/_app", "/nevisfido"] as const;

const noRoute = () => new OAuthError("not_found", "no such endpoint", { reason: "no_route" });

const enabled = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("config").uaf.enabled) throw new OAuthError("not_found", "no such endpoint", { reason: "uaf_disabled" });
  await next();
});

type Method = "get" | "post" | "patch" | "delete";

/** `path` and `path/`. */
function both(app: Hono<AppEnv>, method: Method, path: string, ...handlers: Handler<AppEnv>[]): void {
  for (const variant of [path, `${path}/`])
    (app[method] as (path: string, ...handlers: Handler<AppEnv>[]) => unknown)(variant, ...handlers);
}

/**
 * The UAF services the app calls (in-app, token redemption, devices, the Identity Suite's authentication):
 * they answer UAF ServerResponses, whatever fails (uaf-error.ts `asUafError`), unknown paths under them too.
 */
const services = new Hono<AppEnv>();
const SERVICE_PREFIXES = [
  ...FAMILIES.flatMap((family) => [`${family}/uaf/1.1`, `${family}/token/redeem`, `${family}/devices`]),
  "/auth/fidouaf",
];
for (const prefix of SERVICE_PREFIXES) services.use(prefix, enabled).use(`${prefix}/*`, enabled);
for (const family of FAMILIES) {
  both(services, "get", `${family}/uaf/1.1/facets`, facets);
  both(services, "post", `${family}/uaf/1.1/request/registration`, registrationRequest);
  both(services, "post", `${family}/uaf/1.1/registration`, registrationResponse);
  both(services, "post", `${family}/uaf/1.1/request/deregistration`, deregistrationRequestService);
  both(services, "post", `${family}/token/redeem/:operation`, redeemToken);
  for (const devices of [`${family}/devices/:deviceId`, `${family}/devices/credentials/:deviceId`]) {
    both(services, "get", devices, readDevice);
    both(services, "patch", devices, changeDevice);
    both(services, "delete", devices, deleteDevice);
  }
}
both(services, "post", "/_app/uaf/1.1/request/authentication", authenticationRequest);
both(services, "post", "/_app/uaf/1.1/authentication", authenticationResponse);
both(services, "post", "/auth/fidouaf", authenticationRequest);
both(services, "post", "/auth/fidouaf/authenticationresponse", authenticationResponse);
refuseOtherMethods(services);
for (const prefix of SERVICE_PREFIXES)
  services.all(`${prefix}/*`, () => {
    throw noRoute();
  });
services.onError(errorHandler(asUafError));

/**
 * The relying party's backend services (dispatch, the status service, the Authentication Cloud API):
 * JSON, with OAuth-style errors (the app's own onError).
 */
const backend = new Hono<AppEnv>();
for (const family of FAMILIES) {
  backend.use(`${family}/token/dispatch/*`, enabled).use(`${family}/status`, enabled).use(`${family}/status/`, enabled);
  both(backend, "post", `${family}/token/dispatch/:operation`, requireAccessKey, dispatchToken);
  both(backend, "post", `${family}/status`, status);
}
backend.use("/api/v1/*", enabled);
both(backend, "post", "/api/v1/users/enroll", requireAccessKey, enroll);
both(backend, "post", "/api/v1/approval", requireAccessKey, approval);
both(backend, "post", "/api/v1/status", requireAccessKey, cloudStatus);
refuseOtherMethods(backend);

export const uafRoute = new Hono<AppEnv>().route("/", services).route("/", backend);
