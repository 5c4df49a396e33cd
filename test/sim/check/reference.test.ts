import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { vectorFrom } from '../../../src/core/clock/version-vector.js';
import { limits } from '../../../src/core/limits.js';
import type { TablePolicy } from '../../../src/core/schema/policy.js';
import { canonicalJson } from '../../../src/core/util/json.js';
import { concurrent, happenedBefore, opOrder, referenceConflicts, referenceRow, referenceTable, saturatingSum } from '../../../src/sim/check/reference.js';
import { AP, EU, US, op, policy, testMerges } from './fixtures.js';
import { actionArb, randomPolicy, simulate } from './random-history.js';
import { conflictId } from '../../../src/core/model/conflict.js';
import { opIdentity, type Op } from '../../../src/core/model/op.js';

const table = (ops: readonly Op[], p: TablePolicy = policy()): Map<string, unknown> => referenceTable(ops, 't', p, testMerges);
const rowOf = (ops: readonly Op[], p: TablePolicy = policy(), key = 'k'): unknown => table(ops, p).get(key) ?? null;
const fieldsOf = (ops: readonly Op[], p: TablePolicy = policy(), key = 'k'): unknown => (referenceTable(ops, 't', p, testMerges).get(key) ?? null)?.fields ?? null;
const conflicts = (ops: readonly Op[], p: TablePolicy = policy()) => referenceConflicts(ops, { t: p }, testMerges);

describe('causality and op order', () => {
  it('happened-before follows deps and an op does not happen before itself', () => {
    const a = op(US, 1);
    const b = op(EU, 1, { deps: { [US]: 1 } });
    const c = op(AP, 1);
    expect(happenedBefore(a, b)).toBe(true);
    expect(happenedBefore(b, a)).toBe(false);
    expect(happenedBefore(a, a)).toBe(false);
    expect(concurrent(a, c)).toBe(true);
    expect(concurrent(a, b)).toBe(false);
  });

  it('op order compares hlc, then the dot, then the value', () => {
    expect(opOrder(op(US, 1, { wall: 1 }), op(EU, 1, { wall: 2 }))).toBeLessThan(0);
    const sameHlc = { wall: 5, node: 'n' };
    expect(opOrder(op(EU, 1, sameHlc), op(US, 1, sameHlc))).toBeLessThan(0);
    expect(opOrder(op(US, 1, sameHlc), op(US, 2, sameHlc))).toBeLessThan(0);
    const x = op(US, 1, sameHlc);
    expect(opOrder(x, x, 1, 2)).toBeLessThan(0);
    expect(opOrder(x, x, 'a', 'a')).toBe(0);
  });
});

describe('delete-wins rows', () => {
  it('a delete kills a concurrent write, which stays dead after the row is written again', () => {
    const w1 = op(US, 1, { wall: 10, set: { a: 1 } });
    const d = op(EU, 1, { wall: 11, del: true });
    expect(rowOf([w1, d])).toBeNull();
    const w2 = op(US, 2, { deps: { [EU]: 1 }, wall: 20, set: { b: 2 } });
    expect(rowOf([w1, d, w2])).toEqual({ key: 'k', fields: { b: 2 }, version: '20.0.us-east' });
  });

  it('a delete kills the writes it saw', () => {
    const w1 = op(US, 1, { set: { a: 1 } });
    expect(rowOf([w1, op(EU, 1, { deps: { [US]: 1 }, del: true })])).toBeNull();
  });

  it('a row written with no fields exists with empty fields', () => {
    expect(rowOf([op(US, 1, { wall: 3 })])).toEqual({ key: 'k', fields: {}, version: '3.0.us-east' });
  });
});

