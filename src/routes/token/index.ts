/**
 * POST /oauth/v2/oauth-token: the token endpoint, as a pipeline of named steps.
 *
 *   corsResponse -> noStore -> parseTokenRequest -> authenticateClient -> checkGrant -> verifyDpop -> spendAttestation -> grant
 *   OPTIONS: the CORS preflight of a browser app (../cors.ts)
 */
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { refuseOtherMethods } from "../method-not-allowed";
import { corsPreflight, corsResponse } from "../cors";
import { noStore } from "../no-store";
import { authenticateClient } from "./authenticate-client";
import { checkGrant } from "./check-grant";
import { clientCredentialsGrant } from "./client-credentials";
import { authorizationCodeGrant, refreshTokenGrant } from "./login-grants";
import { parseTokenRequest } from "./parse-token-request";
import { spendAttestation } from "./spend-attestation";
import { verifyDpop } from "./verify-dpop";

export const TOKEN_PATH = "/oauth/v2/oauth-token";

export const tokenRoute = refuseOtherMethods(
  new Hono<AppEnv>()
    .options(TOKEN_PATH, corsPreflight("POST"))
    .post(
      TOKEN_PATH,
      corsResponse,
      noStore,
      parseTokenRequest,
      authenticateClient,
      checkGrant,
      verifyDpop,
      spendAttestation,
      (c) => {
        switch (c.get("form").get("grant_type")) {
          case "authorization_code":
            return authorizationCodeGrant(c);
          case "refresh_token":
            return refreshTokenGrant(c);
          default:
            return clientCredentialsGrant(c);
        }
      },
    ),
);
