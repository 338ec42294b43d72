/**
 * The first half of the UAF ceremonies the services share (in-app, out-of-band, the login flow's device
 * authenticator): the registration, authentication and deregistration requests. A request's challenge
 * travels in its sealed serverData, so nothing is stored until the device answers (./ceremony-response.ts).
 */
import type { Context } from "hono";
import { base64url } from "jose";
import type { Config } from "../../config/load";
import type { UafTransactionRecord } from "../../kv/uaf-transaction";
import type { UafAuthenticatorRecord } from "../../kv/uaf-user";
import { transactionContentHash } from "../../uaf/authentication";
import { authenticationPolicy, registrationPolicy } from "../../uaf/policy";
import { sealServerData } from "../../uaf/server-data";
import type { AppEnv } from "../context";
import { keysFor } from "../services";
import { readUafUser } from "../uaf-users";
import type { Authority } from "./authorize";
import { UAF_STATUS, UafError } from "./uaf-error";

export const FACETS_PATH = "/_app/uaf/1.1/facets";

export function appIdOf(config: Config): string {
  return `${config.issuer}${FACETS_PATH}`;
}

export interface ReturnUafRequest {
  readonly statusCode: number;
  readonly uafRequest: string;
  readonly op: "Reg" | "Auth" | "Dereg";
  readonly lifetimeMillis: number;
}

export async function serverDataKey(c: Context<AppEnv>): Promise<CryptoKey> {
  return (await keysFor(c)).uafServerDataKey;
}

function newChallenge(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

function header(config: Config, op: "Reg" | "Auth" | "Dereg", serverData?: string) {
  return { upv: { major: 1, minor: 1 }, op, appID: appIdOf(config), ...(serverData ? { serverData } : {}) };
}

/**
 * A registration request for `username`: for an out-of-band transaction (`tx`), or in-app under an
 * `authority` (what authorized the request; the response is refused once it no longer holds).
 */
export async function newRegistrationRequest(
  c: Context<AppEnv>,
  username: string,
  options: { readonly tx?: string; readonly authority?: Authority | undefined } = {},
): Promise<ReturnUafRequest> {
  const config = c.get("config");
  const now = c.get("now");
  const user = await readUafUser(c, username);
  const challenge = newChallenge();
  const { tx, authority } = options;
  const serverData = await sealServerData(await serverDataKey(c), {
    op: "Reg",
    username,
    challenge,
    exp: now + config.uaf.request_ttl,
    ...(tx ? { tx } : {}),
    ...(authority ? { authority } : {}),
  });
  const request = [
    {
      header: header(config, "Reg", serverData),
      challenge,
      username,
      policy: registrationPolicy(config.uaf.aaids, user?.authenticators ?? []),
    },
  ];
  return {
    statusCode: UAF_STATUS.OK,
    uafRequest: JSON.stringify(request),
    op: "Reg",
    lifetimeMillis: config.uaf.request_ttl * 1000,
  };
}

/** An authentication request for the user's registered authenticators (none: 1481). */
export async function newAuthenticationRequest(
  c: Context<AppEnv>,
  username: string,
  options: { readonly tx?: string; readonly transaction?: UafTransactionRecord["transaction"] } = {},
): Promise<ReturnUafRequest> {
  const config = c.get("config");
  const now = c.get("now");
  const usable = (await readUafUser(c, username))?.authenticators ?? [];
  if (usable.length === 0)
    throw new UafError(UAF_STATUS.UNKNOWN_KEY_ID, "No registered authenticator", {
      reason: "no_authenticator_registered",
    });
  const challenge = newChallenge();
  // A transaction text shown travels sealed as its hash: nothing is stored for it.
  const txh = options.transaction ? await transactionContentHash(options.transaction[0]!.content) : null;
  if (options.transaction && !txh)
    throw new UafError(UAF_STATUS.BAD_REQUEST, "transaction content must be base64url", {
      reason: "transaction_content_not_base64url",
    });
  const serverData = await sealServerData(await serverDataKey(c), {
    op: "Auth",
    username,
    challenge,
    exp: now + config.uaf.request_ttl,
    ...(options.tx ? { tx: options.tx } : {}),
    ...(txh ? { txh } : {}),
  });
  const policy = authenticationPolicy(usable);
  const request = [
    {
      header: header(config, "Auth", serverData),
      challenge,
      ...(options.transaction ? { transaction: options.transaction } : {}),
      policy,
    },
  ];
  return {
    statusCode: UAF_STATUS.OK,
    uafRequest: JSON.stringify(request),
    op: "Auth",
    lifetimeMillis: config.uaf.request_ttl * 1000,
  };
}

/** A DeregistrationRequest telling the device which authenticators to delete. */
export function deregistrationRequest(
  config: Config,
  removed: readonly Pick<UafAuthenticatorRecord, "aaid" | "keyId">[],
): ReturnUafRequest {
  const request = [
    {
      header: header(config, "Dereg"),
      authenticators: removed.map((authenticator) => ({ aaid: authenticator.aaid, keyID: authenticator.keyId })),
    },
  ];
  return {
    statusCode: UAF_STATUS.OK,
    uafRequest: JSON.stringify(request),
    op: "Dereg",
    lifetimeMillis: config.uaf.request_ttl * 1000,
  };
}
