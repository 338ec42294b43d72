/**
 * What the route pipeline carries from step to step (Hono context variables).
 */
import type { Config, Client } from "../config/load";
import type { Stores } from "../kv/stores";
import type { Secrets } from "../runtime";
import type { FormParams } from "../http/form";
import type { ClientAssuranceLevel } from "../tokens/access-token";
import type { ClientCertificate } from "../verifiers/client-certificate";
import type { DpopProof } from "../verifiers/dpop-proof";
import type { VerifiedCat } from "../verifiers/cat";
import type { TokenEndpointAuthMethod } from "../protocol";

/** A client authenticated by a CAT: the attestation it carries and how it was presented. */
export interface AttestedClient extends VerifiedCat {
  /** `assertion`: client_assertion (urn:se:curity:attestation:client); `header`: OAuth-Client-Attestation. */
  readonly via: "assertion" | "header";
  /** The OAuth-Client-Attestation-PoP's jti, recorded with the CAT when the request succeeds. */
  readonly popUse?: { readonly jti: string; readonly expiresAt: number };
}

export interface AuthenticatedClient {
  readonly client: Client;
  /** `none`: a HAAPI client redeeming a DPoP-bound code or refresh token, proven by that key alone. */
  readonly method: TokenEndpointAuthMethod | "attest_jwt_client_auth" | "none";
  readonly cal: ClientAssuranceLevel;
  /** The mTLS certificate, when the client presented one. */
  readonly certificate: ClientCertificate | null;
  /** Present when the client authenticated with a CAT; spent once the request's DPoP proof is verified. */
  readonly attestation?: AttestedClient;
}

export interface AppEnv {
  Variables: {
    config: Config;
    /** Storage, behind its ports (src/kv/stores.ts). */
    stores: Stores;
    secrets: Secrets;
    /** The web driver iframe page's script, as text. */
    webCatScript: string;
    /** Request time, epoch seconds; read once per request. */
    now: number;
    /** Fields for this request's log line. */
    log: Record<string, unknown>;
    form: FormParams;
    authenticated: AuthenticatedClient;
    /** Granted scopes, in request order. */
    scopes: readonly string[];
    dpop: DpopProof | undefined;
  };
}
