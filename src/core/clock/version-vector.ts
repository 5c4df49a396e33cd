/**
 * Dots and version vectors.
 *
 * A dot (origin, seq) names one op: the seq-th op accepted in region `origin`. A version vector
 * maps each origin to the highest seq such that every op of that origin up to it has been applied
 * (contiguous, so one number per origin describes a whole prefix). Missing entries are 0.
 *
 * Vectors are plain frozen-by-convention records: callers never mutate one they did not create.
 */
import { limits } from '../limits.js';

export type RegionId = string;

export interface Dot {
  readonly origin: RegionId;
  readonly seq: number;
}

export type VersionVector = Readonly<Record<RegionId, number>>;

export function get(v: VersionVector, origin: RegionId): number {
  return v[origin] ?? 0;
}

/** True when the op named by `dot` is in the prefix described by `v`. */
export function covers(v: VersionVector, dot: Dot): boolean {
  return (v[dot.origin] ?? 0) >= dot.seq;
}

export function compareDots(a: Dot, b: Dot): number {
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1;
  return a.seq - b.seq;
}

export function dotKey(d: Dot): string {
  return `${d.origin}:${d.seq}`;
}

export function sameDot(a: Dot, b: Dot): boolean {
  return a.origin === b.origin && a.seq === b.seq;
}

export type Ordering = 'before' | 'after' | 'equal' | 'concurrent';

/** How a relates to b: before (a < b), after (a > b), equal, or concurrent (incomparable). */
export function compareVectors(a: VersionVector, b: VersionVector): Ordering {
  let less = false;
  let greater = false;
  for (const k in a) {
    const x = a[k] ?? 0;
    const y = b[k] ?? 0;
    if (x < y) less = true;
    else if (x > y) greater = true;
  }
  for (const k in b) {
    if (k in a) continue;
    if ((b[k] ?? 0) > 0) less = true;
  }
  if (less && greater) return 'concurrent';
  if (less) return 'before';
  if (greater) return 'after';
  return 'equal';
}

/** a ≥ b pointwise. */
export function dominates(a: VersionVector, b: VersionVector): boolean {
  for (const k in b) {
    if ((a[k] ?? 0) < (b[k] ?? 0)) return false;
  }
  return true;
}

/** Pointwise maximum (join). Commutative, associative, idempotent. */
export function mergeVectors(a: VersionVector, b: VersionVector): VersionVector {
  const out: Record<RegionId, number> = { ...a };
  for (const k in b) {
    const y = b[k] ?? 0;
    if (y > (out[k] ?? 0)) out[k] = y;
  }
  return normalize(out);
}

/** Pointwise minimum over `regions` (meet). Missing entries count as 0. */
export function minVectors(vectors: readonly VersionVector[], regions: readonly RegionId[]): VersionVector {
  const out: Record<RegionId, number> = {};
  for (const r of regions) {
    let m = Infinity;
    for (const v of vectors) m = Math.min(m, v[r] ?? 0);
    if (m !== Infinity && m > 0) out[r] = m;
  }
  return out;
}

export function withEntry(v: VersionVector, origin: RegionId, seq: number): VersionVector {
  if ((v[origin] ?? 0) === seq) return v;
  // Hot path (every applied op): an existing positive entry keeps the key order, so no re-sort.
  if (seq > 0 && (v[origin] ?? 0) > 0) return { ...v, [origin]: seq };
  return normalize({ ...v, [origin]: seq });
}

/** Drops zero entries and orders keys, so equal vectors have equal canonical encodings. */
function normalize(v: Record<RegionId, number>): VersionVector {
  const out: Record<RegionId, number> = {};
  for (const k of Object.keys(v).sort()) {
    const n = v[k] ?? 0;
    if (n > 0) out[k] = n;
  }
  return out;
}

export function vectorFrom(entries: Record<RegionId, number>): VersionVector {
  return normalize({ ...entries });
}

// ---- Session tokens --------------------------------------------------------------------------
//
// A session token is a version vector in a compact, header-safe text form:
//   t1.<region>~<seq base36>.<region>~<seq base36>...
// Region ids are [a-z0-9-]; the version prefix lets the format change without ambiguity.

const tokenRegion = /^[a-z0-9][a-z0-9-]*$/;

export function isRegionId(value: unknown): value is RegionId {
  return typeof value === 'string' && value.length > 0 && value.length <= limits.regionIdCharsMax && tokenRegion.test(value);
}

export function encodeSessionToken(v: VersionVector): string {
  const parts = ['t1'];
  for (const k of Object.keys(v).sort()) {
    const n = v[k] ?? 0;
    if (n > 0) parts.push(`${k}~${n.toString(36)}`);
  }
  return parts.join('.');
}

export type TokenDecode = { readonly ok: true; readonly vector: VersionVector } | { readonly ok: false; readonly reason: string };

export function decodeSessionToken(token: unknown): TokenDecode {
  if (typeof token !== 'string') return { ok: false, reason: 'a session token is a string' };
  if (token.length > limits.sessionTokenCharsMax) return { ok: false, reason: `longer than ${limits.sessionTokenCharsMax} characters` };
  const parts = token.split('.');
  if (parts[0] !== 't1') return { ok: false, reason: 'unknown token version (expected t1)' };
  if (parts.length - 1 > limits.regionsMax) return { ok: false, reason: `more than ${limits.regionsMax} regions` };
  const out: Record<RegionId, number> = {};
  for (const part of parts.slice(1)) {
    const tilde = part.indexOf('~');
    const region = part.slice(0, tilde);
    const digits = part.slice(tilde + 1);
    if (tilde <= 0 || !isRegionId(region) || !/^[0-9a-z]{1,11}$/.test(digits)) return { ok: false, reason: `malformed entry '${part}'` };
    if (region in out) return { ok: false, reason: `region ${region} appears twice` };
    const n = parseInt(digits, 36);
    if (!Number.isSafeInteger(n) || n <= 0) return { ok: false, reason: `bad sequence in '${part}'` };
    out[region] = n;
  }
  return { ok: true, vector: normalize(out) };
}
