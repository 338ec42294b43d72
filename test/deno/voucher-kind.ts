/**
 * A small record kind for the Deno KV adapter tests: a voucher spent at most once, with a counter that
 * every `count` increments (a write on every call, to make writers race). Imported by the tests and by
 * race-child.ts, so no vitest here.
 */
import { recordKind, type Step } from "../../src/kv/record";

export interface Voucher {
  readonly id: string;
  readonly expires_at: number;
  readonly spent_at: number | null;
  readonly count: number;
  readonly note?: unknown;
}

export type Spend = "ok" | "spent" | "missing";

export const voucherKind = recordKind({
  name: "test-voucher",
  expiresAt: (voucher: Voucher) => voucher.expires_at,
  operations: {
    create: (current: Voucher | null, voucher: Voucher): Step<Voucher, boolean> =>
      current ? { outcome: false } : { next: voucher, outcome: true },
    read: (current: Voucher | null): Step<Voucher, Voucher | null> => ({ outcome: current }),
    spend: (current: Voucher | null, _input: null, now: number): Step<Voucher, Spend> => {
      if (current === null) return { outcome: "missing" };
      if (current.spent_at !== null) return { outcome: "spent" };
      return { next: { ...current, spent_at: now }, outcome: "ok" };
    },
    count: (current: Voucher | null): Step<Voucher, number | null> =>
      current ? { next: { ...current, count: current.count + 1 }, outcome: current.count + 1 } : { outcome: null },
    /** Replace the record as given (tests of what may be stored). */
    put: (_current: Voucher | null, voucher: Voucher): Step<Voucher, null> => ({ next: voucher, outcome: null }),
    remove: (current: Voucher | null): Step<Voucher, boolean> => ({ next: null, outcome: current !== null }),
    /** Asynchronous, as operations using WebCrypto are. */
    hashId: async (current: Voucher | null): Promise<Step<Voucher, string | null>> => {
      if (!current) return { outcome: null };
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(current.id));
      return { outcome: btoa(String.fromCharCode(...new Uint8Array(digest))) };
    },
  },
});

export function voucher(id: string, expiresAt: number): Voucher {
  return { id, expires_at: expiresAt, spent_at: null, count: 0 };
}