describe('update-wins rows', () => {
  const w1 = op(US, 1, { wall: 10, set: { a: 1, b: 1 } });
  const d = op(EU, 1, { deps: { [US]: 1 }, wall: 20, del: true });
  const w2 = op(US, 2, { wall: 15, set: { a: 2 } });

  it('a write concurrent with the delete survives with exactly its own fields, and the version is its own', () => {
    // The version is the latest surviving write's HLC: the delete (HLC 20) leaves no trace in it.
    expect(rowOf([w1, d, w2], policy({ onDeleteUpdate: 'update-wins' }))).toEqual({ key: 'k', fields: { a: 2 }, version: '15.0.us-east' });
  });

  it('the same ops under delete-wins leave no row', () => {
    expect(rowOf([w1, d, w2])).toBeNull();
  });
});

describe('lww fields', () => {
  it('the greater HLC wins between concurrent writes', () => {
    expect(fieldsOf([op(US, 1, { wall: 9, set: { a: 'us' } }), op(EU, 1, { wall: 10, set: { a: 'eu' } })])).toEqual({ a: 'eu' });
  });

  it('equal HLCs are broken by the dot: origin string order', () => {
    const same = { wall: 5, node: 'n' };
    expect(fieldsOf([op(US, 1, { ...same, set: { a: 'us' } }), op(EU, 1, { ...same, set: { a: 'eu' } })])).toEqual({ a: 'us' });
  });

  it('a winning unset leaves the field absent, and a later set brings it back', () => {
    const s = op(US, 1, { wall: 1, set: { a: 1 } });
    const u = op(EU, 1, { wall: 2, unset: ['a'] });
    expect(fieldsOf([s, u])).toEqual({});
    expect(fieldsOf([s, u, op(US, 2, { deps: { [EU]: 1 }, wall: 3, set: { a: 3 } })])).toEqual({ a: 3 });
  });

  it('a value set to null is present with null', () => {
    expect(fieldsOf([op(US, 1, { set: { a: null } })])).toEqual({ a: null });
  });
});

describe('merge fields', () => {
  const p = policy({ fields: { m: 'merge:siblings' } });
  const c1 = op(US, 1, { wall: 10, set: { m: 'x' }, idem: { key: 'i1' } });
  const c2 = op(EU, 1, { wall: 12, set: { m: 'x' }, idem: { key: 'i1' } });
  const other = op(AP, 1, { wall: 11, set: { m: 'y' } });

  it('siblings are sorted in op order with copies of one identity reduced to the first', () => {
    expect(opIdentity(c1)).toBe(opIdentity(c2));
    expect(fieldsOf([c2, other, c1], p)).toEqual({ m: ['x', 'y'] });
  });

  it('a write that saw every sibling replaces them', () => {
    const later = op(US, 2, { deps: { [EU]: 1, [AP]: 1 }, wall: 20, set: { m: 'z' } });
    expect(fieldsOf([c1, c2, other, later], p)).toEqual({ m: ['z'] });
  });

  it('a merge function that is not registered is an error, not a silent absence', () => {
    expect(() => referenceTable([c1], 't', policy({ fields: { m: 'merge:nope' } }), testMerges)).toThrow(/merge:nope/);
  });
});

describe('counter fields', () => {
  const p = policy({ fields: { n: 'counter' } });

  it('copies of one increment count once; distinct increments with equal deltas count twice', () => {
    const c1 = op(US, 1, { incr: { n: 5 }, idem: { key: 'i1' } });
    const c2 = op(EU, 1, { incr: { n: 5 }, idem: { key: 'i1' } });
    expect(fieldsOf([c1, c2, op(AP, 1, { incr: { n: 1 } })], p)).toEqual({ n: 6 });
    expect(fieldsOf([c1, op(EU, 1, { incr: { n: 5 } })], p)).toEqual({ n: 10 });
  });

  it('a set supersedes the increments it saw but not concurrent ones; an unset clears; later increments count again', () => {
    const a = op(US, 1, { wall: 1, incr: { n: 3 } });
    const b = op(EU, 1, { wall: 2, incr: { n: 4 } });
    const s = op(US, 2, { wall: 3, set: { n: 10 } });
    expect(fieldsOf([a, b, s], p)).toEqual({ n: 14 });
    const u = op(EU, 2, { deps: { [US]: 2 }, wall: 4, unset: ['n'] });
    expect(fieldsOf([a, b, s, u], p)).toEqual({});
    expect(fieldsOf([a, b, s, u, op(US, 3, { deps: { [EU]: 2 }, wall: 5, incr: { n: 2 } })], p)).toEqual({ n: 2 });
  });

  it('a counter with a zero increment is present with 0', () => {
    expect(fieldsOf([op(US, 1, { incr: { n: 0 } })], p)).toEqual({ n: 0 });
  });

  it('sums saturate at the safe-integer range, computed exactly so the order of terms does not matter', () => {
    const max = Number.MAX_SAFE_INTEGER;
    expect(saturatingSum([max, max])).toBe(max);
    expect(saturatingSum([-max, -5])).toBe(-max);
    expect(saturatingSum([max, 1, -1])).toBe(max);
    expect(saturatingSum([1, -1, max])).toBe(max);
    const ops = [op(US, 1, { incr: { n: max } }), op(EU, 1, { incr: { n: 1 } }), op(AP, 1, { incr: { n: -2 } })];
    expect(fieldsOf(ops, p)).toEqual({ n: max - 1 });
  });
});

