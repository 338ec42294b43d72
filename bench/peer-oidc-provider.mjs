#!/usr/bin/env node
// The peer: panva's oidc-provider configured for exactly the benchmark's work: client_credentials,
// client_secret_basic, DPoP required (dpop_bound_access_tokens), ES256 JWT access tokens with cnf.jkt,
// one static client, in-memory storage (its default single-instance adapter).
// Usage: node bench/peer-oidc-provider.mjs PORT CLIENT_ID CLIENT_SECRET   (prints "ready" when listening)
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const [port, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "bench-es256", alg: "ES256", use: "sig" };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
      dpop_bound_access_tokens: true,
      id_token_signed_response_alg: "ES256",
      scope: "read",
    },
  ],
  jwks: { keys: [signingKey] },
  scopes: ["read"],
  features: {
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "urn:bench:api",
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "read",
        audience: "urn:bench:api",
        accessTokenTTL: 600,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "ES256" } },
      }),
    },
  },
});
provider.on("server_error", (_ctx, error) => console.error("peer server_error", error));
provider.listen(Number(port), "127.0.0.1", () => console.log("ready"));
