/**
 * checkRegistrationMetadata (src/verifiers/registration-metadata.ts): a registration may narrow its
 * template, never widen it. Every refusal is checked for its reason and the member it names.
 */
import { base64url, exportJWK, generateKeyPair, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checkRegistrationMetadata,
  type MetadataFailure,
  type TemplateAllowance,
} from "../../src/verifiers/registration-metadata";

const TEMPLATE: TemplateAllowance = {
  templateId: "haapi-template-client",
  clientName: "Dynamic clients of haapi-client",
  scopes: ["urn:se:curity:scopes:haapi", "openid", "profile"],
  grantTypes: ["client_credentials", "authorization_code", "refresh_token"],
  redirectUris: ["app://haapi", "https://app.example.com/callback"],
  secret: true,
  deviceKeys: true,
  defaultMethod: "client_secret_basic",
  dpopBound: false,
};

/** A template that hands out no secrets: only device keys. */
const KEYS_ONLY: TemplateAllowance = { ...TEMPLATE, secret: false, defaultMethod: "private_key_jwt" };
/** A template that takes no device keys: only secrets. */
const SECRET_ONLY: TemplateAllowance = { ...TEMPLATE, deviceKeys: false };

let ecKey: JWK;
let ec384Key: JWK;
let rsaKey: JWK;
let smallRsaKey: JWK;
let edKey: JWK;
let ecPrivate: JWK;

beforeAll(async () => {
  const publicJwk = async (alg: string, options: Record<string, unknown> = {}) =>
    exportJWK((await generateKeyPair(alg, { extractable: true, ...options })).publicKey);
  ecKey = { ...(await publicJwk("ES256")), kid: "device-1" };
  ec384Key = await publicJwk("ES384");
  rsaKey = await publicJwk("RS256", { modulusLength: 2048 });
  // jose refuses to generate it; WebCrypto does not.
  const small = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  smallRsaKey = await exportJWK(small.publicKey);
  edKey = await publicJwk("EdDSA", { crv: "Ed25519" });
  ecPrivate = await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey);
});

const register = (input: Record<string, unknown>, template: TemplateAllowance = TEMPLATE) =>
  checkRegistrationMetadata({ software_id: template.templateId, ...input }, template);

async function accepted(input: Record<string, unknown>, template: TemplateAllowance = TEMPLATE) {
  const result = await register(input, template);
  if (!result.ok) expect.unreachable(`refused: ${JSON.stringify(result)}`);
  return result.value;
}

async function refused(
  input: Record<string, unknown>,
  field: string,
  reason: MetadataFailure = "invalid_client_metadata",
  template: TemplateAllowance = TEMPLATE,
) {
  const result = await register(input, template);
  expect(result, JSON.stringify(result)).toMatchObject({ ok: false, reason, detail: { field } });
  if (result.ok) throw new Error("unreachable");
  expect(typeof result.detail?.problem).toBe("string");
  return result.detail!.problem as string;
}

describe("defaults come from the template", () => {
  it("a registration naming only software_id gets the template's settings and a secret method", async () => {
    expect(await accepted({})).toEqual({
      client_name: "Dynamic clients of haapi-client",
      redirect_uris: ["app://haapi", "https://app.example.com/callback"],
      grant_types: ["client_credentials", "authorization_code", "refresh_token"],
      response_types: ["code"],
      scope: "urn:se:curity:scopes:haapi openid profile",
      token_endpoint_auth_method: "client_secret_basic",
      software_id: "haapi-template-client",
    });
  });

  it("no client_name when the template has none; dpop_bound_access_tokens when the template has it", async () => {
    const value = await accepted({}, { ...TEMPLATE, clientName: undefined, dpopBound: true });
    expect(value).not.toHaveProperty("client_name");
    expect(value.dpop_bound_access_tokens).toBe(true);
  });

  it("a template without the code flow gives no response types", async () => {
    const value = await accepted({}, { ...TEMPLATE, grantTypes: ["client_credentials"], redirectUris: [] });
    expect(value).toMatchObject({ grant_types: ["client_credentials"], response_types: [], redirect_uris: [] });
  });

  it("the template's default method private_key_jwt, or jwks without a method, selects private_key_jwt", async () => {
    expect((await accepted({ jwks: { keys: [ecKey] } }, KEYS_ONLY)).token_endpoint_auth_method).toBe("private_key_jwt");
    expect((await accepted({ jwks: { keys: [ecKey] } })).token_endpoint_auth_method).toBe("private_key_jwt");
  });

  it("the template's default private_key_jwt without jwks names jwks", async () => {
    await refused({}, "jwks", "invalid_client_metadata", KEYS_ONLY);
  });

  it("the template's code flow without any redirect URI names redirect_uris", async () => {
    await refused({}, "redirect_uris", "invalid_client_metadata", { ...TEMPLATE, redirectUris: [] });
  });
});

