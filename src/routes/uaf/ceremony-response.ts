/**
 * The second half of the UAF ceremonies: the device's response. Open serverData, run the pure verifier
 * (src/uaf), then commit to the user's record in one atomic operation. An out-of-band transaction named
 * in serverData takes one answer and learns the outcome.
 */
import type { Context } from "hono";
import type { Config } from "../../config/load";
import type { UafTransactionRecord } from "../../kv/uaf-transaction";
import type { UafAuthenticatorRecord, UafUserRecord } from "../../kv/uaf-user";
import { verifyAuthentication, type VerifiedAuthentication } from "../../uaf/authentication";
import { parseUafResponse, type AuthenticationResponse, type RegistrationResponse } from "../../uaf/messages";
import { registrationPolicy } from "../../uaf/policy";
import { verifyRegistration, type RegistrationTrust } from "../../uaf/registration";
import { openServerData, type ServerData } from "../../uaf/server-data";
import { uafStatusFor } from "../../uaf/status";
import { importTrustAnchors, type TrustAnchor } from "../../x509/chain";
import { checkDeviceKeys } from "../../verifiers/device-signature";
import type { AppEnv } from "../context";
import { uafUser } from "../uaf-users";
import { requireAuthorityLive } from "./authorize";
import { appIdOf, serverDataKey } from "./ceremony-request";
import { UAF_STATUS, UafError } from "./uaf-error";
import { parseJsonString, parseWith, registrationResponseContextSchema } from "./wire";

const anchorsCache = new WeakMap<object, TrustAnchor[]>();

/** The attestation policy, its roots imported once per configuration (validated when it was loaded). */
function trustOf(config: Config): RegistrationTrust {
  let roots = anchorsCache.get(config.uaf);
  if (!roots) {
    roots = importTrustAnchors(config.uaf.attestation.metadata_roots);
    anchorsCache.set(config.uaf, roots);
  }
  return {
    roots,
    acceptBasicFullWithoutChain: config.uaf.attestation.accept_basic_full_without_chain,
    acceptSurrogate: config.uaf.attestation.accept_surrogate,
  };
}

/** The one response of a SendUAFResponse, and its opened serverData (for this operation). */
async function openResponse<T extends RegistrationResponse | AuthenticationResponse>(
  c: Context<AppEnv>,
  uafResponse: string,
  op: "Reg" | "Auth",
): Promise<{ response: T; data: ServerData }> {
  const parsed = parseUafResponse(uafResponse, op);
  if (!parsed.ok)
    throw new UafError(uafStatusFor(parsed.reason), "The UAF response is malformed", {
      reason: parsed.reason,
      ...(parsed.detail ? { detail: parsed.detail } : {}),
    });
  // parseUafResponse accepts exactly one response: a batch would commit some and refuse others.
  const response = parsed.value[0] as T;
  const opened = await openServerData(await serverDataKey(c), response.header.serverData ?? "", c.get("now"));
  if (!opened.ok)
    throw new UafError(uafStatusFor(opened.reason), "The UAF response does not answer a valid request", {
      reason: opened.reason,
    });
  if (opened.value.op !== op || response.header.op !== op)
    throw new UafError(UAF_STATUS.REQUEST_INVALID, "The UAF response answers another operation", {
      reason: "server_data_op_mismatch",
      detail: { op: opened.value.op },
    });
  return { response, data: opened.value };
}

/** Tell the out-of-band transaction how it ended; rethrow failures. */
async function settle<T>(
  c: Context<AppEnv>,
  tx: string | undefined,
  work: () => Promise<{ value: T; authenticators: UafTransactionRecord["authenticators"] }>,
): Promise<T> {
  const ref = tx ? c.get("stores").uafTransactions.byId(tx) : null;
  // An out-of-band transaction takes one answer, claimed atomically: its status is what the backend acts
  // on, and a second answer must not register (or authenticate) behind a reported outcome.
  if (ref && !(await ref.run("claim", null, c.get("now"))))
    throw new UafError(UAF_STATUS.REQUEST_INVALID, "The UAF request was already answered, or has expired", {
      reason: "transaction_not_open",
    });
  try {
    const { value, authenticators } = await work();
    if (ref) await ref.run("finish", { succeeded: true, uafStatusCode: UAF_STATUS.OK, authenticators }, c.get("now"));
    return value;
  } catch (error) {
    if (ref && error instanceof UafError)
      await ref.run("finish", { succeeded: false, uafStatusCode: error.statusCode }, c.get("now"));
    throw error;
  }
}

export interface CompletedRegistration {
  readonly username: string;
  readonly user: UafUserRecord;
  readonly registered: readonly { readonly aaid: string; readonly keyId: string }[];
  readonly tx?: string;
}

