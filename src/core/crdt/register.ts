/**
 * Multi-value register: the writes of a field that no later write has overwritten (the "heads").
 * An `lww` field reads the greatest head in op order; a `merge:<name>` field hands every head to
 * the application's merge function. Usually one head; more only while writes are concurrent.
 *
 * Keeping concurrent heads (rather than only the winner) is what makes LWW correct next to
 * deletes: if a delete removes the winner but not a concurrent loser it never saw, the loser is
 * what remains, in every region, whatever the order of arrival.
 */
import { covers, type VersionVector } from '../clock/version-vector.js';
import { canonicalJson, type JsonValue } from '../util/json.js';
import { compareStamps, type Stamp } from './stamp.js';
import type { MergeFn } from './merge-registry.js';

export interface RegisterHead extends Stamp {
  /** The written value; absent for an `unset`. */
  readonly value?: JsonValue;
  /** The identity shared with copies of one idempotent write; absent: the head is only itself. */
  readonly id?: string;
}

export interface RegisterState {
  readonly t: 'reg';
  /** Sorted in op order; never two heads with the same dot. */
  readonly heads: readonly RegisterHead[];
}

export const emptyRegister: RegisterState = { t: 'reg', heads: [] };

export function compareHeads(a: RegisterHead, b: RegisterHead): number {
  const c = compareStamps(a, b);
  if (c !== 0) return c;
  const x = a.value === undefined ? '' : canonicalJson(a.value);
  const y = b.value === undefined ? '' : canonicalJson(b.value);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A write (set or unset) that saw `deps`: it replaces every head it saw. */
export function writeRegister(s: RegisterState, head: RegisterHead, deps: VersionVector): RegisterState {
  const heads = s.heads.filter((h) => !covers(deps, h.dot));
  heads.push(head);
  return { t: 'reg', heads: heads.sort(compareHeads) };
}

/** Removes the heads a delete (or other reset) with context `ctx` saw. */
export function removeRegister(s: RegisterState, ctx: VersionVector): RegisterState {
  if (!s.heads.some((h) => covers(ctx, h.dot))) return s;
  return { t: 'reg', heads: s.heads.filter((h) => !covers(ctx, h.dot)) };
}

export function lwwValue(s: RegisterState): JsonValue | undefined {
  return s.heads[s.heads.length - 1]?.value;
}

/** Siblings in op order, copies of one identity reduced to the first; undefined when none. */
export function mergeValue(s: RegisterState, fn: MergeFn): JsonValue | undefined {
  const seen = new Set<string>();
  const values: JsonValue[] = [];
  for (const h of s.heads) {
    if (h.value === undefined) continue;
    if (h.id !== undefined) {
      if (seen.has(h.id)) continue;
      seen.add(h.id);
    }
    values.push(h.value);
  }
  return values.length === 0 ? undefined : fn(values);
}

/**
 * For lww fields: drops causally stable heads that are not the greatest. Any future op covers a
 * stable head, so it can never become the winner again. The least head holding the winner's
 * value stays too: it is the field's claim on that value when the field is unique (first writer
 * wins). Merge fields keep every sibling.
 */
export function compactLww(s: RegisterState, stable: VersionVector): RegisterState {
  const n = s.heads.length;
  if (n <= 1) return s;
  const top = s.heads[n - 1] as RegisterHead;
  const text = top.value === undefined ? undefined : canonicalJson(top.value);
  const claim = text === undefined ? top : (s.heads.find((h) => h.value !== undefined && canonicalJson(h.value) === text) ?? top);
  const heads = s.heads.filter((h) => h === top || h === claim || !covers(stable, h.dot));
  return heads.length === n ? s : { t: 'reg', heads };
}

/** State merge with causal contexts (DotFun merge). */
export function mergeRegisters(a: RegisterState, ctxA: VersionVector, b: RegisterState, ctxB: VersionVector): RegisterState {
  const out: RegisterHead[] = [];
  const inB = (h: RegisterHead): RegisterHead | undefined => b.heads.find((x) => x.dot.origin === h.dot.origin && x.dot.seq === h.dot.seq);
  for (const h of a.heads) {
    const twin = inB(h);
    // The same dot names the same write; if two states disagree about it (only in generated
    // tests), keep the greater so the merge stays commutative.
    if (twin) out.push(compareHeads(h, twin) >= 0 ? h : twin);
    else if (!covers(ctxB, h.dot)) out.push(h);
  }
  for (const h of b.heads) {
    if (a.heads.some((x) => x.dot.origin === h.dot.origin && x.dot.seq === h.dot.seq)) continue;
    if (!covers(ctxA, h.dot)) out.push(h);
  }
  return { t: 'reg', heads: out.sort(compareHeads) };
}
