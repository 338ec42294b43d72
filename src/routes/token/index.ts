/**
 * POST /oauth/v2/oauth-token: the token endpoint, as a pipeline of named steps.
 *
 *   noStore -> parseTokenRequest -> authenticateClient -> checkGrant -> verifyDpop -> spendAttestation -> grant
 */
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { noStore } from "../no-store";
import { authenticateClient } from "./authenticate-client";
import { checkGrant } from "./check-grant";
import { clientCredentialsGrant } from "./client-credentials";
import { authorizationCodeGrant, refreshTokenGrant } from "./login-grants";
import { parseTokenRequest } from "./parse-token-request";
import { spendAttestation } from "./spend-attestation";
import { verifyDpop } from "./verify-dpop";

export const TOKEN_PATH = "/oauth/v2/oauth-token";

export const tokenRoute = new Hono<AppEnv>().post(TOKEN_PATH, noStore, parseTokenRequest, authenticateClient, checkGrant, verifyDpop, spendAttestation, (c) => {
  switch (c.get("form").get("grant_type")) {
    case "authorization_code":
      return authorizationCodeGrant(c);
    case "refresh_token":
      return refreshTokenGrant(c);
    default:
      return clientCredentialsGrant(c);
  }
});
