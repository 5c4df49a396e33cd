import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  compareVectors, decodeSessionToken, dominates, encodeSessionToken, mergeVectors, minVectors, vectorFrom, type VersionVector,
} from '../../src/core/clock/version-vector.js';
import { canonicalJson } from '../../src/core/util/json.js';

const vector = fc.dictionary(fc.constantFrom('us-east', 'eu-west', 'ap-south'), fc.integer({ min: 0, max: 20 })).map(vectorFrom);
const same = (a: VersionVector, b: VersionVector) => canonicalJson(a) === canonicalJson(b);

describe('version vectors', () => {
  it('compare says before, after, equal or concurrent', () => {
    expect(compareVectors({ a: 1 }, { a: 2 })).toBe('before');
    expect(compareVectors({ a: 2 }, { a: 1 })).toBe('after');
    expect(compareVectors({ a: 1, b: 0 }, { a: 1 })).toBe('equal');
    expect(compareVectors({ a: 2 }, { b: 1 })).toBe('concurrent');
  });

  it('merge is commutative, associative and idempotent, and an upper bound (property)', () => {
    fc.assert(
      fc.property(vector, vector, vector, (a, b, c) => {
        const ab = mergeVectors(a, b);
        return (
          same(ab, mergeVectors(b, a)) &&
          same(mergeVectors(ab, c), mergeVectors(a, mergeVectors(b, c))) &&
          same(mergeVectors(a, a), a) &&
          dominates(ab, a) &&
          dominates(ab, b)
        );
      }),
    );
  });

  it('compare agrees with dominates (property)', () => {
    fc.assert(
      fc.property(vector, vector, (a, b) => {
        const o = compareVectors(a, b);
        const ab = dominates(a, b);
        const ba = dominates(b, a);
        return o === (ab && ba ? 'equal' : ab ? 'after' : ba ? 'before' : 'concurrent');
      }),
    );
  });

  it('min over regions is a lower bound of every vector', () => {
    fc.assert(fc.property(fc.array(vector, { minLength: 1, maxLength: 4 }), (vs) => vs.every((v) => dominates(v, minVectors(vs, ['us-east', 'eu-west', 'ap-south'])))));
  });
});

describe('session tokens', () => {
  it('round-trip any vector (property)', () => {
    fc.assert(
      fc.property(vector, (v) => {
        const d = decodeSessionToken(encodeSessionToken(v));
        return d.ok && same(d.vector, v);
      }),
    );
  });

  it('are compact and header-safe', () => {
    const t = encodeSessionToken({ 'us-east': 1234567, 'eu-west': 3 });
    expect(t).toBe('t1.eu-west~3.us-east~qglj');
    expect(t).toMatch(/^[A-Za-z0-9.~-]+$/);
  });

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['another version', 't2.us-east~1'],
    ['no separator', 't1.us-east'],
    ['bad region', 't1.US_EAST~1'],
    ['bad number', 't1.us-east~-1'],
    ['zero', 't1.us-east~0'],
    ['twice', 't1.us-east~1.us-east~2'],
    ['too long', 't1.' + 'a'.repeat(3000) + '~1'],
  ])('a malformed token (%s) is a typed refusal, not an exception', (_, token) => {
    const d = decodeSessionToken(token);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason.length).toBeGreaterThan(0);
  });
});