describe('set fields', () => {
  const p = policy({ fields: { tags: 'set' } });
  const a1 = op(US, 1, { wall: 1, add: { tags: ['x', 'y'] } });
  const r = op(EU, 1, { deps: { [US]: 1 }, wall: 2, remove: { tags: ['x'] } });

  it('a remove removes the adds it saw', () => {
    expect(fieldsOf([a1, r], p)).toEqual({ tags: ['y'] });
  });

  it('an add concurrent with a remove wins', () => {
    const a2 = op(US, 2, { wall: 3, add: { tags: ['x'] } });
    expect(fieldsOf([a1, r, a2], p)).toEqual({ tags: ['x', 'y'] });
  });

  it('a remove also removes that element of a set it saw, and elements sort by canonical JSON', () => {
    const s = op(US, 1, { set: { tags: [2, 'b', 10, 'a'] } });
    const rm = op(EU, 1, { deps: { [US]: 1 }, remove: { tags: ['b'] } });
    expect(fieldsOf([s, rm], p)).toEqual({ tags: ['a', 10, 2] });
  });

  it('an unset that saw every add leaves the field absent', () => {
    expect(fieldsOf([a1, op(EU, 1, { deps: { [US]: 1 }, unset: ['tags'] })], p)).toEqual({});
  });
});

describe('unique fields', () => {
  const p = policy({ unique: [{ field: 'email', enforce: 'async' }] });
  const a = op(US, 1, { key: 'a', wall: 1, set: { email: 'e', name: 'A' } });
  const b = op(EU, 1, { key: 'b', wall: 2, set: { email: 'e', name: 'B' } });

  it('the first writer keeps the value and later claimants read it as absent', () => {
    const rows = referenceTable([b, a], 't', p, testMerges);
    expect(rows.get('a')?.fields).toEqual({ email: 'e', name: 'A' });
    expect(rows.get('b')?.fields).toEqual({ name: 'B' });
    expect(referenceRow([b, a], 't', 'b', p, testMerges)).toEqual(rows.get('b'));
  });

  it('a masked value shows again once it is the only claim', () => {
    const d = op(US, 2, { key: 'a', deps: { [EU]: 1 }, wall: 3, del: true });
    const rows = referenceTable([a, b, d], 't', p, testMerges);
    expect(rows.has('a')).toBe(false);
    expect(rows.get('b')).toEqual({ key: 'b', fields: { email: 'e', name: 'B' }, version: '2.0.eu-west' });
  });

  it('a row claims a value by its first live change to it, as the insert-insert conflict decides', () => {
    // Row a set e twice concurrently (hlc 1 and 5); row b set e at hlc 3. a's claim is hlc 1.
    const a1 = op(US, 1, { key: 'a', wall: 1, set: { email: 'e' } });
    const a2 = op(AP, 1, { key: 'a', wall: 5, set: { email: 'e' } });
    const b3 = op(EU, 1, { key: 'b', wall: 3, set: { email: 'e' } });
    const rows = referenceTable([a1, a2, b3], 't', p, testMerges);
    expect(rows.get('a')?.fields).toEqual({ email: 'e' });
    expect(rows.get('b')?.fields).toEqual({});
  });

  it('strong-enforced unique fields are masked the same way when duplicates meet (the backstop under the strong claims)', () => {
    const strong = policy({ unique: [{ field: 'email', enforce: 'strong' }] });
    expect(referenceTable([a, b], 't', strong, testMerges).get('b')?.fields).toEqual({ name: 'B' });
  });
});

