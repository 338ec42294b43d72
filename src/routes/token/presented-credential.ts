/**
 * Step 1 of client authentication: what the request presents, before anything is verified. Exactly one
 * method per request (RFC 6749 §2.3): HTTP Basic, a secret in the body, a client assertion (a
 * private_key_jwt, or a CAT as urn:se:curity:attestation:client), or the OAuth-Client-Attestation header
 * (IETF draft, with its PoP header or in the DPoP combined mode); or nothing but a client_id (mTLS, and
 * public clients). Pure: the request's parts in, the presented credential out, or the OAuth error.
 */
import { decodeJwt } from "jose";
import { OAuthError } from "../../errors";
import type { FormParams } from "../../http/form";
import type { ClientAuthReason } from "../oauth-reasons";

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** HAAPI: a CAT as the client assertion (Curity's client_assertion_type). */
export const CURITY_ATTESTATION = "urn:se:curity:attestation:client";

/** What the request presented, before anything is verified. */
export type Presented =
  | { kind: "basic"; clientId: string; secret: string }
  | { kind: "post"; clientId: string; secret: string }
  | { kind: "assertion"; clientId: string; assertion: string }
  | { kind: "cat"; clientId: string; cat: string; via: "assertion" }
  | { kind: "cat"; clientId: string; cat: string; via: "header"; pop: string | null }
  | { kind: "none"; clientId: string };

/** Headers of attestation-based client authentication (IETF draft), as presented. */
export interface AttestationHeaders {
  readonly attestation: string | null;
  readonly pop: string | null;
}

function subjectOf(jwt: string, onError: () => OAuthError): string {
  let subject: unknown;
  try {
    subject = decodeJwt(jwt).sub;
  } catch {
    throw onError();
  }
  if (typeof subject !== "string") throw onError();
  return subject;
}

/** 401 invalid_client, one public text for every cause; a Basic challenge when Basic was tried (RFC 6749 §5.2). */
export function invalidClient(
  reason: ClientAuthReason,
  basicTried: boolean,
  detail?: Readonly<Record<string, unknown>>,
): OAuthError {
  return new OAuthError("invalid_client", "client authentication failed", {
    reason,
    ...(detail ? { detail } : {}),
    headers: basicTried ? { "WWW-Authenticate": 'Basic realm="haapi-edge", charset="UTF-8"' } : {},
  });
}

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, "%20"));
}

function parseBasic(header: string): { clientId: string; secret: string } {
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(atob(header.slice(6).trim()), (char) => char.charCodeAt(0)),
    );
  } catch {
    throw invalidClient("basic_not_base64", true);
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) throw invalidClient("basic_no_colon", true);
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient("basic_bad_encoding", true);
  }
}

/** Find out which single method the request uses and for which client_id. */
export function presentedCredential(
  authorization: string | null,
  form: FormParams,
  maxHeader: number,
  headers: AttestationHeaders,
): Presented {
  const kinds: Presented[] = [];
  const bodyClientId = form.get("client_id");
  if (authorization !== null) {
    if (authorization.length > maxHeader)
      throw new OAuthError("invalid_request", "Authorization header too large", {
        reason: "authorization_header_too_large",
      });
    if (!/^basic /i.test(authorization))
      throw new OAuthError("invalid_request", "unsupported Authorization scheme at the token endpoint", {
        reason: "authorization_scheme_unsupported",
        detail: { scheme: authorization.split(" ")[0]?.slice(0, 20) },
      });
    kinds.push({ kind: "basic", ...parseBasic(authorization) });
  }
  if (form.has("client_secret")) {
    if (!bodyClientId) throw invalidClient("post_without_client_id", false);
    kinds.push({ kind: "post", clientId: bodyClientId, secret: form.get("client_secret")! });
  }
  if (form.has("client_assertion") || form.has("client_assertion_type")) {
    const type = form.get("client_assertion_type");
    const assertion = form.get("client_assertion");
    if (type !== JWT_BEARER && type !== CURITY_ATTESTATION) {
      throw new OAuthError("invalid_request", "unsupported client_assertion_type", {
        reason: "client_assertion_type_unsupported",
        detail: { client_assertion_type: type?.slice(0, 100) ?? null },
      });
    }
    if (!assertion)
      throw new OAuthError("invalid_request", "client_assertion is required", {
        reason: "parameter_missing",
        detail: { parameter: "client_assertion" },
      });
    const clientId = subjectOf(assertion, () => invalidClient("assertion_malformed", false));
    kinds.push(
      type === JWT_BEARER
        ? { kind: "assertion", clientId, assertion }
        : { kind: "cat", clientId, cat: assertion, via: "assertion" },
    );
  }
  if (headers.attestation !== null) {
    if (headers.attestation.length > maxHeader || (headers.pop?.length ?? 0) > maxHeader)
      throw new OAuthError("invalid_request", "client attestation header too large", {
        reason: "attestation_header_too_large",
      });
    if (headers.attestation.includes(",") || headers.pop?.includes(",")) {
      throw new OAuthError(
        "invalid_request",
        "exactly one OAuth-Client-Attestation and at most one OAuth-Client-Attestation-PoP header",
        { reason: "attestation_header_repeated" },
      );
    }
    const clientId = subjectOf(
      headers.attestation,
      () =>
        new OAuthError("invalid_client_attestation", "client attestation is malformed", {
          reason: "cat_header_malformed",
        }),
    );
    kinds.push({ kind: "cat", clientId, cat: headers.attestation, via: "header", pop: headers.pop });
  } else if (headers.pop !== null) {
    throw new OAuthError("invalid_request", "OAuth-Client-Attestation-PoP without OAuth-Client-Attestation", {
      reason: "attestation_pop_without_attestation",
    });
  }
  if (kinds.length > 1)
    throw new OAuthError("invalid_request", "more than one client authentication method", {
      reason: "client_authentication_methods_multiple",
      detail: { methods: kinds.map((k) => k.kind) },
    });
  const [only] = kinds;
  if (only) {
    if (bodyClientId !== undefined && bodyClientId !== only.clientId)
      throw invalidClient("client_id_mismatch", only.kind === "basic");
    return only;
  }
  if (!bodyClientId) throw invalidClient("no_client_authentication", false);
  return { kind: "none", clientId: bodyClientId };
}
