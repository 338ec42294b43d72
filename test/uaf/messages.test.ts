/**
 * parseUafResponse: the uafResponse string as the SDKs send it (a JSON array holding one response),
 * with the path of the first bad member on refusal.
 */
import { describe, expect, it } from "vitest";
import { MAX_UAF_RESPONSE_CHARS, parseUafResponse } from "../../src/uaf/messages";
import vectors from "../vectors/fido-uaf/ebay-uaf-vectors.json";

const reg = vectors.registration_spec_example.response;
const auth = vectors.authentication_der.response;

describe("parseUafResponse", () => {
  it("parses the vectors' responses, dropping unknown members", () => {
    const parsed = parseUafResponse(JSON.stringify([{ ...reg, extra: true }]), "Reg");
    expect(parsed).toEqual({ ok: true, value: [reg] });
    expect(parseUafResponse(JSON.stringify([auth]), "Auth")).toEqual({ ok: true, value: [auth] });
  });

  it.each([
    ["not JSON", "[{", "(root)"],
    ["an object instead of an array", JSON.stringify(reg), "(root)"],
    ["an empty array", "[]", "(root)"],
    ["two responses", JSON.stringify([reg, reg]), "(root)"],
    ["no fcParams", JSON.stringify([{ ...reg, fcParams: undefined }]), "[0].fcParams"],
    [
      "an assertion that is not a string",
      JSON.stringify([{ ...reg, assertions: [{ assertionScheme: "UAFV1TLV", assertion: 5 }] }]),
      "[0].assertions[0].assertion",
    ],
    ["no assertions", JSON.stringify([{ ...reg, assertions: [] }]), "[0].assertions"],
    ["an unknown op", JSON.stringify([{ ...reg, header: { ...reg.header, op: "Login" } }]), "[0].header.op"],
    [
      "a fractional upv",
      JSON.stringify([{ ...reg, header: { ...reg.header, upv: { major: 1, minor: 0.5 } } }]),
      "[0].header.upv.minor",
    ],
  ])("refuses %s, naming the member", (_, text, path) => {
    const parsed = parseUafResponse(text, "Reg");
    expect(parsed).toMatchObject({ ok: false, reason: "uaf_response_malformed", detail: { path } });
  });

  it("refuses an oversized string before parsing it", () => {
    const big = JSON.stringify([{ ...reg, fcParams: "a".repeat(MAX_UAF_RESPONSE_CHARS) }]);
    expect(parseUafResponse(big, "Reg")).toMatchObject({
      ok: false,
      reason: "uaf_response_malformed",
      detail: { path: "(root)" },
    });
  });

  it("refuses a non-string input", () => {
    expect(parseUafResponse(42 as unknown as string, "Auth")).toMatchObject({
      ok: false,
      reason: "uaf_response_malformed",
    });
  });
});