describe('conflicts', () => {
  it('two long concurrent chains report one pair, between their heads', () => {
    const ops: Op[] = [];
    for (let i = 1; i <= 5; i++) {
      ops.push(op(US, i, { wall: i * 10, set: { a: `us${i}` } }));
      ops.push(op(EU, i, { wall: i * 10 + 1, set: { a: `eu${i}` } }));
    }
    expect(conflicts(ops)).toEqual([
      {
        id: conflictId('write-write', 't', 'k', 'a', { origin: EU, seq: 5 }),
        table: 't',
        key: 'k',
        field: 'a',
        kind: 'write-write',
        rule: 'lww',
        winner: { region: EU, seq: 5, hlc: '51.0.eu-west' },
        losers: [{ region: US, seq: 5, hlc: '50.0.us-east', wrote: { value: 'us5' } }],
        loserCount: 1,
        regions: [EU, US],
      },
    ]);
  });

  it('three concurrent writes give two entries, grouped by winner', () => {
    const ops = [op(US, 1, { wall: 1, set: { a: 1 } }), op(EU, 1, { wall: 2, set: { a: 2 } }), op(AP, 1, { wall: 3, set: { a: 3 } })];
    const entries = conflicts(ops);
    expect(entries).toHaveLength(2);
    const byWinner = new Map(entries.map((e) => [e.winner.region, e]));
    expect(byWinner.get(AP)?.losers.map((l) => l.region)).toEqual([EU, US]);
    expect(byWinner.get(AP)?.regions).toEqual([AP, EU, US]);
    expect(byWinner.get(EU)?.losers.map((l) => l.region)).toEqual([US]);
    expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort());
  });

  it('a write that saw the other is not a conflict, and neither are copies', () => {
    expect(conflicts([op(US, 1, { set: { a: 1 } }), op(EU, 1, { deps: { [US]: 1 }, set: { a: 2 } })])).toEqual([]);
    const copies = [op(US, 1, { set: { a: 1 }, idem: { key: 'i' } }), op(EU, 1, { set: { a: 1 }, idem: { key: 'i' } })];
    expect(conflicts(copies)).toEqual([]);
  });

  it('merge fields report write-write with their merge rule; counters and sets report nothing', () => {
    const p = policy({ fields: { m: 'merge:siblings', n: 'counter', s: 'set' } });
    const ops = [op(US, 1, { wall: 1, set: { m: 1, s: ['a'] } }), op(EU, 1, { wall: 2, set: { m: 2, n: 4, s: ['b'] } }), op(AP, 1, { wall: 3, incr: { n: 1 } })];
    const entries = conflicts(ops, p);
    expect(entries.map((e) => [e.kind, e.field, e.rule])).toEqual([['write-write', 'm', 'merge:siblings']]);
  });

  it('a delete and a concurrent write are a delete-update pair won by the policy side', () => {
    const w = op(US, 1, { wall: 1, set: { a: 1 } });
    const d = op(EU, 1, { wall: 2, del: true });
    const [dw] = conflicts([w, d]);
    expect(dw).toMatchObject({ kind: 'delete-update', field: null, rule: 'delete-wins', winner: { region: EU, seq: 1 }, losers: [{ region: US, seq: 1 }] });
    expect(dw?.id).toBe(conflictId('delete-update', 't', 'k', null, d.dot));
    const [uw] = conflicts([w, d], policy({ onDeleteUpdate: 'update-wins' }));
    expect(uw).toMatchObject({ kind: 'delete-update', rule: 'update-wins', winner: { region: US, seq: 1 }, losers: [{ region: EU, seq: 1 }] });
    expect(conflicts([w, op(EU, 1, { deps: { [US]: 1 }, del: true })])).toEqual([]);
  });

  it('two rows claiming one unique value concurrently are an insert-insert pair keyed by the first writer', () => {
    const p = policy({ unique: [{ field: 'email', enforce: 'async' }] });
    const a = op(US, 1, { key: 'a', wall: 1, set: { email: 'e' } });
    const b = op(EU, 1, { key: 'b', wall: 2, set: { email: 'e' } });
    expect(conflicts([a, b], p)).toEqual([
      {
        id: conflictId('insert-insert', 't', 'a', 'email', a.dot),
        table: 't',
        key: 'a',
        field: 'email',
        kind: 'insert-insert',
        rule: 'first-writer-wins',
        winner: { region: US, seq: 1, hlc: '1.0.us-east', key: 'a' },
        losers: [{ region: EU, seq: 1, hlc: '2.0.eu-west', key: 'b', wrote: { value: 'e' } }],
        loserCount: 1,
        regions: [EU, US],
      },
    ]);
  });

  it('losers are truncated to the limit while loserCount and regions count them all', () => {
    const origins = Array.from({ length: limits.conflictLosersMax + 6 }, (_, i) => `r${String(i).padStart(3, '0')}`);
    const ops = origins.map((o, i) => op(o, 1, { wall: i + 1, set: { a: i } }));
    const top = conflicts(ops).find((e) => e.winner.region === origins[origins.length - 1]);
    expect(top?.loserCount).toBe(origins.length - 1);
    expect(top?.losers).toHaveLength(limits.conflictLosersMax);
    expect(top?.losers[0]?.region).toBe('r000');
    expect(top?.regions).toEqual(origins);
  });

  it('ops of strong tables report nothing', () => {
    const ops = [op(US, 1, { set: { a: 1 } }), op(EU, 1, { set: { a: 2 } })];
    expect(referenceConflicts(ops, { t: policy({ mode: 'strong' }) }, testMerges)).toEqual([]);
  });
});

