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
  /** For parts with an identity: what the op saw, to tell copies (concurrent) from later retries. */
  readonly deps?: VersionVector;
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

/**
 * How many times a group of parts with one identity counts: copies (concurrent) count once, and
 * a part that saw another of its identity (a retry after the record expired) is a new write. So:
 * the length of the longest causal chain in the group. Parts are in dot order; groups are tiny.
 */
function multiplicity(group: readonly CounterPart[]): number {
  const longest = group.map(() => 1);
  // Dot order is not causal order across origins; relax until stable (at most group size rounds).
  for (let round = 0; round < group.length; round++) {
    let changed = false;
    group.forEach((p, i) => {
      group.forEach((q, j) => {
        if (i !== j && q.deps !== undefined && covers(q.deps, p.dot) && (longest[j] as number) < (longest[i] as number) + 1) {
          longest[j] = (longest[i] as number) + 1;
          changed = true;
        }
      });
    });
    if (!changed) break;
  }
  return Math.max(...longest);
}

/** Each part's weight: 1, or for identity groups the group's multiplicity on its first part. */
function weights(s: CounterState): Array<[CounterPart, number]> {
  const groups = new Map<string, CounterPart[]>();
  for (const p of s.parts) if (p.id !== undefined) groups.set(p.id, [...(groups.get(p.id) ?? []), p]);
  const out: Array<[CounterPart, number]> = [];
  for (const p of s.parts) {
    if (p.id === undefined) out.push([p, 1]);
    else {
      const group = groups.get(p.id) as CounterPart[];
      if (group[0] === p) out.push([p, group.length === 1 ? 1 : multiplicity(group)]);
    }
  }
  return out;
}

/** The counter's value, saturating at ±(2^53 − 1) (concurrent increments can overflow together). */
export function counterValue(s: CounterState): number {
  const parts = weights(s);
  let sum = s.base;
  for (const [p, w] of parts) sum += p.delta * w;
  if (Number.isSafeInteger(sum)) return sum;
  let big = BigInt(s.base);
  for (const [p, w] of parts) big += BigInt(p.delta) * BigInt(w);
  const max = BigInt(limits.counterAbsMax);
  return big > max ? limits.counterAbsMax : big < -max ? -limits.counterAbsMax : Number(big);
}


/**
 * Folds causally stable parts into the base. Copies of one idempotent write fold together, once
 * all of them are stable, and count once: by then every copy has arrived (a region that made a
 * copy before it saw the original reported the copy before it could report the original, and
 * a report is usable here only once its region's earlier ops are).
 */
export function compactCounter(s: CounterState, stable: VersionVector): CounterState {
  if (s.parts.length === 0) return s;
  let base = s.base;
  let folded = s.folded;
  if (!s.parts.some((p) => p.id !== undefined)) {
    // The common case: no idempotent parts, fold every stable one.
    let keep: CounterPart[] | null = null;
    for (let i = 0; i < s.parts.length; i++) {
      const p = s.parts[i] as CounterPart;
      if (covers(stable, p.dot)) {
        keep ??= s.parts.slice(0, i);
        base += p.delta;
      } else keep?.push(p);
    }
    if (keep === null) return s;
    return Number.isSafeInteger(base) ? { t: 'counter', base, folded: true, parts: keep } : s;
  }
  const groups = new Map<string, CounterPart[]>();
  for (const p of s.parts) if (p.id !== undefined) groups.set(p.id, [...(groups.get(p.id) ?? []), p]);
  const foldedIds = new Set<string>();
  for (const [id, parts] of groups) {
    if (parts.every((p) => covers(stable, p.dot))) {
      base += (parts[0] as CounterPart).delta * multiplicity(parts);
      foldedIds.add(id);
      folded = true;
    }
  }
  const keep: CounterPart[] = [];
  for (const p of s.parts) {
    if (p.id !== undefined) {
      if (!foldedIds.has(p.id)) keep.push(p);
    } else if (covers(stable, p.dot)) {
      base += p.delta;
      folded = true;
    } else keep.push(p);
  }
  if (keep.length === s.parts.length) return s;
  // A base beyond the safe range would lose precision; keep such parts unfolded instead.
  if (!Number.isSafeInteger(base)) return s;
  return { t: 'counter', base, folded, parts: keep };
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