describe("narrowing is accepted", () => {
  it("a subset of the scopes", async () => {
    expect((await accepted({ scope: "openid" })).scope).toBe("openid");
    expect((await accepted({ scope: "profile urn:se:curity:scopes:haapi" })).scope).toBe(
      "profile urn:se:curity:scopes:haapi",
    );
  });

  it("a subset of the grant types, with response types following them", async () => {
    expect(await accepted({ grant_types: ["client_credentials"] })).toMatchObject({
      grant_types: ["client_credentials"],
      response_types: [],
    });
    expect(await accepted({ grant_types: ["authorization_code"], response_types: ["code"] })).toMatchObject({
      grant_types: ["authorization_code"],
      response_types: ["code"],
    });
  });

  it("a subset of the redirect URIs; an empty list keeps the template's", async () => {
    expect((await accepted({ redirect_uris: ["app://haapi"] })).redirect_uris).toEqual(["app://haapi"]);
    expect((await accepted({ redirect_uris: [] })).redirect_uris).toEqual(TEMPLATE.redirectUris);
  });

  it("either secret method", async () => {
    expect((await accepted({ token_endpoint_auth_method: "client_secret_post" })).token_endpoint_auth_method).toBe(
      "client_secret_post",
    );
    expect((await accepted({ token_endpoint_auth_method: "client_secret_basic" })).token_endpoint_auth_method).toBe(
      "client_secret_basic",
    );
  });

  it("private_key_jwt with jwks of each key type, and a signing alg", async () => {
    for (const key of [ecKey, ec384Key, rsaKey, edKey]) {
      const value = await accepted({ token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [key] } });
      expect(value.jwks).toEqual({ keys: [key] });
      expect(value).not.toHaveProperty("token_endpoint_auth_signing_alg");
    }
    const value = await accepted({
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "ES256",
      jwks: { keys: [{ ...ecKey, alg: "ES256", use: "sig" }] },
    });
    expect(value.token_endpoint_auth_signing_alg).toBe("ES256");
  });

  it("up to five keys", async () => {
    expect(
      (await accepted({ jwks: { keys: [ecKey, ec384Key, rsaKey, edKey, { ...ecKey, kid: "device-2" }] } })).jwks?.keys,
    ).toHaveLength(5);
  });

  it("DPoP-bound tokens turned on, or left on", async () => {
    expect((await accepted({ dpop_bound_access_tokens: true })).dpop_bound_access_tokens).toBe(true);
    expect(
      (await accepted({ dpop_bound_access_tokens: true }, { ...TEMPLATE, dpopBound: true })).dpop_bound_access_tokens,
    ).toBe(true);
    expect(await accepted({ dpop_bound_access_tokens: false })).not.toHaveProperty("dpop_bound_access_tokens");
  });

  it("its own client_name and software_version", async () => {
    expect(await accepted({ client_name: "My phone", software_version: "1.2.3" })).toMatchObject({
      client_name: "My phone",
      software_version: "1.2.3",
    });
    expect((await accepted({ client_name: "x".repeat(200) })).client_name).toHaveLength(200);
  });
});