// ---- Properties over random causal histories ----------------------------------------------------

describe('reference model properties', () => {
  it('referenceRow answers what referenceTable answers for that key', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 10, maxLength: 40 }), (actions) => {
        const ops = simulate(actions);
        const rows = referenceTable(ops, 't', randomPolicy, testMerges);
        for (const key of ['k0', 'k1', 'k2']) expect(referenceRow(ops, 't', key, randomPolicy, testMerges)).toEqual(rows.get(key) ?? null);
      }),
      { numRuns: 150 },
    );
  });

  it('rows and conflicts do not depend on the order ops arrive in', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 10, maxLength: 40 }), fc.nat(), (actions, seed) => {
        const ops = simulate(actions);
        const shuffled = [...ops].sort((a, b) => ((a.dot.seq * 7919 + seed + a.dot.origin.length) % 13) - ((b.dot.seq * 7919 + seed + b.dot.origin.length) % 13)).reverse();
        const tables = { t: randomPolicy };
        expect(canonicalJson([...referenceTable(shuffled, 't', randomPolicy, testMerges)])).toBe(canonicalJson([...referenceTable(ops, 't', randomPolicy, testMerges)]));
        expect(canonicalJson(referenceConflicts(shuffled, tables, testMerges))).toBe(canonicalJson(referenceConflicts(ops, tables, testMerges)));
      }),
      { numRuns: 150 },
    );
  });

  it('every reported pair is concurrent, not a copy, and entries are sorted by unique id', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 10, maxLength: 40 }), (actions) => {
        const ops = simulate(actions);
        const byDot = new Map(ops.map((o) => [`${o.dot.origin}:${o.dot.seq}`, o]));
        const entries = referenceConflicts(ops, { t: randomPolicy }, testMerges);
        const ids = entries.map((e) => e.id);
        expect(ids).toEqual([...new Set(ids)].sort());
        for (const e of entries) {
          const w = byDot.get(`${e.winner.region}:${e.winner.seq}`) as Op;
          for (const l of e.losers) {
            const loser = byDot.get(`${l.region}:${l.seq}`) as Op;
            expect(concurrent(w, loser)).toBe(true);
            expect(opIdentity(w)).not.toBe(opIdentity(loser));
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('reported pairs are exactly the mutual maximal concurrent pairs, by a brute-force reading of the rule', () => {
    const name = (o: Op): string => `${o.dot.origin}.${o.dot.seq}`;
    const isMaxIn = (z: Op, set: readonly Op[]): boolean => set.includes(z) && !set.some((z2) => happenedBefore(z, z2));
    const brute = (ops: readonly Op[], relevantTo: (o: Op) => readonly Op[], winnerOf: (x: Op, y: Op) => Op): Set<string> => {
      const out = new Set<string>();
      for (const x of ops) {
        for (const y of ops) {
          if (!concurrent(x, y) || opIdentity(x) === opIdentity(y)) continue;
          const cy = relevantTo(y).filter((z) => concurrent(z, y) && opIdentity(z) !== opIdentity(y));
          const cx = relevantTo(x).filter((z) => concurrent(z, x) && opIdentity(z) !== opIdentity(x));
          if (!isMaxIn(x, cy) || !isMaxIn(y, cx)) continue;
          const w = winnerOf(x, y);
          out.add(`${name(w)}>${name(w === x ? y : x)}`);
        }
      }
      return out;
    };
    const reported = (entries: ReturnType<typeof referenceConflicts>, kind: string, field: string | null): Set<string> =>
      new Set(entries.filter((e) => e.kind === kind && e.field === field).flatMap((e) => e.losers.map((l) => `${e.winner.region}.${e.winner.seq}>${l.region}.${l.seq}`)));
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 10, maxLength: 40 }), (actions) => {
        const ops = simulate(actions);
        const entries = referenceConflicts(ops, { t: randomPolicy }, testMerges);
        const changesA = (o: Op): boolean => o.changes['a']?.k === 'set' || o.changes['a']?.k === 'unset';
        const later = (x: Op, y: Op): Op => (opOrder(x, y) > 0 ? x : y);
        const expectedWw = new Set<string>();
        const expectedDu = new Set<string>();
        for (const key of ['k0', 'k1', 'k2']) {
          const rowOps = ops.filter((o) => o.key === key);
          const writesA = rowOps.filter(changesA);
          for (const p of brute(writesA, () => writesA, later)) expectedWw.add(p);
          const relevant = (o: Op): Op[] => rowOps.filter((z) => z.kind !== o.kind);
          for (const p of brute(rowOps, relevant, (x, y) => (x.kind === 'delete' ? x : y))) expectedDu.add(p);
        }
        expect(reported(entries, 'write-write', 'a')).toEqual(expectedWw);
        expect(reported(entries, 'delete-update', null)).toEqual(expectedDu);
      }),
      { numRuns: 200 },
    );
  });

  it('a replica that applied a causal prefix sees exactly the ops its vector covers', () => {
    const ops = simulate([
      [0, { kind: 'write', change: 0, value: 1, key: 0 }],
      [1, { kind: 'write', change: 0, value: 2, key: 0 }],
      [1, { kind: 'sync', from: 0 }],
      [1, { kind: 'write', change: 0, value: 0, key: 0 }],
    ]);
    const vector = vectorFrom({ [US]: 1, [EU]: 1 });
    const seen = ops.filter((o) => (vector[o.dot.origin] ?? 0) >= o.dot.seq);
    expect(referenceTable(seen, 't', randomPolicy, testMerges).get('k0')?.fields).toEqual({ a: 2 });
    expect(referenceTable(ops, 't', randomPolicy, testMerges).get('k0')?.fields).toEqual({ a: 0 });
  });
});
