/**
 * The FIDO UAF services under both path families (docs/uaf.md): the Authentication Cloud style
 * `/_app/...` and the Identity Suite style `/nevisfido/...` (authentication at `/auth/fidouaf`), each with
 * and without a trailing slash; and the Authentication Cloud API under `/api/v1`. Off when `uaf.enabled`
 * is false (404).
 */
import { Hono, type Handler } from "hono";
import { createMiddleware } from "hono/factory";
import { OAuthError } from "../../errors";
import type { AppEnv } from "../context";
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

const FAMILIES = ["/_app", "/nevisfido"] as const;

/** Paths whose errors are UAF ServerResponses. */
export function isUafServicePath(path: string): boolean {
  return /^\/(_app|nevisfido)\/(uaf\/1\.1|token\/redeem|devices)\//.test(path) || /^\/auth\/fidouaf(\/|$)/.test(path);
}

const enabled = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("config").uaf.enabled) throw new OAuthError("not_found", "no such endpoint", { reason: "uaf_disabled" });
  await next();
});

const route = new Hono<AppEnv>();
route
  .use("/_app/*", enabled)
  .use("/nevisfido/*", enabled)
  .use("/auth/fidouaf", enabled)
  .use("/auth/fidouaf/*", enabled)
  .use("/api/v1/*", enabled);

/** `path` and `path/`. */
function both(method: "get" | "post" | "patch" | "delete", path: string, ...handlers: Handler<AppEnv>[]): void {
  for (const variant of [path, `${path}/`])
    (route[method] as (path: string, ...handlers: Handler<AppEnv>[]) => unknown)(variant, ...handlers);
}

for (const family of FAMILIES) {
  both("get", `${family}/uaf/1.1/facets`, facets);
  both("post", `${family}/uaf/1.1/request/registration`, registrationRequest);
  both("post", `${family}/uaf/1.1/registration`, registrationResponse);
  both("post", `${family}/uaf/1.1/request/deregistration`, deregistrationRequestService);
  both("post", `${family}/token/dispatch/:operation`, requireAccessKey, dispatchToken);
  both("post", `${family}/token/redeem/:operation`, redeemToken);
  both("post", `${family}/status`, status);
  for (const devices of [`${family}/devices/:deviceId`, `${family}/devices/credentials/:deviceId`]) {
    both("get", devices, readDevice);
    both("patch", devices, changeDevice);
    both("delete", devices, deleteDevice);
  }
}
both("post", "/_app/uaf/1.1/request/authentication", authenticationRequest);
both("post", "/_app/uaf/1.1/authentication", authenticationResponse);
both("post", "/auth/fidouaf", authenticationRequest);
both("post", "/auth/fidouaf/authenticationresponse", authenticationResponse);
both("post", "/api/v1/users/enroll", requireAccessKey, enroll);
both("post", "/api/v1/approval", requireAccessKey, approval);
both("post", "/api/v1/status", requireAccessKey, cloudStatus);

export const uafRoute = route;