describe("widening is refused, naming the member", () => {
  it("a scope outside the template", async () => {
    expect(await refused({ scope: "openid admin" }, "scope")).toContain("admin");
    await refused({ scope: "dcr" }, "scope");
  });

  it("a malformed scope", async () => {
    await refused({ scope: "" }, "scope");
    await refused({ scope: "openid  profile" }, "scope");
    await refused({ scope: 'open"id' }, "scope");
  });

  it("a grant type outside the template", async () => {
    expect(await refused({ grant_types: ["client_credentials", "password"] }, "grant_types")).toContain("password");
    await refused({ grant_types: ["authorization_code"] }, "grant_types", "invalid_client_metadata", {
      ...TEMPLATE,
      grantTypes: ["client_credentials"],
      redirectUris: [],
    });
  });

  it("an empty grant_types list", async () => {
    await refused({ grant_types: [] }, "grant_types");
  });

  it("a redirect URI outside the template is invalid_redirect_uri", async () => {
    expect(
      await refused(
        { redirect_uris: ["app://haapi", "https://evil.example/cb"] },
        "redirect_uris",
        "invalid_redirect_uri",
      ),
    ).toContain("https://evil.example/cb");
    await refused({ redirect_uris: ["app://haapi/"] }, "redirect_uris", "invalid_redirect_uri");
  });

  it("response types inconsistent with the grant types", async () => {
    await refused({ grant_types: ["client_credentials"], response_types: ["code"] }, "response_types");
    await refused({ response_types: ["token"] }, "response_types");
    await refused({ response_types: ["code", "id_token"] }, "response_types");
  });

  it("token_endpoint_auth_method none or unknown", async () => {
    for (const method of [
      "none",
      "tls_client_auth",
      "self_signed_tls_client_auth",
      "client_secret_jwt",
      "CLIENT_SECRET_BASIC",
    ]) {
      await refused({ token_endpoint_auth_method: method }, "token_endpoint_auth_method");
    }
  });

  it("a secret method when the template hands out no secrets", async () => {
    expect(
      await refused(
        { token_endpoint_auth_method: "client_secret_basic" },
        "token_endpoint_auth_method",
        "invalid_client_metadata",
        KEYS_ONLY,
      ),
    ).toMatch(/secret/);
    await refused(
      { token_endpoint_auth_method: "client_secret_post" },
      "token_endpoint_auth_method",
      "invalid_client_metadata",
      KEYS_ONLY,
    );
  });

  it("private_key_jwt when the template takes no device keys", async () => {
    await refused(
      { token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [ecKey] } },
      "token_endpoint_auth_method",
      "invalid_client_metadata",
      SECRET_ONLY,
    );
    // jwks alone would select private_key_jwt: refused the same way.
    await refused({ jwks: { keys: [ecKey] } }, "token_endpoint_auth_method", "invalid_client_metadata", SECRET_ONLY);
  });

  it("private_key_jwt without jwks", async () => {
    await refused({ token_endpoint_auth_method: "private_key_jwt" }, "jwks");
  });

  it("jwks with a secret method", async () => {
    expect(
      await refused({ token_endpoint_auth_method: "client_secret_basic", jwks: { keys: [ecKey] } }, "jwks"),
    ).toMatch(/client_secret_basic/);
  });

  it("jwks_uri, in any form", async () => {
    await refused({ jwks_uri: "https://device.example/jwks" }, "jwks_uri");
    await refused({ jwks_uri: "https://device.example/jwks", jwks: { keys: [ecKey] } }, "jwks_uri");
  });

  it("token_endpoint_auth_signing_alg HS256, none, or with a secret method", async () => {
    await refused(
      {
        token_endpoint_auth_method: "private_key_jwt",
        token_endpoint_auth_signing_alg: "HS256",
        jwks: { keys: [ecKey] },
      },
      "token_endpoint_auth_signing_alg",
    );
    await refused(
      {
        token_endpoint_auth_method: "private_key_jwt",
        token_endpoint_auth_signing_alg: "none",
        jwks: { keys: [ecKey] },
      },
      "token_endpoint_auth_signing_alg",
    );
    await refused({ token_endpoint_auth_signing_alg: "ES256" }, "token_endpoint_auth_signing_alg");
    await refused(
      { token_endpoint_auth_method: "client_secret_post", token_endpoint_auth_signing_alg: "ES256" },
      "token_endpoint_auth_signing_alg",
    );
  });

  it("dpop_bound_access_tokens false when the template requires it", async () => {
    await refused({ dpop_bound_access_tokens: false }, "dpop_bound_access_tokens", "invalid_client_metadata", {
      ...TEMPLATE,
      dpopBound: true,
    });
  });

  it("a software_id that is not the template's, or none", async () => {
    await refused({ software_id: "other-template" }, "software_id");
    const result = await checkRegistrationMetadata({}, TEMPLATE);
    expect(result).toMatchObject({ ok: false, reason: "invalid_client_metadata", detail: { field: "software_id" } });
  });

  it("a client_name that is empty or longer than 200 characters", async () => {
    await refused({ client_name: "x".repeat(201) }, "client_name");
    await refused({ client_name: "" }, "client_name");
  });

  it("a software_version longer than 100 characters", async () => {
    await refused({ software_version: "1".repeat(101) }, "software_version");
  });
});

