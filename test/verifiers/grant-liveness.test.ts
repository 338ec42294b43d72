/**
 * checkGrantLive (src/verifiers/grant-liveness.ts): the one judgment of whether a grant still stands
 * behind a token of a login. Records are built here as the Grant object stores them.
 */
import { describe, expect, it } from "vitest";
import type { GrantRecord } from "../../src/kv/grant";
import { checkGrantLive } from "../../src/verifiers/grant-liveness";
import { grantRecord } from "../fixtures/grant-record";

const NOW = 1_795_000_000;

/** A grant of flow-client for user-1 whose code was redeemed, with a refresh token. */
function grant(overrides: Partial<GrantRecord> = {}): GrantRecord {
  return grantRecord("ab".repeat(32), NOW, {
    client_id: "flow-client",
    code: { hash: "h", expires_at: NOW + 60, code_challenge: "c".repeat(43), used_at: NOW - 30 },
    refresh: { hash: "r", expires_at: NOW + 3600 },
    expires_at: NOW + 3600,
    ...overrides,
  });
}

describe("checkGrantLive", () => {
  it("a live grant of the expected client and user", () => {
    const record = grant();
    expect(checkGrantLive(record, { clientId: "flow-client", subject: "user-1" })).toEqual({ ok: true, value: record });
    expect(checkGrantLive(record, {})).toEqual({ ok: true, value: record });
  });

  it("no grant (never issued, or deleted after its tokens expired)", () => {
    expect(checkGrantLive(null, { clientId: "flow-client" })).toMatchObject({ ok: false, reason: "grant_unknown" });
  });

  it("a revoked grant, whatever revoked it (revocation, a replayed code, a reused refresh token)", () => {
    expect(checkGrantLive(grant({ revoked_at: NOW - 1 }), { clientId: "flow-client", subject: "user-1" })).toEqual({
      ok: false,
      reason: "grant_revoked",
      detail: { revoked_at: NOW - 1 },
    });
    // Revocation wins over every other check.
    expect(checkGrantLive(grant({ revoked_at: NOW - 1 }), {})).toMatchObject({ ok: false, reason: "grant_revoked" });
  });

  it("a grant of another client or another user than the token names", () => {
    expect(checkGrantLive(grant(), { clientId: "web-client", subject: "user-1" })).toMatchObject({
      ok: false,
      reason: "grant_of_another_client",
    });
    expect(checkGrantLive(grant(), { clientId: "flow-client", subject: "user-2" })).toMatchObject({
      ok: false,
      reason: "grant_of_another_user",
    });
  });
});
