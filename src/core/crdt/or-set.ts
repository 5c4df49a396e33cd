/**
 * Observed-remove set, add-wins (Shapiro et al., "A comprehensive study of CRDTs", 2011, OR-Set;
 * in the optimised form of Bieniusa et al., 2012). Each element keeps the dots of the adds no
 * later op has seen; a remove deletes only the dots it observed, so a concurrent add survives.
 */
import { covers, type Dot, type VersionVector } from '../clock/version-vector.js';
import { canonicalJson, type JsonScalar } from '../util/json.js';
import { addDot, compactDots, mergeDotSets, removeCovered, type DotSet } from './dot-set.js';

export interface SetElement {
  /** Canonical JSON of the value: the element's identity and sort key. */
  readonly key: string;
  readonly value: JsonScalar;
  /** Never empty. */
  readonly dots: DotSet;
}

export interface SetState {
  readonly t: 'set';
  /** Sorted by key. */
  readonly elems: readonly SetElement[];
}

export const emptySet: SetState = { t: 'set', elems: [] };

function byKey(a: SetElement, b: SetElement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Adds `values` with the op's dot. Costs a pass over the set plus the added values sorted, not a
 * sort of the whole set: the added elements are sorted alone and merged into the sorted elements.
 */
export function addElements(s: SetState, values: readonly JsonScalar[], dot: Dot, deps: VersionVector): SetState {
  // The values by key, in the order given (a value given twice is added twice, as one at a time would).
  const added = new Map<string, JsonScalar[]>();
  for (const value of values) {
    const key = canonicalJson(value);
    const same = added.get(key);
    if (same === undefined) added.set(key, [value]);
    else same.push(value);
  }
  const keys = [...added.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const elems: SetElement[] = [];
  let i = 0;
  for (const key of keys) {
    while (i < s.elems.length && (s.elems[i] as SetElement).key < key) elems.push(s.elems[i++] as SetElement);
    const prev = i < s.elems.length && (s.elems[i] as SetElement).key === key ? (s.elems[i++] as SetElement) : undefined;
    let dots = prev?.dots ?? [];
    let value: JsonScalar = prev?.value ?? null;
    for (const v of added.get(key) as JsonScalar[]) {
      dots = addDot(dots, dot, deps);
      value = v;
    }
    elems.push({ key, value, dots });
  }
  while (i < s.elems.length) elems.push(s.elems[i++] as SetElement);
  return { t: 'set', elems };
}

/** Removes the observed adds of `values` (those `deps` covers). */
export function removeElements(s: SetState, values: readonly JsonScalar[], deps: VersionVector): SetState {
  const keys = new Set(values.map(canonicalJson));
  const elems: SetElement[] = [];
  for (const e of s.elems) {
    if (!keys.has(e.key)) elems.push(e);
    else {
      const dots = removeCovered(e.dots, deps);
      if (dots.length > 0) elems.push(dots === e.dots ? e : { ...e, dots });
    }
  }
  return { t: 'set', elems };
}

/** Removes every observed add (an unset, a set's reset, a delete under update-wins). */
export function resetSet(s: SetState, ctx: VersionVector): SetState {
  if (!s.elems.some((e) => e.dots.some((d) => covers(ctx, d)))) return s;
  const elems: SetElement[] = [];
  for (const e of s.elems) {
    const dots = removeCovered(e.dots, ctx);
    if (dots.length > 0) elems.push(dots === e.dots ? e : { ...e, dots });
  }
  return { t: 'set', elems };
}

export function setValues(s: SetState): JsonScalar[] {
  return s.elems.map((e) => e.value);
}

export function compactSet(s: SetState, stable: VersionVector): SetState {
  let elems: SetElement[] | null = null;
  s.elems.forEach((e, i) => {
    const dots = compactDots(e.dots, stable);
    if (dots === e.dots) return;
    elems ??= [...s.elems];
    elems[i] = { ...e, dots };
  });
  return elems === null ? s : { t: 'set', elems };
}

export function mergeSets(a: SetState, ctxA: VersionVector, b: SetState, ctxB: VersionVector): SetState {
  const inA = new Map(a.elems.map((e) => [e.key, e]));
  const inB = new Map(b.elems.map((e) => [e.key, e]));
  const elems: SetElement[] = [];
  for (const key of new Set([...inA.keys(), ...inB.keys()])) {
    const x = inA.get(key);
    const y = inB.get(key);
    const dots = mergeDotSets(x?.dots ?? [], ctxA, y?.dots ?? [], ctxB);
    const value = (x ?? y)?.value;
    if (dots.length > 0 && value !== undefined) elems.push({ key, value, dots });
  }
  return { t: 'set', elems: elems.sort(byKey) };
}
