/**
 * Trusted facets: the document the AppID URL serves and the facet ID syntax the configuration accepts.
 */
import { describe, expect, it } from "vitest";
import { checkFacetId, trustedFacets } from "../../src/uaf/facets";

describe("checkFacetId", () => {
  it.each([
    "android:apk-key-hash:bE0f1WtRJrZv/C0y9CM73bAUqiI",
    "android:apk-key-hash-sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
    "ios:bundle-id:com.example.app",
    "ios:bundle-id:ch.nevis.access-app",
    "https://login.example.com",
    "https://login.example.com:8443",
  ])("accepts %s", (id) => {
    expect(checkFacetId(id)).toEqual({ ok: true, value: id });
  });

  it.each([
    ["android:apk-key-hash:bE0f1WtRJrZv/C0y9CM73bAUqiI=", "facet_android_hash_invalid"], // padded
    ["android:apk-key-hash:bE0f1WtRJrZv_C0y9CM73bAUqiI", "facet_android_hash_invalid"], // base64url alphabet
    ["android:apk-key-hash:bE0f1WtRJrZv/C0y9CM73bAUqi", "facet_android_hash_invalid"], // 19.5 bytes
    ["android:apk-key-hash:bE0f1WtRJrZv/C0y9CM73bAUqiJ", "facet_android_hash_invalid"], // non-zero unused bits
    ["android:apk-key-hash-sha256:bE0f1WtRJrZv/C0y9CM73bAUqiI", "facet_android_sha256_hash_invalid"], // a SHA-1
    ["ios:bundle-id:", "facet_ios_bundle_id_invalid"],
    ["ios:bundle-id:app", "facet_ios_bundle_id_invalid"],
    ["ios:bundle-id:com.example app", "facet_ios_bundle_id_invalid"],
    ["https://login.example.com/", "facet_origin_invalid"],
    ["https://login.example.com/_app/uaf/1.1/facets", "facet_origin_invalid"],
    ["https://LOGIN.example.com", "facet_origin_invalid"],
    ["http://login.example.com", "facet_scheme_unknown"],
    ["com.noknok.android.sampleapp", "facet_scheme_unknown"],
  ])("refuses %s with %s", (id, reason) => {
    expect(checkFacetId(id)).toMatchObject({ ok: false, reason });
  });
});

describe("trustedFacets", () => {
  it("is the UAF 1.1 trusted facets document, without duplicates", () => {
    const ids = [
      "android:apk-key-hash:bE0f1WtRJrZv/C0y9CM73bAUqiI",
      "ios:bundle-id:com.example.app",
      "ios:bundle-id:com.example.app",
    ];
    expect(trustedFacets(ids)).toEqual({ trustedFacets: [{ version: { major: 1, minor: 1 }, ids: ids.slice(0, 2) }] });
  });
});
