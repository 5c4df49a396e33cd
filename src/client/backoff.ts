/** How long to leave a region alone: after failures (exponential backoff) and when it says so (Retry-After). */

export interface BackoffPolicy {
  /** The first failure's backoff, before jitter (ms). */
  readonly baseMs: number;
  /** The longest backoff (ms). */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

/**
 * The backoff after `failures` consecutive failures (1 or more): `baseMs × 2^(failures−1)`,
 * capped at `maxMs`, of which the upper half is jittered ("equal jitter": between half and all of
 * it), so clients that lost a region at the same moment do not all come back at the same moment.
 */
export function backoffMs(failures: number, policy: BackoffPolicy, random: () => number): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 52)));
  const r = Math.min(1, Math.max(0, random()));
  return exp / 2 + (r * exp) / 2;
}

/** The longest a Retry-After is honoured (a date far ahead, or a clock far off, would otherwise shut a region out). */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * The wait a `Retry-After` header asks for, in ms: whole seconds, or an HTTP date (measured
 * against `nowMs`, the client's clock); null when absent or unreadable. Capped at
 * MAX_RETRY_AFTER_MS.
 */
export function retryAfterMs(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(MAX_RETRY_AFTER_MS, Number(v) * 1000);
  if (!/[a-z]/i.test(v)) return null; // "1.5", "-3": neither form
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - nowMs));
}
