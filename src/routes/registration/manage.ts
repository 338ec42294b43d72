/**
 * Client configuration endpoint (RFC 7592): read, replace and delete a dynamic client, authorized by the
 * registration access token handed out at registration (compared with its stored hash).
 *
 * - GET returns the client information response without the secret (it is shown once, at registration).
 * - PUT replaces the metadata: omitted members fall back to the template's values, and nothing may
 *   widen what the template allows (src/verifiers/registration-metadata.ts). `client_id` must be sent
 *   and match; `client_secret`, if sent, must match; the authentication method cannot change.
 * - DELETE removes the client's object: its secret, keys and registration access token stop working at once.
 * An unknown client, a deleted one, or a wrong token: 401 invalid_token (§2.1, §2.3).
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { Client, Config } from "../../config/load";
import { OAuthError } from "../../errors";
import type { DynamicClientRecord } from "../../kv/dynamic-client";
import { checkRegistrationMetadata } from "../../verifiers/registration-metadata";
import { storedStatementMetadata } from "../../verifiers/software-statement";
import { verifyClientSecret } from "../../verifiers/client-secret";
import { readDynamicClient, templateAllowance } from "../dynamic-clients";
import { noStore } from "../no-store";
import type { AppEnv } from "../context";
import { invalidToken } from "./authorize";
import { REGISTRATION_PATH } from "./context";
import { readJsonObject } from "./parse";

type ManageEnv = AppEnv & { Variables: { record: DynamicClientRecord; template: Client } };

/** The client information response (RFC 7591 §3.2.1, RFC 7592 §3): what the client is, never a stored hash. */
export function clientInformation(
  config: Config,
  record: DynamicClientRecord,
  secrets: { client_secret?: string; registration_access_token?: string } = {},
): Record<string, unknown> {
  return {
    client_id: record.client_id,
    ...(secrets.client_secret !== undefined ? { client_secret: secrets.client_secret } : {}),
    client_id_issued_at: record.issued_at,
    ...(record.client_secret_hash !== undefined ? { client_secret_expires_at: record.secret_expires_at } : {}),
    ...(secrets.registration_access_token !== undefined
      ? { registration_access_token: secrets.registration_access_token }
      : {}),
    registration_client_uri: `${config.endpoints.registration}/${record.client_id}`,
    ...record.metadata,
  };
}

/** The registration access token matches the client's stored hash. */
const readRegistration = createMiddleware<ManageEnv>(async (c, next) => {
  const authorization = c.req.header("Authorization") ?? "";
  const match = /^Bearer +([\x21-\x7e]+)$/i.exec(authorization);
  if (!match || authorization.length > c.get("config").limits.max_header_bytes)
    throw invalidToken("registration_token_missing", "a registration access token is required (Bearer)");
  const clientId = c.req.param("client_id") ?? "";
  c.get("log").client_id = clientId.slice(0, 100);
  const found = await readDynamicClient(c, clientId);
  if (!found) throw invalidToken("registration_client_unknown", "the registration access token is not valid");
  const result = await verifyClientSecret(match[1]!, {
    client_secret_hash: found.record.registration_access_token_hash,
  });
  if (!result.ok)
    throw invalidToken(`registration_token_${result.reason}`, "the registration access token is not valid");
  c.set("record", found.record);
  c.set("template", found.template);
  await next();
});

/** Members a client must not send in an update (RFC 7592 §2.2). */
const SERVER_MEMBERS = [
  "registration_access_token",
  "registration_client_uri",
  "client_secret_expires_at",
  "client_id_issued_at",
];

export const manageRoute = new Hono<ManageEnv>()
  .get(`${REGISTRATION_PATH}/:client_id`, noStore, readRegistration, (c) =>
    c.json(clientInformation(c.get("config"), c.get("record"))),
  )
  .put(`${REGISTRATION_PATH}/:client_id`, noStore, readRegistration, async (c) => {
    const record = c.get("record");
    const body = await readJsonObject(c);
    if (body.client_id !== record.client_id)
      throw new OAuthError("invalid_client_metadata", "client_id must be sent and match the client being updated", {
        reason: "update_client_id_mismatch",
      });
    const forbidden = SERVER_MEMBERS.filter((member) => member in body);
    if (forbidden.length)
      throw new OAuthError("invalid_client_metadata", `${forbidden[0]} must not be sent in an update (RFC 7592 §2.2)`, {
        reason: "update_server_member",
        detail: { member: forbidden[0] },
      });
    if (body.client_secret !== undefined) {
      const matches =
        typeof body.client_secret === "string" &&
        record.client_secret_hash !== undefined &&
        (await verifyClientSecret(body.client_secret, { client_secret_hash: record.client_secret_hash })).ok;
      if (!matches)
        throw new OAuthError("invalid_client_metadata", "client_secret does not match the issued secret", {
          reason: "update_client_secret_mismatch",
        });
    }
    const statement = record.metadata.software_statement;
    if (body.software_statement !== undefined && body.software_statement !== statement) {
      throw new OAuthError("invalid_client_metadata", "software_statement cannot change; register a new client", {
        reason: "update_software_statement_change",
      });
    }
    // The registration's approved statement still takes precedence over the body (RFC 7591 §3.1.1).
    const input = {
      ...body,
      software_id: body.software_id ?? record.metadata.software_id,
      token_endpoint_auth_method: body.token_endpoint_auth_method ?? record.metadata.token_endpoint_auth_method,
      ...(statement ? storedStatementMetadata(statement) : {}),
    };
    const result = await checkRegistrationMetadata(input, templateAllowance(c.get("template")));
    if (!result.ok) {
      const { field, problem } = result.detail as { field: string; problem: string };
      throw new OAuthError(result.reason, `${field}: ${problem}`, {
        reason: "metadata_invalid",
        detail: { field, problem },
      });
    }
    if (result.value.token_endpoint_auth_method !== record.metadata.token_endpoint_auth_method) {
      throw new OAuthError(
        "invalid_client_metadata",
        "token_endpoint_auth_method cannot change; register a new client",
        { reason: "update_auth_method_change" },
      );
    }
    const updated = await c
      .get("stores")
      .dynamicClients.byId(record.client_id)!
      .run("update", statement ? { ...result.value, software_statement: statement } : result.value, c.get("now"));
    if (!updated) throw invalidToken("registration_client_deleted", "the registration access token is not valid");
    return c.json(clientInformation(c.get("config"), updated));
  })
  .delete(`${REGISTRATION_PATH}/:client_id`, noStore, readRegistration, async (c) => {
    await c.get("stores").dynamicClients.byId(c.get("record").client_id)!.run("remove", null, c.get("now"));
    return c.body(null, 204);
  });
