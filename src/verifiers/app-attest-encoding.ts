/**
 * What iOS App Attest attestations (./app-attest.ts) and assertions (./app-attest-assertion.ts) share:
 * CBOR as Apple encodes it, the App ID behind an rpIdHash, and the caller's argument checks.
 */
import { decodeFirst } from "cborg";
import { sha256 } from "../hash";
import { equalBytes } from "./constant-time";

const CBOR_OPTIONS = { useMaps: true, rejectDuplicateMapKeys: true } as const;

/** CBOR with trailing bytes tolerated (Apple's 2026 sample has them); null on anything cborg rejects. */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return decodeFirst(bytes, CBOR_OPTIONS)[0];
  } catch {
    return null;
  }
}

export const bytesAt = (map: Map<unknown, unknown>, key: unknown): Uint8Array | null => {
  const value = map.get(key);
  return value instanceof Uint8Array ? value : null;
};

/** The first of `appIds` whose SHA-256 is `rpIdHash`. */
export async function matchAppId(rpIdHash: Uint8Array, appIds: readonly string[]): Promise<string | null> {
  for (const appId of appIds) if (equalBytes(await sha256(appId), rpIdHash)) return appId;
  return null;
}

export function requireBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}
