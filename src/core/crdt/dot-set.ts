/**
 * Sets of dots with observed-remove semantics, the building block of existence, tombstones and
 * OR-set elements (Almeida, Shoker, Baquero, "Delta State Replicated Data Types", 2018: DotSet).
 *
 * Kept sorted by (origin, seq) so equal sets have equal encodings.
 */
import { compareDots, covers, type Dot, type VersionVector } from '../clock/version-vector.js';

export type DotSet = readonly Dot[];

export function hasDot(s: DotSet, d: Dot): boolean {
  return s.some((x) => x.origin === d.origin && x.seq === d.seq);
}

/** Adds `dot` after dropping the dots `deps` covers: the new event saw them, so they are redundant. */
export function addDot(s: DotSet, dot: Dot, deps: VersionVector): DotSet {
  const out = s.filter((x) => !covers(deps, x));
  const last = out[out.length - 1];
  out.push(dot);
  return last === undefined || compareDots(last, dot) < 0 ? out : out.sort(compareDots);
}

/** Removes the dots `ctx` covers (observed remove). Returns the same array when nothing changes. */
export function removeCovered(s: DotSet, ctx: VersionVector): DotSet {
  if (!s.some((x) => covers(ctx, x))) return s;
  return s.filter((x) => !covers(ctx, x));
}

/**
 * Keeps the dots that are not causally stable, plus the greatest stable dot. Any future op covers
 * every stable dot, so the stable ones are removed together or kept together: one stands for all.
 */
export function compactDots(s: DotSet, stable: VersionVector): DotSet {
  let last: Dot | null = null;
  let stableCount = 0;
  for (const d of s) {
    if (covers(stable, d)) {
      stableCount++;
      if (last === null || compareDots(d, last) > 0) last = d;
    }
  }
  if (stableCount <= 1) return s;
  return s.filter((d) => !covers(stable, d) || d === last);
}

/**
 * State merge of two dot sets with their causal contexts: keep what both have, and what one has
 * that the other has not seen. A dot one side has seen but no longer holds was removed there.
 */
export function mergeDotSets(a: DotSet, ctxA: VersionVector, b: DotSet, ctxB: VersionVector): DotSet {
  const out: Dot[] = [];
  for (const d of a) if (hasDot(b, d) || !covers(ctxB, d)) out.push(d);
  for (const d of b) if (!hasDot(a, d) && !covers(ctxA, d)) out.push(d);
  return out.sort(compareDots);
}