export async function completeRegistration(
  c: Context<AppEnv>,
  uafResponse: string,
  contextString: string | undefined,
): Promise<CompletedRegistration> {
  const config = c.get("config");
  const now = c.get("now");
  const { response, data } = await openResponse<RegistrationResponse>(c, uafResponse, "Reg");
  const username = data.username!;
  // The request's authorization must still hold now: a token revoked in between registers nothing.
  if (data.authority !== undefined) await requireAuthorityLive(c, data.authority, username);
  return settle(c, data.tx, async () => {
    if (contextString === undefined)
      throw new UafError(UAF_STATUS.BAD_REQUEST, "context: the device (deviceId, deviceInformation) is required", {
        reason: "registration_context_missing",
      });
    const context = parseWith(registrationResponseContextSchema, parseJsonString(contextString, "context"), "context");
    const keys = await checkDeviceKeys(context.deviceInformation ?? {});
    if (!keys.ok)
      throw new UafError(
        UAF_STATUS.BAD_REQUEST,
        `context.deviceInformation: the ${keys.reason === "signature_key_unusable" ? "signatureKey (EC P-256, ES256)" : "encryptionKey (EC for ECDH-ES, or RSA)"} is not usable`,
        { reason: keys.reason },
      );
    const verified = await verifyRegistration(
      response,
      {
        appId: appIdOf(config),
        challenge: data.challenge,
        username,
        trustedFacetIds: config.uaf.facets,
        policy: registrationPolicy(config.uaf.aaids),
      },
      trustOf(config),
      new Date(now * 1000),
    );
    if (!verified.ok)
      throw new UafError(uafStatusFor(verified.reason), "The registration was refused", {
        reason: verified.reason,
        ...(verified.detail ? { detail: verified.detail } : {}),
      });
    const userRef = await uafUser(c, username);
    const stored = await userRef.run(
      "register",
      {
        userId: userRef.id,
        username,
        challenge: data.challenge,
        challengeExpiresAt: data.exp,
        deviceId: context.deviceId,
        device: context.deviceInformation ?? null,
        authenticators: verified.value.map((authenticator) => ({
          aaid: authenticator.aaid,
          keyId: authenticator.keyId,
          publicKey: authenticator.publicKey,
          signAlg: authenticator.signAlg,
          signCounter: authenticator.signCounter,
          authenticatorVersion: authenticator.authenticatorVersion,
          attestation: authenticator.attestation,
        })),
      },
      now,
    );
    if (!stored.ok) {
      const code =
        stored.reason === "challenge_spent" ||
        stored.reason === "device_information_required" ||
        stored.reason === "device_name_taken"
          ? UAF_STATUS.REQUEST_INVALID
          : UAF_STATUS.UNACCEPTABLE_AUTHENTICATOR;
      throw new UafError(code, "The registration was refused", { reason: stored.reason });
    }
    const registered = verified.value.map((authenticator) => ({
      aaid: authenticator.aaid,
      keyId: authenticator.keyId,
    }));
    return {
      value: { username, user: stored.value, registered, ...(data.tx ? { tx: data.tx } : {}) },
      authenticators: registered,
    };
  });
}

export interface CompletedAuthentication {
  readonly username: string;
  readonly authenticator: UafAuthenticatorRecord;
  readonly verified: VerifiedAuthentication;
  readonly tx?: string;
}

/** `expectTransaction`: the response must answer that transaction's request (checked before anything is spent). */
export async function completeAuthentication(
  c: Context<AppEnv>,
  uafResponse: string,
  options: { readonly expectTransaction?: string } = {},
): Promise<CompletedAuthentication> {
  const config = c.get("config");
  const now = c.get("now");
  const { response, data } = await openResponse<AuthenticationResponse>(c, uafResponse, "Auth");
  if (options.expectTransaction !== undefined && data.tx !== options.expectTransaction)
    throw new UafError(UAF_STATUS.REQUEST_INVALID, "The UAF response answers another request", {
      reason: "server_data_other_transaction",
    });
  const username = data.username!;
  return settle(c, data.tx, async () => {
    const userRef = await uafUser(c, username);
    const user = await userRef.run("read", null, now);
    const verified = await verifyAuthentication(
      response,
      {
        appId: appIdOf(config),
        challenge: data.challenge,
        trustedFacetIds: config.uaf.facets,
        ...(data.txh ? { transactionHashes: [data.txh] } : {}),
      },
      user?.authenticators ?? [],
      new Date(now * 1000),
    );
    if (!verified.ok)
      throw new UafError(uafStatusFor(verified.reason), "The authentication was refused", {
        reason: verified.reason,
        ...(verified.detail ? { detail: verified.detail } : {}),
      });
    const allow = config.uaf.counter_regression === "allow";
    if (verified.value.counterRegressed) c.get("log").uaf_counter_regressed = true;
    const stored = await userRef.run(
      "authenticate",
      {
        challenge: data.challenge,
        challengeExpiresAt: data.exp,
        aaid: verified.value.aaid,
        keyId: verified.value.keyId,
        signCounter: verified.value.signCounter,
        allowCounterRegression: allow,
      },
      now,
    );
    if (!stored.ok) {
      const code =
        stored.reason === "unknown_key"
          ? UAF_STATUS.UNKNOWN_KEY_ID
          : stored.reason === "counter_regressed"
            ? UAF_STATUS.UNACCEPTABLE_AUTHENTICATOR
            : UAF_STATUS.REQUEST_INVALID;
      throw new UafError(code, "The authentication was refused", { reason: stored.reason });
    }
    return {
      value: { username, authenticator: stored.value, verified: verified.value, ...(data.tx ? { tx: data.tx } : {}) },
      authenticators: [{ aaid: stored.value.aaid, keyId: stored.value.keyId }],
    };
  });
}
