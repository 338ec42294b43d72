/**
 * What the HAAPI flow's steps carry: the verified HAAPI token, its client, and the flow's session.
 */
import type { Client } from "../../config/load";
import type { LoginSession, SessionRecord } from "../../kv/login-session";
import type { VerifiedAccessToken } from "../../verifiers/access-token";
import type { AppEnv } from "../context";

export const AUTHORIZE_PATH = "/oauth/v2/oauth-authorize";
export const AUTHN_PATH = "/authn";

export type HaapiEnv = AppEnv & {
  Variables: {
    haapiToken: VerifiedAccessToken;
    flowClient: Client;
    session: SessionRecord;
    sessionStub: DurableObjectStub<LoginSession>;
  };
};
