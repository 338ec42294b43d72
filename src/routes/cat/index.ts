/**
 * The CAT endpoint (docs/attestation.md has the wire protocol), as pipelines of named steps:
 *
 *   GET  /oauth/v2/oauth-token/cat?client_id=X   noStore -> issueChallenge        (JSON: the challenge)
 *                                                webCatPage                      (a browser navigation, Accept
 *                                                                                  text/html: the web driver's iframe)
 *   GET  /oauth/v2/oauth-token/cat/web-cat.js    webCatScript                    (the iframe page's script)
 *   POST /oauth/v2/oauth-token/cat               noStore -> parseCatRequest -> readChallenge
 *        (form: challenge, challenge_response)        -> proveKey (DPoP) -> attest -> spendChallenge -> issueCat
 *
 * The POST's DPoP key is the device key: the attestation covers SHA-256(challenge + "." + jkt), the CAT's
 * `cnf.jwk` is that key, and the token endpoint accepts the CAT only with a proof by the same key.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { Client } from "../../config/load";
import { OAuthError } from "../../errors";
import { refuseOtherMethods } from "../method-not-allowed";
import { replayScope } from "../../kv/replay";
import { signCat } from "../../tokens/cat";
import { attestedBytes, issueCatChallenge, readCatChallenge } from "../../verifiers/cat-challenge";
import type { DpopProof } from "../../verifiers/dpop-proof";
import type { AppEnv } from "../context";
import { noStore } from "../no-store";
import { keysFor } from "../services";
import { requireDpopProof } from "../token/verify-dpop";
import { parseCatRequest, type CatRequest } from "./challenge-response";
import { verifyAttestation, type VerifiedAttestation } from "./verify-attestation";
import { CAT_SCRIPT_PATH, wantsCatPage, webCatPage, webCatScript } from "./web-cat-page";

export const CAT_PATH = "/oauth/v2/oauth-token/cat";

type CatEnv = AppEnv & {
  Variables: {
    catRequest: CatRequest;
    catClient: Client;
    challengeId: string;
    challengeExpiresAt: number;
    proof: DpopProof;
    attestation: VerifiedAttestation;
  };
};

function attestingClient(clients: ReadonlyMap<string, Client>, clientId: string): Client {
  const client = clients.get(clientId);
  if (!client)
    throw new OAuthError("invalid_client", "unknown client", {
      status: 400,
      reason: "unknown_client",
      detail: { client_id: clientId.slice(0, 100) },
    });
  if (!client.attestation)
    throw new OAuthError("unauthorized_client", "the client is not configured for attestation", {
      reason: "attestation_not_configured",
    });
  return client;
}

/** GET: a fresh challenge for the client. Stateless (signed), so fetching challenges stores nothing. */
const issueChallenge = createMiddleware<CatEnv>(async (c) => {
  const config = c.get("config");
  const now = c.get("now");
  const query = new URL(c.req.url).searchParams;
  const ids = query.getAll("client_id");
  if (ids.length !== 1 || !ids[0])
    throw ids.length > 1
      ? new OAuthError("invalid_request", 'parameter "client_id" repeated', {
          reason: "parameter_repeated",
          detail: { parameter: "client_id" },
        })
      : new OAuthError("invalid_request", "client_id is required", {
          reason: "parameter_missing",
          detail: { parameter: "client_id" },
        });
  const client = attestingClient(config.clientsById, ids[0]);
  c.get("log").client_id = client.client_id;
  const keys = await keysFor(c);
  const ttl = config.attestation.challenge_ttl;
  const challenge = await issueCatChallenge(
    keys.challengeKey,
    client.client_id,
    crypto.getRandomValues(new Uint8Array(16)),
    now + ttl,
  );
  return c.json({ challenge, expires_in: ttl });
});

/** The challenge is ours, unexpired, and names an attesting client. (Whether it was used is decided last.) */
const readChallenge = createMiddleware<CatEnv>(async (c, next) => {
  const config = c.get("config");
  const now = c.get("now");
  const keys = await keysFor(c);
  const result = await readCatChallenge(keys.challengeKey, c.get("catRequest").challenge, now);
  if (!result.ok) {
    throw new OAuthError(
      "invalid_request",
      result.reason === "expired" ? "challenge expired; get a new one" : "challenge is not one this server issued",
      {
        reason: `challenge_${result.reason}`,
        ...(result.detail ? { detail: { ...result.detail } } : {}),
      },
    );
  }
  const client = attestingClient(config.clientsById, result.value.clientId);
  c.get("log").client_id = client.client_id;
  c.set("catClient", client);
  c.set("challengeId", result.value.id);
  c.set("challengeExpiresAt", result.value.expiresAt);
  await next();
});

/** The device's DPoP key: a proof for this endpoint (no server nonce needed: the challenge is fresher). */
const proveKey = createMiddleware<CatEnv>(async (c, next) => {
  const config = c.get("config");
  c.set("proof", await requireDpopProof(c, { url: config.endpoints.cat, requireNonce: config.dpop.require_nonce }));
  await next();
});

const attest = createMiddleware<CatEnv>(async (c, next) => {
  const { challenge, response } = c.get("catRequest");
  const proof = c.get("proof");
  c.get("log").platform = response.platform;
  const verified = await verifyAttestation(
    {
      config: c.get("config"),
      stores: c.get("stores"),
      client: c.get("catClient"),
      jkt: proof.jkt,
      attested: await attestedBytes(challenge, proof.jkt),
      origin: c.req.header("Origin") ?? null,
      fetchSite: c.req.header("Sec-Fetch-Site") ?? null,
      now: c.get("now"),
    },
    response,
  );
  c.set("attestation", verified);
  await next();
});

/** Single use, atomically: of two requests racing with one challenge, exactly one gets past here. */
const spendChallenge = createMiddleware<CatEnv>(async (c, next) => {
  const client = c.get("catClient");
  const id = c.get("challengeId");
  const first = await c
    .get("stores")
    .replay.use(replayScope.catChallenge(client.client_id, id), id, c.get("challengeExpiresAt"), c.get("now"));
  if (!first)
    throw new OAuthError("invalid_request", "challenge already used; get a new one", { reason: "challenge_replayed" });
  await c.get("attestation").commit?.();
  await next();
});

const issueCat = createMiddleware<CatEnv>(async (c) => {
  const config = c.get("config");
  const now = c.get("now");
  const client = c.get("catClient");
  const { cal, summary } = c.get("attestation");
  const keys = await keysFor(c);
  const { cat, jti } = await signCat(
    keys,
    {
      issuer: config.issuer,
      clientId: client.client_id,
      jwk: c.get("proof").jwk,
      ttl: config.attestation.cat_ttl,
      cal,
      attestation: summary,
    },
    now,
  );
  const log = c.get("log");
  log.cal = cal;
  log.cat_jti = jti;
  return c.json({ cat });
});

/** A browser navigation gets the iframe page; anything else the JSON challenge. */
const negotiateCatGet = createMiddleware<CatEnv>(async (c, next) => {
  if (wantsCatPage(c.req.header("Accept"))) return webCatPage(c);
  await next();
});

export const catRoute = refuseOtherMethods(
  new Hono<CatEnv>()
    .get(CAT_SCRIPT_PATH, webCatScript)
    .get(CAT_PATH, negotiateCatGet, noStore, issueChallenge)
    .post(CAT_PATH, noStore, parseCatRequest, readChallenge, proveKey, attest, spendChallenge, issueCat),
);
