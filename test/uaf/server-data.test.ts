/**
 * serverData: sealed and opened with an HKDF-derived HMAC key, in the exact format of docs/uaf.md;
 * forged, expired and malformed values are told apart.
 */
import { describe, expect, it } from "vitest";
import { openServerData, sealServerData, type ServerData } from "../../src/uaf/server-data";
import { uafStatusFor } from "../../src/uaf/status";
import { ascii, b64u, fromB64u } from "./helpers";

const SECRET = "a server secret of the test configuration";
const NOW = 1_795_000_000;
const data: ServerData = { op: "Reg", username: "alice", challenge: "H9iW9yA9aAXF_lelQoi_DhUk514Ad8Tqv0zCnCqKDpo", exp: NOW + 120, tx: "tx-1" };

/** The MAC computed independently: HKDF-SHA-256(secret, salt "", info) then HMAC-SHA-256 over the payload. */
async function independentMac(secret: string, payload: Uint8Array): Promise<string> {
  const ikm = await crypto.subtle.importKey("raw", ascii(secret), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: ascii("haapi-edge uaf serverData") }, ikm, 256);
  const key = await crypto.subtle.importKey("raw", bits, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return b64u(new Uint8Array(await crypto.subtle.sign("HMAC", key, payload)));
}

describe("sealServerData / openServerData", () => {
  it("round-trips, in the documented format", async () => {
    const sealed = await sealServerData(SECRET, data);
    const [payload, mac] = sealed.split(".");
    expect(JSON.parse(new TextDecoder().decode(fromB64u(payload!)))).toEqual(data);
    expect(mac).toBe(await independentMac(SECRET, fromB64u(payload!)));
    expect(await openServerData(SECRET, sealed, NOW)).toEqual({ ok: true, value: data });
  });

  it("round-trips without the optional members", async () => {
    const minimal: ServerData = { op: "Auth", challenge: "c", exp: NOW + 1 };
    expect(await openServerData(SECRET, await sealServerData(SECRET, minimal), NOW)).toEqual({ ok: true, value: minimal });
  });

  it("refuses a changed payload, a changed MAC and another secret as forged (1491)", async () => {
    const sealed = await sealServerData(SECRET, data);
    const [payload, mac] = sealed.split(".") as [string, string];
    const changed = b64u(ascii(JSON.stringify({ ...data, username: "mallory" })));
    expect(await openServerData(SECRET, `${changed}.${mac}`, NOW)).toMatchObject({ ok: false, reason: "server_data_forged" });
    const otherMac = `${mac.slice(0, 10)}${mac[10] === "A" ? "B" : "A"}${mac.slice(11)}`;
    expect(await openServerData(SECRET, `${payload}.${otherMac}`, NOW)).toMatchObject({ ok: false, reason: "server_data_forged" });
    expect(await openServerData("another secret", sealed, NOW)).toMatchObject({ ok: false, reason: "server_data_forged" });
    expect(uafStatusFor("server_data_forged")).toBe(1491);
  });

  it("refuses it from exp on as expired (1491)", async () => {
    const sealed = await sealServerData(SECRET, data);
    expect((await openServerData(SECRET, sealed, data.exp - 1)).ok).toBe(true);
    expect(await openServerData(SECRET, sealed, data.exp)).toMatchObject({ ok: false, reason: "server_data_expired", detail: { exp: data.exp } });
    expect(uafStatusFor("server_data_expired")).toBe(1491);
  });

  it("refuses malformed values (1491)", async () => {
    const sealed = await sealServerData(SECRET, data);
    const [payload, mac] = sealed.split(".") as [string, string];
    for (const value of ["", "abc", `${sealed}.x`, `${payload}.`, `.${mac}`, `${payload}!.${mac}`, `${payload}.${mac}x`, "x".repeat(2000)]) {
      expect(await openServerData(SECRET, value, NOW), value.slice(0, 40)).toMatchObject({ ok: false, reason: "server_data_malformed" });
    }
    // Authentic but not our payload shape (a MAC made with the right key over other JSON).
    const odd = ascii(JSON.stringify({ op: "Reg", challenge: "c", exp: "soon" }));
    expect(await openServerData(SECRET, `${b64u(odd)}.${await independentMac(SECRET, odd)}`, NOW)).toMatchObject({ ok: false, reason: "server_data_malformed" });
    expect(uafStatusFor("server_data_malformed")).toBe(1491);
  });

  it("rejects a programming error (empty secret, bad payload) with TypeError", async () => {
    await expect(sealServerData("", data)).rejects.toThrow(TypeError);
    await expect(sealServerData(SECRET, { ...data, exp: 1.5 })).rejects.toThrow(TypeError);
    await expect(openServerData("", "a.b", NOW)).rejects.toThrow(TypeError);
  });
});
