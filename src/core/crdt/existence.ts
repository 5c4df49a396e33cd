/**
 * A row's existence: the writes that keep it alive and that no later write has seen (heads),
 * each with its HLC. The row exists while this is non-empty, and its version is the greatest HLC
 * here: the latest write that still counts. (Deletes and killed writes leave no trace in it, so a
 * row's version is the same in every region that holds the same surviving writes, whatever was
 * purged where.)
 */
import { compareDots, covers, type VersionVector } from '../clock/version-vector.js';
import { compareStamps, type Stamp } from './stamp.js';

export type Existence = readonly Stamp[];

function byDot(a: Stamp, b: Stamp): number {
  return compareDots(a.dot, b.dot);
}

/** A write that saw `deps`: it replaces the heads it saw. */
export function addWriter(s: Existence, w: Stamp, deps: VersionVector): Existence {
  const out = s.filter((x) => !covers(deps, x.dot));
  const last = out[out.length - 1];
  out.push(w);
  return last === undefined || byDot(last, w) < 0 ? out : out.sort(byDot);
}

export function removeSeenWriters(s: Existence, ctx: VersionVector): Existence {
  if (!s.some((x) => covers(ctx, x.dot))) return s;
  return s.filter((x) => !covers(ctx, x.dot));
}

/** Keeps unstable heads and the greatest stable one in op order (it carries the version). */
export function compactExistence(s: Existence, stable: VersionVector): Existence {
  let top: Stamp | null = null;
  let count = 0;
  for (const x of s) {
    if (!covers(stable, x.dot)) continue;
    count++;
    if (top === null || compareStamps(x, top) > 0) top = x;
  }
  if (count <= 1) return s;
  return s.filter((x) => !covers(stable, x.dot) || x === top);
}

export function latestWriter(s: Existence): Stamp | undefined {
  let top: Stamp | undefined;
  for (const x of s) if (top === undefined || compareStamps(x, top) > 0) top = x;
  return top;
}

export function mergeExistence(a: Existence, ctxA: VersionVector, b: Existence, ctxB: VersionVector): Existence {
  const has = (s: Existence, x: Stamp) => s.some((y) => y.dot.origin === x.dot.origin && y.dot.seq === x.dot.seq);
  const out: Stamp[] = [];
  for (const x of a) if (has(b, x) || !covers(ctxB, x.dot)) out.push(x);
  for (const x of b) if (!has(a, x) && !covers(ctxA, x.dot)) out.push(x);
  return out.sort(byDot);
}
