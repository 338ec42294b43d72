/**
 * verifyWebOrigin (src/verifiers/web-origin.ts): the Origin header as a web client's "attestation".
 * Every WebOriginFailure is reached, plus the success and disabled paths. Pure: no clock involved.
 */
import { describe, expect, it } from "vitest";
import {
  verifyWebAttestation,
  verifyWebOrigin,
  type WebOriginFailure,
  type WebOriginPolicy,
} from "../../src/verifiers/web-origin";

const POLICY: WebOriginPolicy = {
  allowedOrigins: ["https://app.example", "http://localhost:3000"],
  disableOriginVerification: false,
};

function expectFailure(origin: string | null, reason: WebOriginFailure, policy: WebOriginPolicy = POLICY) {
  const result = verifyWebOrigin(origin, policy);
  expect(result.ok, JSON.stringify(result)).toBe(false);
  if (!result.ok) expect(result.reason).toBe(reason);
  return result;
}

describe("verifyWebOrigin: success", () => {
  it.each([
    ["https://app.example", "https://app.example"],
    ["http://localhost:3000", "http://localhost:3000"],
    // The URL parser normalizes case and the default port.
    ["https://APP.example", "https://app.example"],
    ["https://app.example:443", "https://app.example"],
  ])("accepts %s as %s", (origin, normalized) => {
    expect(verifyWebOrigin(origin, POLICY)).toEqual({ ok: true, value: { origin: normalized, verified: true } });
  });

  it("compares with allowed origins written with a trailing slash or default port", () => {
    const policy = { allowedOrigins: ["https://app.example:443/"], disableOriginVerification: false };
    expect(verifyWebOrigin("https://app.example", policy)).toEqual({
      ok: true,
      value: { origin: "https://app.example", verified: true },
    });
  });
});

describe("verifyWebOrigin: disabled", () => {
  const open: WebOriginPolicy = { allowedOrigins: [], disableOriginVerification: true };

  it.each([["https://anything.example"], ["not a url"], [null], ["null"]])(
    "accepts %s unverified and passes it through",
    (origin) => {
      expect(verifyWebOrigin(origin, open)).toEqual({ ok: true, value: { origin, verified: false } });
    },
  );

  it("does not verify an origin that is in the allowed list either", () => {
    expect(verifyWebOrigin("https://app.example", { ...POLICY, disableOriginVerification: true })).toEqual({
      ok: true,
      value: { origin: "https://app.example", verified: false },
    });
  });
});

describe("verifyWebOrigin: origin_missing", () => {
  it("no Origin header", () => {
    expect(expectFailure(null, "origin_missing")).toEqual({ ok: false, reason: "origin_missing" });
  });

  it('the opaque origin "null" (sandboxed frame, file:, data:)', () => {
    expectFailure("null", "origin_missing");
  });
});

describe("verifyWebOrigin: origin_invalid", () => {
  it.each([
    ["not a URL", "app.example"],
    ["empty", ""],
    ["a path", "https://app.example/app"],
    ["a trailing slash", "https://app.example/"],
    ["a query", "https://app.example?x=1"],
    ["a fragment", "https://app.example#x"],
    ["an opaque-origin scheme", "data:text/plain,hi"],
    ["file:", "file:///etc/passwd"],
    ["a bad port", "https://app.example:99999"],
  ])("%s", (_, origin) => {
    const result = expectFailure(origin, "origin_invalid");
    expect(!result.ok && result.detail).toEqual({ origin });
  });

  it("truncates a long origin in the detail", () => {
    const origin = `https://app.example/${"a".repeat(500)}`;
    const result = expectFailure(origin, "origin_invalid");
    expect(!result.ok && String(result.detail?.origin).length).toBe(200);
  });
});

describe("verifyWebOrigin: origin_not_allowed", () => {
  it.each([
    ["another host", "https://evil.example"],
    ["another scheme", "http://app.example"],
    ["another port", "https://app.example:8443"],
    ["a subdomain", "https://www.app.example"],
    ["a suffix trick", "https://app.example.evil.example"],
    ["localhost on another port", "http://localhost:3001"],
  ])("%s", (_, origin) => {
    const result = expectFailure(origin, "origin_not_allowed");
    expect(!result.ok && result.detail).toEqual({ origin: new URL(origin).origin, allowed: POLICY.allowedOrigins });
  });

  it("with an empty allowed list", () => {
    expectFailure("https://app.example", "origin_not_allowed", {
      allowedOrigins: [],
      disableOriginVerification: false,
    });
  });
});

describe("verifyWebAttestation: from the web driver's iframe (attested origin) or direct (Origin header)", () => {
  const SERVER = "https://login.example";
  const policy = { ...POLICY, serverOrigin: SERVER };
  const fromPage = { requestOrigin: SERVER, fetchSite: "same-origin" };

  it("the iframe's same-origin request attests an allowed embedding origin", () => {
    expect(verifyWebAttestation({ ...fromPage, attestedOrigin: "https://app.example" }, policy)).toEqual({
      ok: true,
      value: { origin: "https://app.example", verified: true, via: "iframe" },
    });
  });

  it.each([
    ["another site's request", { requestOrigin: "https://app.example", fetchSite: "cross-site" }],
    ["the server's origin but cross-site", { requestOrigin: SERVER, fetchSite: "cross-site" }],
    ["same-site, not same-origin", { requestOrigin: "https://www.login.example", fetchSite: "same-site" }],
    ["no Sec-Fetch-Site", { requestOrigin: SERVER, fetchSite: null }],
    ["no Origin", { requestOrigin: null, fetchSite: "same-origin" }],
    ["the server's origin with a path", { requestOrigin: `${SERVER}/`, fetchSite: "same-origin" }],
  ])("refuses an attested origin not sent from the server's page: %s", (_, request) => {
    expect(verifyWebAttestation({ ...request, attestedOrigin: "https://app.example" }, policy)).toMatchObject({
      ok: false,
      reason: "not_from_server_page",
    });
  });

  it("refuses an attested origin that is not allowed, or not an origin", () => {
    expect(verifyWebAttestation({ ...fromPage, attestedOrigin: "https://evil.example" }, policy)).toMatchObject({
      ok: false,
      reason: "origin_not_allowed",
    });
    expect(verifyWebAttestation({ ...fromPage, attestedOrigin: "https://app.example/path" }, policy)).toMatchObject({
      ok: false,
      reason: "origin_invalid",
    });
    expect(verifyWebAttestation({ ...fromPage, attestedOrigin: "null" }, policy)).toMatchObject({
      ok: false,
      reason: "origin_missing",
    });
  });

  it("without an attested origin, the request's own Origin is checked (a direct request)", () => {
    expect(verifyWebAttestation({ requestOrigin: "https://app.example", fetchSite: "cross-site" }, policy)).toEqual({
      ok: true,
      value: { origin: "https://app.example", verified: true, via: "origin" },
    });
    expect(
      verifyWebAttestation({ requestOrigin: "https://evil.example", fetchSite: "cross-site" }, policy),
    ).toMatchObject({ ok: false, reason: "origin_not_allowed" });
  });

  it("disable_origin_verification skips both checks, and says so", () => {
    expect(
      verifyWebAttestation(
        { requestOrigin: null, fetchSite: null, attestedOrigin: "https://anything.example" },
        { ...policy, disableOriginVerification: true },
      ),
    ).toEqual({
      ok: true,
      value: { origin: "https://anything.example", verified: false, via: "iframe" },
    });
  });
});