describe("device keys (jwks)", () => {
  const withKeys = (keys: unknown) => ({ token_endpoint_auth_method: "private_key_jwt", jwks: { keys } });

  it("private key members", async () => {
    expect(await refused(withKeys([ecPrivate]), "jwks.keys[0]")).toMatch(/private/);
    for (const member of ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
      await refused(withKeys([ecKey, { ...rsaKey, [member]: "AQAB" }]), "jwks.keys[1]");
  });

  it("symmetric keys", async () => {
    await refused(withKeys([{ kty: "oct", k: "c2VjcmV0" }]), "jwks.keys[0]");
    expect(await refused(withKeys([{ kty: "oct" }]), "jwks.keys[0]")).toMatch(/kty/);
  });

  it("an unknown kty or none", async () => {
    await refused(withKeys([{ ...ecKey, kty: "ec" }]), "jwks.keys[0]");
    const { kty: _kty, ...noKty } = ecKey;
    await refused(withKeys([noKty]), "jwks.keys[0]");
  });

  it("a curve this server cannot verify", async () => {
    expect(await refused(withKeys([{ ...ecKey, crv: "P-192" }]), "jwks.keys[0]")).toMatch(/curve/);
    await refused(withKeys([{ ...ecKey, crv: "secp256k1" }]), "jwks.keys[0]");
    // A P-256 key announced as P-384: not importable.
    await refused(withKeys([{ ...ecKey, crv: "P-384" }]), "jwks.keys[0]");
    // An X25519 (key agreement) key is no signing key.
    await refused(withKeys([{ ...edKey, crv: "X25519" }]), "jwks.keys[0]");
  });

  it("an RSA key under 2048 bits", async () => {
    expect(await refused(withKeys([smallRsaKey]), "jwks.keys[0]")).toMatch(/2048/);
  });

  it("an RSA key under 2048 bits whose modulus is padded with leading zeros to look long enough", async () => {
    const n = base64url.decode(smallRsaKey.n!);
    const padded = new Uint8Array(256);
    padded.set(n, 256 - n.length);
    const disguised = { ...smallRsaKey, n: base64url.encode(padded) };
    expect(disguised.n.length).toBe(rsaKey.n!.length);
    expect(await refused(withKeys([disguised]), "jwks.keys[0]")).toMatch(/2048/);
  });

  it("key_ops that do not allow verification", async () => {
    await refused(withKeys([{ ...ecKey, key_ops: ["encrypt"] }]), "jwks.keys[0]");
    await refused(withKeys([{ ...ecKey, key_ops: ["sign"] }]), "jwks.keys[0]");
  });

  it("keys that cannot be imported", async () => {
    expect(await refused(withKeys([{ ...ecKey, x: "AAAA" }]), "jwks.keys[0]")).toMatch(/valid public key/);
    await refused(withKeys([{ kty: "EC", crv: "P-256" }]), "jwks.keys[0]");
    await refused(withKeys([{ ...rsaKey, e: 65537 }]), "jwks.keys[0]");
    // The alg does not fit the key.
    await refused(withKeys([{ ...ecKey, alg: "RS256" }]), "jwks.keys[0]");
    await refused(withKeys([{ ...ecKey, alg: "ES384" }]), "jwks.keys[0]");
  });

  it("an alg that is not an asymmetric signature alg", async () => {
    await refused(withKeys([{ ...ecKey, alg: "HS256" }]), "jwks.keys[0]");
    await refused(withKeys([{ ...ecKey, alg: "none" }]), "jwks.keys[0]");
    await refused(withKeys([{ ...rsaKey, alg: "RSA-OAEP" }]), "jwks.keys[0]");
  });

  it('use "enc"', async () => {
    expect(await refused(withKeys([{ ...ecKey, use: "enc" }]), "jwks.keys[0]")).toMatch(/use/);
  });

  it("more than five keys, none, or not a key set", async () => {
    await refused(withKeys([ecKey, ecKey, ecKey, ecKey, ecKey, ecKey]), "jwks");
    await refused(withKeys([]), "jwks");
    await refused({ token_endpoint_auth_method: "private_key_jwt", jwks: [ecKey] }, "jwks");
    await refused({ token_endpoint_auth_method: "private_key_jwt", jwks: ecKey }, "jwks");
    await refused({ token_endpoint_auth_method: "private_key_jwt", jwks: null }, "jwks");
    await refused({ token_endpoint_auth_method: "private_key_jwt", jwks: "{}" }, "jwks");
  });

  it("keys that are not objects", async () => {
    await refused(withKeys(["key"]), "jwks.keys[0]");
    await refused(withKeys([null]), "jwks.keys[0]");
    await refused(withKeys([ecKey, [ecKey]]), "jwks.keys[1]");
  });

  it("only the known public members are kept", async () => {
    const key = {
      ...ecKey,
      alg: "ES256",
      use: "sig",
      key_ops: ["verify"],
      ext: true,
      extra: "dropped",
      nested: { a: 1 },
      x5c: ["MIIB"],
      kid: "k",
      iat: 1,
    };
    const value = await accepted(withKeys([key]));
    expect(value.jwks).toEqual({
      keys: [
        {
          kty: "EC",
          crv: "P-256",
          x: ecKey.x,
          y: ecKey.y,
          kid: "k",
          alg: "ES256",
          use: "sig",
          key_ops: ["verify"],
          x5c: ["MIIB"],
        },
      ],
    });
  });
});

describe("members of the wrong type", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["software_id", { software_id: 7 }],
    ["client_name", { client_name: 7 }],
    ["client_name", { client_name: ["name"] }],
    ["software_version", { software_version: 1.2 }],
    ["scope", { scope: ["openid"] }],
    ["scope", { scope: null }],
    ["grant_types", { grant_types: "client_credentials" }],
    ["grant_types", { grant_types: [1] }],
    ["grant_types", { grant_types: [""] }],
    ["grant_types", { grant_types: null }],
    ["response_types", { response_types: "code" }],
    ["response_types", { response_types: [null] }],
    ["redirect_uris", { redirect_uris: "app://haapi" }],
    ["redirect_uris", { redirect_uris: [{ uri: "app://haapi" }] }],
    ["redirect_uris", { redirect_uris: Array.from({ length: 21 }, () => "app://haapi") }],
    ["token_endpoint_auth_method", { token_endpoint_auth_method: 1 }],
    ["token_endpoint_auth_method", { token_endpoint_auth_method: ["client_secret_basic"] }],
    ["token_endpoint_auth_signing_alg", { token_endpoint_auth_signing_alg: ["ES256"] }],
    ["dpop_bound_access_tokens", { dpop_bound_access_tokens: "true" }],
    ["dpop_bound_access_tokens", { dpop_bound_access_tokens: 1 }],
    ["jwks", { jwks: 5 }],
    ["jwks", { jwks: { keys: "none" } }],
  ];
  for (const [field, input] of cases) {
    it(`${field}: ${JSON.stringify(Object.values(input)[0]).slice(0, 40)}`, async () => {
      const result = await checkRegistrationMetadata({ software_id: TEMPLATE.templateId, ...input }, TEMPLATE);
      expect(result).toMatchObject({ ok: false, reason: "invalid_client_metadata", detail: { field } });
    });
  }
});

