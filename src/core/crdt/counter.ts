/**
 * Counter with op identities. Each increment is a part named by its dot and carrying its op
 * identity; parts of copies of one idempotent write (same identity, different dots) count once.
 * A `set` or `unset` of the field, or a delete, removes the parts it saw. Parts that become
 * causally stable fold into `base`, so a busy counter stays small.
 */
import { assert } from '../util/assert.js';
import { compareDots, covers, type Dot, type VersionVector } from '../clock/version-vector.js';
import { limits } from '../limits.js';

export interface CounterPart {
  readonly dot: Dot;
  /** The identity shared with copies of one idempotent write; absent: the part is only itself. */
  readonly id?: string;
  readonly delta: number;
}

export interface CounterState {
  readonly t: 'counter';
  /** Sum of the folded parts. Folded parts are causally stable, so every later reset saw them. */
  readonly base: number;
  /** True when base stands for at least one folded part (a folded counter of 0 still exists). */
  readonly folded: boolean;
  /** Sorted by dot. */
  readonly parts: readonly CounterPart[];
}

export const emptyCounter: CounterState = { t: 'counter', base: 0, folded: false, parts: [] };

export function incrCounter(s: CounterState, part: CounterPart): CounterState {
  const last = s.parts[s.parts.length - 1];
  const parts = [...s.parts, part];
  if (last !== undefined && compareDots(last.dot, part.dot) > 0) parts.sort((x, y) => compareDots(x.dot, y.dot));
  return { t: 'counter', base: s.base, folded: s.folded, parts };
}

/** A reset with context `ctx` (set, unset, or a delete under update-wins). */
export function resetCounter(s: CounterState, ctx: VersionVector): CounterState {
  if (!s.folded && !s.parts.some((p) => covers(ctx, p.dot))) return s;
  return { t: 'counter', base: 0, folded: false, parts: s.parts.filter((p) => !covers(ctx, p.dot)) };
}

export function counterPresent(s: CounterState): boolean {
  return s.folded || s.parts.length > 0;
}

/** The counter's value, saturating at ±(2^53 − 1) (concurrent increments can overflow together). */
export function counterValue(s: CounterState): number {
  const seen = new Set<string>();
  let sum = s.base;
  let exact = true;
  for (const p of s.parts) {
    if (p.id !== undefined) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
    }
    sum += p.delta;
    if (!Number.isSafeInteger(sum)) exact = false;
  }
  if (exact) return sum;
  let big = BigInt(s.base);
  seen.clear();
  for (const p of s.parts) {
    if (p.id !== undefined) {
      if (seen.has(p.id)) continue;
      seen.add(p.id);
    }
    big += BigInt(p.delta);
  }
  const max = BigInt(limits.counterAbsMax);
  return big > max ? limits.counterAbsMax : big < -max ? -limits.counterAbsMax : Number(big);
}


/**
 * Folds causally stable parts into the base. Parts of idempotent writes are kept (until their
 * idempotency record expires) because a retry copy of them may still arrive from a region that
 * accepted it before it saw the original; counting that copy once needs the identity.
 */
export function compactCounter(s: CounterState, stable: VersionVector): CounterState {
  let base = s.base;
  let folded = s.folded;
  const keep: CounterPart[] = [];
  for (const p of s.parts) {
    if (covers(stable, p.dot) && p.id === undefined) {
      base += p.delta;
      folded = true;
    } else keep.push(p);
  }
  if (keep.length === s.parts.length) return s;
  // A base beyond the safe range would lose precision; keep such parts unfolded instead.
  if (!Number.isSafeInteger(base)) return s;
  return { t: 'counter', base, folded, parts: keep };
}

/** Folds the (stable) parts of one idempotent identity whose record has expired. */
export function foldIdentity(s: CounterState, id: string, stable: VersionVector): CounterState {
  const mine = s.parts.filter((p) => p.id === id);
  if (mine.length === 0 || !mine.every((p) => covers(stable, p.dot))) return s;
  const base = s.base + (mine[0]?.delta ?? 0);
  if (!Number.isSafeInteger(base)) return s;
  return { t: 'counter', base, folded: true, parts: s.parts.filter((p) => p.id !== id) };
}

/** State merge with causal contexts, for states that have not been compacted. */
export function mergeCounters(a: CounterState, ctxA: VersionVector, b: CounterState, ctxB: VersionVector): CounterState {
  assert(!a.folded && !b.folded, 'mergeCounters: compacted counters merge only through the op log');
  const same = (p: CounterPart, q: CounterPart) => p.dot.origin === q.dot.origin && p.dot.seq === q.dot.seq;
  const parts: CounterPart[] = [];
  for (const p of a.parts) {
    const twin = b.parts.find((q) => same(p, q));
    if (twin) parts.push(p.delta >= twin.delta ? p : twin);
    else if (!covers(ctxB, p.dot)) parts.push(p);
  }
  for (const q of b.parts) if (!a.parts.some((p) => same(p, q)) && !covers(ctxA, q.dot)) parts.push(q);
  return { t: 'counter', base: 0, folded: false, parts: parts.sort((x, y) => compareDots(x.dot, y.dot)) };
}
