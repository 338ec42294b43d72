/**
 * What the login flow's steps carry: how the client speaks (HAAPI or a browser), who it is, and the
 * flow's session. One state machine serves both; only the session binding and the rendering differ.
 */
import type { Client } from "../../config/load";
import type { FormParams } from "../../http/form";
import type { LoginSessionOperations, SessionRecord } from "../../kv/login-session";
import type { RecordRef } from "../../kv/record";
import type { VerifiedAccessToken } from "../../verifiers/access-token";
import type { AppEnv } from "../context";

export const AUTHORIZE_PATH = "/oauth/v2/oauth-authorize";
export const AUTHN_PATH = "/authn";

/**
 * `haapi`: `Accept: application/vnd.auth+json`, a DPoP-bound HAAPI token, `Session-Id`; JSON representations.
 * `browser`: `Accept: text/html`, a login cookie and CSRF tokens; the same representations as HTML pages.
 */
export type FlowMode = "haapi" | "browser";

export type HaapiEnv = AppEnv & {
  Variables: {
    flowMode: FlowMode;
    /** HAAPI mode only. */
    haapiToken: VerifiedAccessToken;
    flowClient: Client;
    session: SessionRecord;
    sessionRef: RecordRef<LoginSessionOperations>;
    /** Browser mode: the session's CSRF token, put in every POST form. */
    csrf: string;
    /** Browser mode: the form a POST sent (read once, for the CSRF check; re-shown when it is refused). */
    submitted: FormParams;
  };
};
