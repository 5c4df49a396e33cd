/**
 * The set kind: an add-wins observed-remove set of JSON scalars (../or-set.ts). `set` replaces
 * the elements, `add` and `remove` change some; concurrent writes never conflict.
 */
import { badRequest, fail, ok, ternError, type Result, type TernError } from '../../errors.js';
import { limits } from '../../limits.js';
import { assert } from '../../util/assert.js';
import { canonicalJson, isJsonScalar, type JsonScalar } from '../../util/json.js';
import { addElements, compactSet, emptySet, mergeSets, removeElements, resetSet, setValues, type SetState } from '../or-set.js';
import type { FieldKind } from './kind.js';

function checkScalars(where: string, list: unknown): Result<JsonScalar[]> {
  if (!Array.isArray(list)) return fail(badRequest(where, 'must be a list of JSON scalars'));
  if (list.length > limits.setElementsPerOpMax) return fail(badRequest(where, `at most ${limits.setElementsPerOpMax} elements per request`));
  for (const [i, v] of list.entries()) {
    if (!isJsonScalar(v)) return fail(badRequest(`${where}[${i}]`, 'set elements are strings, finite numbers, booleans or null'));
  }
  // Duplicates are harmless but pointless; keep the first of each.
  const seen = new Set<string>();
  return ok((list as JsonScalar[]).filter((v) => {
    const k = canonicalJson(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }));
}

/** Distinct elements in canonical order: a set as a strong row holds it, and as compares see lists. */
export function sortedScalars(values: readonly JsonScalar[]): JsonScalar[] {
  const byKey = new Map(values.map((v) => [canonicalJson(v), v]));
  return [...byKey.keys()].sort().map((k) => byKey.get(k) as JsonScalar);
}

function parseElems(k: 'add' | 'remove') {
  return (where: string, v: unknown) => {
    const elems = checkScalars(where, v);
    return elems.ok ? ok({ k, elems: elems.value }) : elems;
  };
}

/**
 * A local write that would leave a set with `after` elements (it had `before`): refused past
 * limits.setElementsMax unless it does not grow the set (one already past it through concurrent
 * adds in two regions can still be written and shrunk). Remote ops are never checked.
 */
function tooManyElements(where: string, before: number, after: number): TernError | null {
  if (after <= limits.setElementsMax || after <= before) return null;
  return ternError('TOO_LARGE', `${where}: the set would hold ${after} elements, more than setElementsMax (${limits.setElementsMax}); keep large collections in rows of their own`, { field: where });
}

const elemsMalformed = (c: Readonly<Record<string, unknown>>): boolean => !Array.isArray(c['elems']);


export const setKind: FieldKind<SetState> = {
  tag: 'set',
  name: 'set',
  types: ['set'],
  ops: {
    add: { parse: parseElems('add'), malformed: elemsMalformed },
    remove: { parse: parseElems('remove'), malformed: elemsMalformed },
  },
  empty: emptySet,

  parseSet(where, value) {
    const elems = checkScalars(where, value);
    return elems.ok ? ok({ k: 'set', value: elems.value }) : elems;
  },
  compareProblem(field, ordering, value) {
    if (ordering) return { at: 'op', message: `${field} is a set: compare it with == or != only` };
    if (value !== null && (!Array.isArray(value) || !value.every(isJsonScalar))) return { at: 'value', message: `${field} is a set: compare it with a list of scalars` };
    return null;
  },
  localProblem(s, change, field) {
    const before = s?.elems.length ?? 0;
    if (change.k === 'add') {
      // Counting what is new needs the set's keys: only near the limit (this runs at every local add).
      if (before + change.elems.length <= limits.setElementsMax) return null;
      const have = new Set(s?.elems.map((e) => e.key));
      const added = change.elems.filter((v) => !have.has(canonicalJson(v))).length;
      return tooManyElements(`add.${field}`, before, before + added);
    }
    // A set replaces every element this region has seen (a local write has seen them all).
    if (change.k === 'set' && Array.isArray(change.value)) return tooManyElements(`set.${field}`, before, change.value.length);
    return null;
  },

  apply(s, change, op) {
    if (change.k === 'add') return addElements(s, change.elems, op.dot, op.deps);
    if (change.k === 'remove') return removeElements(s, change.elems, op.deps);
    if (change.k === 'unset') return resetSet(s, op.deps);
    assert(change.k === 'set' && Array.isArray(change.value), () => `change ${change.k} on a set field`);
    return addElements(resetSet(s, op.deps), change.value as readonly JsonScalar[], op.dot, op.deps);
  },
  reset: (s, ctx) => resetSet(s, ctx),
  hasContent: (s) => s.elems.length > 0,
  merge: (a, ctxA, b, ctxB) => mergeSets(a, ctxA, b, ctxB),
  keepDots(s, keep) {
    const elems = s.elems.map((e) => ({ ...e, dots: e.dots.filter(keep) })).filter((e) => e.dots.length > 0);
    return { t: 'set', elems };
  },
  compact: (s, _t, stable) => compactSet(s, stable),
  value: (s) => (s.elems.length > 0 ? setValues(s) : undefined),

  conflictRule: () => null,

  applyPlain(current, change, where) {
    let elems: JsonScalar[];
    if (change.k === 'set') elems = sortedScalars(change.value as JsonScalar[]);
    else {
      assert(change.k === 'add' || change.k === 'remove', () => `change ${change.k} on a set field`);
      const have = Array.isArray(current) ? (current as JsonScalar[]) : [];
      const drop = new Set(change.elems.map((e) => canonicalJson(e)));
      elems = change.k === 'add' ? sortedScalars([...have, ...change.elems]) : have.filter((e) => !drop.has(canonicalJson(e)));
    }
    const before = Array.isArray(current) ? current.length : 0;
    const tooMany = tooManyElements(where, before, elems.length);
    if (tooMany !== null) return fail(tooMany);
    return ok(elems.length > 0 ? elems : undefined);
  },
};
