/**
 * WebSession: one record per browser session, created when a login in a browser finishes (the HTML
 * rendering of the login flow). Its id and a 256-bit secret make the `haapi-session` cookie; the record
 * holds only SHA-256 of the secret. The FIDO UAF services accept the cookie as the Nevis SDK's
 * CookieAuthorizationProvider (an app that logged its user in through a web view registers with it).
 * The record goes when the session expires.
 */
import { constantTimeEqual } from "../verifiers/constant-time";
import { recordKind, type Step } from "./record";

export interface WebSessionRecord {
  readonly id: string;
  /** SHA-256 (base64url) of the cookie's secret. */
  readonly secret_hash: string;
  readonly sub: string;
  readonly username: string;
  readonly acr: string;
  readonly amr: readonly string[];
  readonly auth_time: number;
  readonly created_at: number;
  readonly expires_at: number;
}

export const webSessionKind = recordKind({
  name: "web-session",
  expiresAt: (record: WebSessionRecord) => record.expires_at,
  operations: {
    create: (current: WebSessionRecord | null, record: WebSessionRecord): Step<WebSessionRecord, boolean> =>
      current ? { outcome: false } : { next: record, outcome: true },

    /** The session, when `secretHash` is its secret's and it has not expired. */
    read: (current: WebSessionRecord | null, secretHash: string): Step<WebSessionRecord, WebSessionRecord | null> => ({
      outcome: current !== null && constantTimeEqual(current.secret_hash, secretHash) ? current : null,
    }),

    /** Whether the session is still live: for a session id the server sealed itself (a UAF request's serverData). */
    isLive: (current: WebSessionRecord | null): Step<WebSessionRecord, boolean> => ({ outcome: current !== null }),
  },
});

export type WebSessionOperations = typeof webSessionKind.operations;
