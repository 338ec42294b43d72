/**
 * A dynamic client is its registration under its template as the template is now: narrowing a template
 * in the configuration narrows every client registered from it.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load";
import type { DynamicClientRecord } from "../../src/kv/dynamic-client";
import { clientFromRecord, templateAllowance } from "../../src/routes/dynamic-clients";

const HAAPI = "urn:se:curity:scopes:haapi";

function config(templateScope: string, grants: string[], redirects: string[]) {
  return parseConfig({
    issuer: "https://login.example",
    clients: [
      {
        client_id: "main",
        client_secret_hash: "sha256$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        scope: `${HAAPI} dcr`,
        capabilities: { haapi: {} },
      },
      {
        client_id: "template",
        dynamic_client_registration_template: { authenticate_client_by: ["main"] },
        scope: templateScope,
        grant_types: grants,
        redirect_uris: redirects,
        capabilities: { haapi: { allow_without_attestation: true, access_token_ttl: 700 } },
      },
    ],
  });
}

const record: DynamicClientRecord = {
  client_id: "f".repeat(64),
  template_id: "template",
  main_client_id: "main",
  cal: "none",
  issued_at: 1_800_000_000,
  secret_expires_at: 0,
  client_secret_hash: "sha256$BBBBBBBBBBBBBBBBBBBBBB$BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
  registration_access_token_hash: "sha256$CCCCCCCCCCCCCCCCCCCCCC$CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
  metadata: {
    redirect_uris: ["app://haapi", "https://app.example/cb"],
    grant_types: ["client_credentials", "authorization_code"],
    response_types: ["code"],
    scope: `${HAAPI} openid profile`,
    token_endpoint_auth_method: "client_secret_basic",
    software_id: "template",
  },
  used_at: null,
  unused_deadline: 1_800_086_400,
};

describe("clientFromRecord", () => {
  it("carries the registration, the template's settings and the fixed assurance level", () => {
    const cfg = config(
      `${HAAPI} openid profile`,
      ["client_credentials", "authorization_code"],
      ["app://haapi", "https://app.example/cb"],
    );
    const client = clientFromRecord(cfg.templatesById.get("template")!, record);
    expect(client.client_id).toBe(record.client_id);
    expect([...client.scopes]).toEqual([HAAPI, "openid", "profile"]);
    expect(client.capabilities.haapi).toMatchObject({ allow_without_attestation: true, access_token_ttl: 700 });
    expect(client.dynamic).toEqual({
      templateId: "template",
      mainClientId: "main",
      cal: "none",
      usedAt: null,
      secretExpiresAt: 0,
    });
    expect(client.dynamic_client_registration_template).toBeUndefined();
    expect(client.client_secret_hash).toBe(record.client_secret_hash);
  });

  it("a template narrowed after registration narrows the client", () => {
    const cfg = config(HAAPI, ["client_credentials"], ["app://haapi"]);
    const client = clientFromRecord(cfg.templatesById.get("template")!, record);
    expect(client.scope).toBe(HAAPI);
    expect(client.grant_types).toEqual(["client_credentials"]);
    expect(client.redirect_uris).toEqual(["app://haapi"]);
  });

  it("templateAllowance reflects the template", () => {
    const cfg = config(`${HAAPI} openid`, ["client_credentials"], []);
    expect(templateAllowance(cfg.templatesById.get("template")!)).toEqual({
      templateId: "template",
      clientName: undefined,
      scopes: [HAAPI, "openid"],
      grantTypes: ["client_credentials"],
      redirectUris: [],
      secret: true,
      deviceKeys: true,
      defaultMethod: "client_secret_basic",
      dpopBound: false,
    });
  });
});
