/**
 * The algebra of the row CRDT: state merge is commutative, associative and
 * idempotent, agrees with applying ops, and compaction never changes what a row reads as, now or
 * after later ops. Generators force equal HLCs and equal HLC node ids, and make retry copies.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mergeVectors, type VersionVector } from '../../src/core/clock/version-vector.js';
import { compactRow, emptyRow, mergeRows, viewRow, type RowState } from '../../src/core/crdt/row.js';
import type { TablePolicy } from '../../src/core/schema/policy.js';
import { canonicalJson } from '../../src/core/util/json.js';
import { applyTo, deliverEverything, emptyReplica, execute, merge, policyFor, step, type ReplicaState } from './histories.js';

type Table = Map<string, RowState>;

function mergeTables(a: Table, ctxA: VersionVector, b: Table, ctxB: VersionVector, policy: TablePolicy): Table {
  const out: Table = new Map();
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    out.set(key, mergeRows(a.get(key) ?? emptyRow, ctxA, b.get(key) ?? emptyRow, ctxB, policy));
  }
  return out;
}

/** Rows that hold nothing are the same as absent rows. */
function encode(t: Table): string {
  const rows = [...t.entries()]
    .filter(([, r]) => r.alive.length + r.tombs.length + Object.keys(r.fields).length > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return canonicalJson(rows);
}

function views(t: Table, policy: TablePolicy): string {
  return canonicalJson([...t.keys()].sort().map((k) => viewRow(k, t.get(k), policy, merge)));
}

const histories = fc.array(step, { minLength: 1, maxLength: 40 });

for (const mode of ['delete-wins', 'update-wins'] as const) {
  const policy = policyFor(mode);
  describe(`row merge laws (${mode})`, () => {
    it('merge is commutative (property)', () => {
      fc.assert(
        fc.property(histories, (steps) => {
          const [a, b] = execute(steps, policy).replicas as [ReplicaState, ReplicaState];
          return encode(mergeTables(a.rows, a.vector, b.rows, b.vector, policy)) === encode(mergeTables(b.rows, b.vector, a.rows, a.vector, policy));
        }),
        { numRuns: 300 },
      );
    });

    it('merge is associative (property)', () => {
      fc.assert(
        fc.property(histories, (steps) => {
          const [a, b, c] = execute(steps, policy).replicas as [ReplicaState, ReplicaState, ReplicaState];
          const ab = mergeTables(a.rows, a.vector, b.rows, b.vector, policy);
          const left = mergeTables(ab, mergeVectors(a.vector, b.vector), c.rows, c.vector, policy);
          const bc = mergeTables(b.rows, b.vector, c.rows, c.vector, policy);
          const right = mergeTables(a.rows, a.vector, bc, mergeVectors(b.vector, c.vector), policy);
          return encode(left) === encode(right);
        }),
        { numRuns: 300 },
      );
    });

    it('merge is idempotent (property)', () => {
      fc.assert(
        fc.property(histories, (steps) => {
          const [a] = execute(steps, policy).replicas as [ReplicaState];
          return encode(mergeTables(a.rows, a.vector, a.rows, a.vector, policy)) === encode(a.rows);
        }),
        { numRuns: 200 },
      );
    });

    it('merging two replicas equals applying the union of their ops in causal order (property)', () => {
      fc.assert(
        fc.property(histories, (steps) => {
          const { replicas } = execute(steps, policy);
          const [a, b] = replicas as [ReplicaState, ReplicaState];
          const union = emptyReplica();
          const ops = [...a.applied, ...b.applied.filter((o) => !a.applied.includes(o))];
          deliverEverything(ops, [union], policy);
          return encode(mergeTables(a.rows, a.vector, b.rows, b.vector, policy)) === encode(union.rows);
        }),
        { numRuns: 300 },
      );
    });

    it('replicas that applied the same ops in different orders hold identical states (property)', () => {
      fc.assert(
        fc.property(histories, (steps) => {
          const { ops, replicas } = execute(steps, policy);
          deliverEverything(ops, replicas, policy);
          const [a, b, c] = replicas.map((r) => encode(r.rows));
          return a === b && b === c;
        }),
        { numRuns: 300 },
      );
    });

    it('compaction at a stable point changes no read, now or after later ops (property)', () => {
      fc.assert(
        fc.property(histories, histories, (before, after) => {
          const { ops, replicas } = execute(before, policy);
          deliverEverything(ops, replicas, policy);
          const stable = (replicas[0] as ReplicaState).vector; // everyone has everything: all stable
          const compacted = replicas.map((r) => ({ vector: r.vector, applied: [...r.applied], rows: new Map([...r.rows].map(([k, row]) => [k, compactRow(row, stable, policy, 0)])) }));
          const plain = replicas.map((r) => ({ vector: r.vector, applied: [...r.applied], rows: new Map(r.rows) }));
          for (let i = 0; i < 3; i++) if (views((compacted[i] as ReplicaState).rows, policy) !== views((plain[i] as ReplicaState).rows, policy)) return false;
          // Later ops run on the plain replicas; the compacted ones apply the same ops in the same
          // order, then compact again. Reads must still agree.
          const seen = plain.map((r) => r.applied.length);
          execute(after, policy, plain);
          for (let i = 0; i < 3; i++) {
            const p = plain[i] as ReplicaState;
            const c = compacted[i] as ReplicaState;
            for (const op of p.applied.slice(seen[i])) applyTo(c, op, policy);
            if (views(c.rows, policy) !== views(p.rows, policy)) return false;
            c.rows = new Map([...c.rows].map(([k, row]) => [k, compactRow(row, stable, policy, 0)]));
            if (views(c.rows, policy) !== views(p.rows, policy)) return false;
          }
          return true;
        }),
        { numRuns: 200 },
      );
    });
  });
}

describe('row semantics by example', () => {
  const dw = policyFor('delete-wins');
  const uw = policyFor('update-wins');
  const op = (origin: string, seq: number, deps: VersionVector, wall: number, kind: 'write' | 'delete', changes = {}) =>
    ({ dot: { origin, seq }, hlc: { wall, logical: 0, node: origin }, deps, table: 't', key: 'k', kind, changes }) as const;

  it('under delete-wins a write concurrent with a delete is dropped, even when it arrives first', () => {
    const w = op('us-east', 1, {}, 5, 'write', { name: { k: 'set', value: 'x' } });
    const d = op('eu-west', 1, {}, 4, 'delete');
    const r1 = emptyReplica();
    applyTo(r1, w, dw);
    applyTo(r1, d, dw);
    const r2 = emptyReplica();
    applyTo(r2, d, dw);
    applyTo(r2, w, dw);
    expect(viewRow('k', r1.rows.get('k'), dw, merge)).toBeNull();
    expect(viewRow('k', r2.rows.get('k'), dw, merge)).toBeNull();
  });

  it('under update-wins the concurrent write survives with only its own fields', () => {
    const w1 = op('us-east', 1, {}, 1, 'write', { name: { k: 'set', value: 'old' }, n: { k: 'incr', delta: 3 } });
    const d = op('eu-west', 1, { 'us-east': 1 }, 2, 'delete');
    const w2 = op('us-east', 2, { 'us-east': 1 }, 3, 'write', { s: { k: 'add', elems: ['a'] } });
    const r = emptyReplica();
    for (const o of [w1, w2, d]) applyTo(r, o, uw);
    expect(viewRow('k', r.rows.get('k'), uw, merge)).toEqual({ key: 'k', fields: { s: ['a'] }, version: '3.0.us-east' });
  });

  it('a write that saw the delete recreates the row with its fields only', () => {
    const w1 = op('us-east', 1, {}, 1, 'write', { name: { k: 'set', value: 'old' } });
    const d = op('eu-west', 1, { 'us-east': 1 }, 2, 'delete');
    const w2 = op('us-east', 2, { 'us-east': 1, 'eu-west': 1 }, 3, 'write', { n: { k: 'incr', delta: 1 } });
    const r = emptyReplica();
    for (const o of [w1, d, w2]) applyTo(r, o, dw);
    expect(viewRow('k', r.rows.get('k'), dw, merge)?.fields).toEqual({ n: 1 });
  });
});
