/**
 * The in-app UAF services (docs/uaf.md): trusted facets, the request services (GetUAFRequest ->
 * ReturnUAFRequest) and the response services (SendUAFResponse -> ServerResponse) for registration and
 * authentication, and the deregistration request service. Each handler is: read -> authorize -> ceremony.
 */
import type { Context } from "hono";
import { TRUSTED_FACETS_MEDIA_TYPE, trustedFacets } from "../../uaf/facets";
import type { AppEnv } from "../context";
import { uafUser } from "../uaf-users";
import { authorityOf, authorizeUafRequest, requireSameUser } from "./authorize";
import { deregistrationRequest, newAuthenticationRequest, newRegistrationRequest } from "./ceremony-request";
import { completeAuthentication, completeRegistration } from "./ceremony-response";
import { UAF_STATUS, UafError } from "./uaf-error";
import {
  type GetUafRequestContext,
  getUafRequestSchema,
  parseGetUafRequestContext,
  parseWith,
  readJsonBody,
  sendUafResponseSchema,
  type UafOp,
  uafJson,
} from "./wire";

export function facets(c: Context<AppEnv>): Response {
  return c.body(JSON.stringify(trustedFacets(c.get("config").uaf.facets)), 200, {
    "Content-Type": TRUSTED_FACETS_MEDIA_TYPE,
    "Cache-Control": "public, max-age=300",
  });
}

/** GetUAFRequest for `op`, with its context parsed by the operation's schema. */
async function readGetUafRequest<Op extends UafOp>(c: Context<AppEnv>, op: Op): Promise<GetUafRequestContext<Op>> {
  const body = parseWith(getUafRequestSchema, await readJsonBody(c), "GetUAFRequest");
  if (body.op !== op)
    throw new UafError(UAF_STATUS.BAD_REQUEST, `op must be ${op} at this service`, {
      reason: "get_uaf_request_op_mismatch",
      detail: { op: body.op },
    });
  if (body.context === undefined)
    throw new UafError(UAF_STATUS.BAD_REQUEST, "context: the username is required", {
      reason: "get_uaf_request_context_missing",
    });
  return parseGetUafRequestContext(op, body.context, "context");
}

export async function registrationRequest(c: Context<AppEnv>): Promise<Response> {
  const context = await readGetUafRequest(c, "Reg");
  const authorization = await authorizeUafRequest(c);
  await requireSameUser(c, authorization, context.username);
  c.get("log").uaf_user = context.username;
  return uafJson(c, await newRegistrationRequest(c, context.username, { authority: await authorityOf(authorization) }));
}

export async function registrationResponse(c: Context<AppEnv>): Promise<Response> {
  const body = parseWith(sendUafResponseSchema, await readJsonBody(c), "SendUAFResponse");
  const done = await completeRegistration(c, body.uafResponse, body.context);
  c.get("log").uaf_user = done.username;
  c.get("log").uaf_registered = done.registered.map((authenticator) => authenticator.aaid).join(" ");
  return uafJson(c, { statusCode: UAF_STATUS.OK });
}

export async function authenticationRequest(c: Context<AppEnv>): Promise<Response> {
  const context = await readGetUafRequest(c, "Auth");
  c.get("log").uaf_user = context.username;
  return uafJson(
    c,
    await newAuthenticationRequest(
      c,
      context.username,
      context.transaction ? { transaction: context.transaction } : {},
    ),
  );
}

export async function authenticationResponse(c: Context<AppEnv>): Promise<Response> {
  const body = parseWith(sendUafResponseSchema, await readJsonBody(c), "SendUAFResponse");
  const done = await completeAuthentication(c, body.uafResponse);
  c.get("log").uaf_user = done.username;
  c.get("log").uaf_aaid = done.authenticator.aaid;
  return uafJson(c, { statusCode: UAF_STATUS.OK });
}

/**
 * Deregistration: remove the named authenticator (or all of the user's, or all of one device's) now,
 * and answer the DeregistrationRequest the device applies locally. A Device-Signature may only remove
 * that device's authenticators.
 */
export async function deregistrationRequestService(c: Context<AppEnv>): Promise<Response> {
  const context = await readGetUafRequest(c, "Dereg");
  const authorization = await authorizeUafRequest(c);
  await requireSameUser(c, authorization, context.username);
  const deviceId = authorization.via === "device-signature" ? authorization.deviceId : context.deviceId;
  const removed = await (await uafUser(c, context.username)).run(
    "deregister",
    {
      ...(context.aaid ? { aaid: context.aaid } : {}),
      ...(context.keyID ? { keyId: context.keyID } : {}),
      ...(deviceId ? { deviceId } : {}),
    },
    c.get("now"),
  );
  c.get("log").uaf_user = context.username;
  c.get("log").uaf_removed = removed.length;
  return uafJson(c, deregistrationRequest(c.get("config"), removed));
}
