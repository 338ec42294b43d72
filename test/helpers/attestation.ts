/**
 * Test-side devices: the simulator (tools/simulator, real wire formats under the development test CA)
 * driven against the real Worker, the way an app would: challenge, attestation, CAT, HAAPI token.
 */
import { exports } from "cloudflare:workers";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { makeAndroidAttestation } from "../../tools/simulator/android.mjs";
import { attestedChallengeBytes } from "../../tools/simulator/dpop.mjs";
import { makeAppAttestAssertion, makeAppAttestation } from "../../tools/simulator/ios.mjs";
import { type DeviceKey, proof } from "./dpop";
import { BASE, jsonOf, tokenRequest } from "./server";

export const CAT_URL = `${BASE}/oauth/v2/oauth-token/cat`;
export const HAAPI_SCOPE = "urn:se:curity:scopes:haapi";
export const CAT_ASSERTION_TYPE = "urn:se:curity:attestation:client";

/** A device: its DPoP key pair (also the attested key on Android) and the test-helper view of it. */
export interface Device extends DeviceKey {
  readonly pair: CryptoKeyPair;
}

export async function newDevice(): Promise<Device> {
  const pair = (await generateKeyPair("ES256", { extractable: true })) as CryptoKeyPair;
  const { kty, crv, x, y } = await exportJWK(pair.publicKey);
  const publicJwk = { kty, crv, x, y };
  return {
    alg: "ES256",
    privateKey: pair.privateKey,
    publicJwk,
    jkt: await calculateJwkThumbprint(publicJwk, "sha256"),
    pair,
  };
}

export async function getChallenge(clientId: string): Promise<string> {
  const response = await exports.default.fetch(`${CAT_URL}?client_id=${encodeURIComponent(clientId)}`);
  if (response.status !== 200) throw new Error(`challenge: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { challenge: string }).challenge;
}

export function attested(challenge: string, device: Device): Promise<Uint8Array> {
  return attestedChallengeBytes(challenge, device.jkt);
}

export type AndroidOptions = Omit<Parameters<typeof makeAndroidAttestation>[0], "challenge" | "deviceKey">;

export async function androidResponse(
  challenge: string,
  device: Device,
  options: AndroidOptions = {},
): Promise<Record<string, unknown>> {
  const chain = await makeAndroidAttestation({
    challenge: await attested(challenge, device),
    deviceKey: device.pair,
    ...options,
  });
  return { platform: "android", certificate_chain: chain };
}

export async function iosResponse(
  challenge: string,
  device: Device,
  options: { appId?: string; environment?: "development" | "production" } = {},
) {
  const attestation = await makeAppAttestation({ clientDataHash: await attested(challenge, device), ...options });
  return {
    response: { platform: "ios", key_id: attestation.keyId, attestation_object: attestation.attestationObject },
    keyId: attestation.keyId,
    keyPair: attestation.keyPair,
  };
}

export async function iosAssertionResponse(
  challenge: string,
  device: Device,
  keyId: string,
  keyPair: CryptoKeyPair,
  counter: number,
) {
  const assertion = await makeAppAttestAssertion({
    keyPair,
    clientDataHash: await attested(challenge, device),
    counter,
  });
  return { platform: "ios", key_id: keyId, assertion };
}

export interface CatPost {
  challenge?: string;
  response?: Record<string, unknown> | string;
  device: Device;
  headers?: Record<string, string>;
  /** Replace the DPoP header (null: none). */
  dpop?: string | null;
  body?: string;
}

export async function postCat({ challenge, response, device, headers = {}, dpop, body }: CatPost): Promise<Response> {
  const form = new URLSearchParams();
  if (challenge !== undefined) form.set("challenge", challenge);
  if (response !== undefined)
    form.set("challenge_response", typeof response === "string" ? response : JSON.stringify(response));
  const proofHeader = dpop === undefined ? await proof(device, { htu: CAT_URL }) : dpop;
  return exports.default.fetch(CAT_URL, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      ...(proofHeader !== null ? { DPoP: proofHeader } : {}),
      ...headers,
    },
    body: body ?? form.toString(),
  });
}

/** The whole device side: challenge, attestation, CAT. */
export async function catFor(
  clientId: string,
  device: Device,
  make: (challenge: string) => Promise<Record<string, unknown>>,
  headers: Record<string, string> = {},
): Promise<string> {
  const challenge = await getChallenge(clientId);
  const response = await postCat({ challenge, response: await make(challenge), device, headers });
  const body = await jsonOf(response);
  if (response.status !== 200) throw new Error(`cat: ${response.status} ${JSON.stringify(body)}`);
  return body.cat as string;
}

/** The HAAPI token request with a CAT as client assertion, learning the DPoP nonce first. */
export async function haapiToken(
  cat: string,
  device: Device,
  options: {
    clientId?: string;
    proofDevice?: Device;
    headers?: Record<string, string>;
    body?: Record<string, string>;
  } = {},
): Promise<Response> {
  const body = options.body ?? {
    grant_type: "client_credentials",
    client_assertion_type: CAT_ASSERTION_TYPE,
    client_assertion: cat,
    scope: HAAPI_SCOPE,
    ...(options.clientId ? { client_id: options.clientId } : {}),
  };
  const signer = options.proofDevice ?? device;
  const first = await tokenRequest({ body, headers: { DPoP: await proof(signer), ...options.headers } });
  if (first.status !== 400) return first;
  const error = (await first.clone().json()) as { error?: string };
  if (error.error !== "use_dpop_nonce") return first;
  return tokenRequest({
    body,
    headers: { DPoP: await proof(signer, { nonce: first.headers.get("DPoP-Nonce")! }), ...options.headers },
  });
}

export function claimsOf(jwt: string): Record<string, any> {
  return JSON.parse(atob(jwt.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
}

export function headerOf(jwt: string): Record<string, any> {
  return JSON.parse(atob(jwt.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/")));
}