describe("leniency where RFC 7591 asks for it", () => {
  it("unknown members are ignored and not stored", async () => {
    const value = await accepted({
      logo_uri: "https://x.example/logo.png",
      contacts: ["a@example.com"],
      tos_uri: 7,
      something_else: { nested: true },
      client_secret: "mine",
      client_id: "chosen",
    });
    expect(value).toEqual(await accepted({}));
  });

  it("duplicates in arrays and in scope are collapsed", async () => {
    const value = await accepted({
      scope: "openid openid profile",
      grant_types: ["client_credentials", "authorization_code", "client_credentials"],
      response_types: ["code", "code"],
      redirect_uris: ["app://haapi", "app://haapi"],
    });
    expect(value).toMatchObject({
      scope: "openid profile",
      grant_types: ["client_credentials", "authorization_code"],
      response_types: ["code"],
      redirect_uris: ["app://haapi"],
    });
  });

  it("the input is not modified", async () => {
    const input = Object.freeze({
      software_id: TEMPLATE.templateId,
      scope: "openid",
      jwks: Object.freeze({ keys: Object.freeze([Object.freeze({ ...ecKey, extra: 1 })]) }),
    });
    const value = await accepted(input);
    expect(value.jwks?.keys[0]).not.toHaveProperty("extra");
    expect(input.jwks.keys[0]).toHaveProperty("extra");
  });
});
