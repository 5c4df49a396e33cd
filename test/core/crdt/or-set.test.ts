/**
 * The OR-set's add, which merges the added elements into the sorted set instead of sorting the
 * whole set again (a write costs a pass over the set, not a sort of it), against the plain
 * definition: every value added one at a time into a map by key, then sorted. Equal results for
 * any set and any values, repeated values and values already present included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Dot, VersionVector } from '../../../src/core/clock/version-vector.js';
import { addDot } from '../../../src/core/crdt/dot-set.js';
import { addElements, emptySet, type SetElement, type SetState } from '../../../src/core/crdt/or-set.js';
import { canonicalJson, type JsonScalar } from '../../../src/core/util/json.js';

function reference(s: SetState, values: readonly JsonScalar[], dot: Dot, deps: VersionVector): SetState {
  const elems = new Map(s.elems.map((e) => [e.key, e]));
  for (const value of values) {
    const key = canonicalJson(value);
    const prev = elems.get(key);
    elems.set(key, { key, value, dots: addDot(prev?.dots ?? [], dot, deps) });
  }
  return { t: 'set', elems: [...elems.values()].sort((a: SetElement, b: SetElement) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) };
}

const scalar = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.constant(null));

describe('OR-set add', () => {
  it('equals adding each value into a map by key and sorting, for any set and values', () => {
    fc.assert(
      fc.property(fc.array(fc.array(scalar, { maxLength: 6 }), { maxLength: 6 }), fc.array(scalar, { maxLength: 8 }), (history, values) => {
        // A set built by earlier adds of region a, then one add of region b that saw some of them.
        let s = emptySet;
        history.forEach((vs, i) => (s = addElements(s, vs, { origin: 'a', seq: i + 1 }, { a: i })));
        const deps = { a: Math.floor(history.length / 2) };
        const dot = { origin: 'b', seq: 1 };
        expect(addElements(s, values, dot, deps)).toEqual(reference(s, values, dot, deps));
      }),
      { numRuns: 500 },
    );
  });
});
