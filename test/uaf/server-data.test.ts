/**
 * serverData: sealed and opened with an HMAC-SHA-256 key, in the exact format of docs/uaf.md;
 * forged, expired and malformed values are told apart.
 */
import { describe, expect, it } from "vitest";
import { openServerData, sealServerData, type ServerData } from "../../src/uaf/server-data";
import { ascii, b64u, fromB64u } from "./helpers";

const RAW_KEY = ascii("a 32-byte test key for serverData");
const hmacKey = (raw: Uint8Array) =>
  crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
const KEY = await hmacKey(RAW_KEY);
const NOW = 1_795_000_000;
const data: ServerData = {
  op: "Reg",
  username: "alice",
  challenge: "H9iW9yA9aAXF_lelQoi_DhUk514Ad8Tqv0zCnCqKDpo",
  exp: NOW + 120,
  tx: "tx-1",
};

/** The MAC computed independently: HMAC-SHA-256 over the payload, with a key imported here from the raw bytes. */
async function independentMac(payload: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey("raw", RAW_KEY, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return b64u(new Uint8Array(await crypto.subtle.sign("HMAC", key, payload)));
}

describe("sealServerData / openServerData", () => {
  it("round-trips, in the documented format", async () => {
    const sealed = await sealServerData(KEY, data);
    const [payload, mac] = sealed.split(".");
    expect(JSON.parse(new TextDecoder().decode(fromB64u(payload!)))).toEqual(data);
    expect(mac).toBe(await independentMac(fromB64u(payload!)));
    expect(await openServerData(KEY, sealed, NOW)).toEqual({ ok: true, value: data });
  });

  it("round-trips without the optional members", async () => {
    const minimal: ServerData = { op: "Auth", challenge: "c", exp: NOW + 1 };
    expect(await openServerData(KEY, await sealServerData(KEY, minimal), NOW)).toEqual({ ok: true, value: minimal });
  });

  it("refuses a changed payload, a changed MAC and another key as forged", async () => {
    const sealed = await sealServerData(KEY, data);
    const [payload, mac] = sealed.split(".") as [string, string];
    const changed = b64u(ascii(JSON.stringify({ ...data, username: "mallory" })));
    expect(await openServerData(KEY, `${changed}.${mac}`, NOW)).toMatchObject({
      ok: false,
      reason: "server_data_forged",
    });
    const otherMac = `${mac.slice(0, 10)}${mac[10] === "A" ? "B" : "A"}${mac.slice(11)}`;
    expect(await openServerData(KEY, `${payload}.${otherMac}`, NOW)).toMatchObject({
      ok: false,
      reason: "server_data_forged",
    });
    expect(await openServerData(await hmacKey(ascii("another key")), sealed, NOW)).toMatchObject({
      ok: false,
      reason: "server_data_forged",
    });
  });

  it("refuses it from exp on as expired", async () => {
    const sealed = await sealServerData(KEY, data);
    expect((await openServerData(KEY, sealed, data.exp - 1)).ok).toBe(true);
    expect(await openServerData(KEY, sealed, data.exp)).toMatchObject({
      ok: false,
      reason: "server_data_expired",
      detail: { exp: data.exp },
    });
  });

  it("refuses malformed values", async () => {
    const sealed = await sealServerData(KEY, data);
    const [payload, mac] = sealed.split(".") as [string, string];
    for (const value of [
      "",
      "abc",
      `${sealed}.x`,
      `${payload}.`,
      `.${mac}`,
      `${payload}!.${mac}`,
      `${payload}.${mac}x`,
      "x".repeat(2000),
    ]) {
      expect(await openServerData(KEY, value, NOW), value.slice(0, 40)).toMatchObject({
        ok: false,
        reason: "server_data_malformed",
      });
    }
    // Authentic but not our payload shape (a MAC made with the right key over other JSON).
    const odd = ascii(JSON.stringify({ op: "Reg", challenge: "c", exp: "soon" }));
    expect(await openServerData(KEY, `${b64u(odd)}.${await independentMac(odd)}`, NOW)).toMatchObject({
      ok: false,
      reason: "server_data_malformed",
    });
  });

  it("carries the authority of an in-app registration request: a grant, a browser session or a device (hashed)", async () => {
    for (const authority of [
      `grant:${"ab".repeat(32)}`,
      `web-session:${"0f".repeat(32)}`,
      `device:${"A".repeat(42)}_`,
    ]) {
      const withAuthority: ServerData = { op: "Reg", username: "alice", challenge: "c", exp: NOW + 1, authority };
      expect(await openServerData(KEY, await sealServerData(KEY, withAuthority), NOW), authority).toEqual({
        ok: true,
        value: withAuthority,
      });
    }
    // Only those three forms: anything else is a programming error when sealing, and malformed when opening.
    for (const authority of [
      "grant:short",
      `session:${"ab".repeat(32)}`,
      "device:raw device id",
      `grant:${"AB".repeat(32)}`,
    ]) {
      await expect(sealServerData(KEY, { ...data, authority }), authority).rejects.toThrow(TypeError);
      const odd = ascii(JSON.stringify({ ...data, authority }));
      expect(await openServerData(KEY, `${b64u(odd)}.${await independentMac(odd)}`, NOW), authority).toMatchObject({
        ok: false,
        reason: "server_data_malformed",
      });
    }
  });

  it("rejects a programming error (a payload outside the schema) with TypeError", async () => {
    await expect(sealServerData(KEY, { ...data, exp: 1.5 })).rejects.toThrow(TypeError);
  });
});
