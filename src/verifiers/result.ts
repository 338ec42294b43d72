/**
 * What every verifier returns: a value, or a reason from the verifier's closed union.
 * Routes map reasons to vague public errors with one exhaustive switch; the reason itself is logged.
 */
export type Result<T, Reason extends string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: Reason; readonly detail?: Readonly<Record<string, unknown>> };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

export const fail = <Reason extends string>(
  reason: Reason,
  detail?: Record<string, unknown>,
): { ok: false; reason: Reason; detail?: Record<string, unknown> } =>
  detail ? { ok: false, reason, detail } : { ok: false, reason };
