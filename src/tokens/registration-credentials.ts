/**
 * The credentials a registration hands out once (RFC 7591 §3.2.1): a client secret (when the client uses
 * one) and a registration access token (RFC 7592). 256 random bits each; only salted SHA-256 hashes are
 * stored (src/verifiers/client-secret.ts compares them).
 */
import { base64url } from "jose";
import { hashClientSecret } from "../verifiers/client-secret";

export interface IssuedCredentials {
  readonly clientSecret?: string;
  readonly clientSecretHash?: string;
  readonly registrationAccessToken: string;
  readonly registrationAccessTokenHash: string;
}

function randomToken(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

export async function issueRegistrationCredentials(withSecret: boolean): Promise<IssuedCredentials> {
  const registrationAccessToken = randomToken();
  const registrationAccessTokenHash = await hashClientSecret(registrationAccessToken);
  if (!withSecret) return { registrationAccessToken, registrationAccessTokenHash };
  const clientSecret = randomToken();
  return {
    clientSecret,
    clientSecretHash: await hashClientSecret(clientSecret),
    registrationAccessToken,
    registrationAccessTokenHash,
  };
}
