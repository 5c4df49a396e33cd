/**
 * Random executions of the row CRDT, for property tests: three replicas create ops on a few keys
 * and deliver them to each other in random causal orders. HLCs come from a tiny domain and every
 * op carries the same HLC node id on purpose, so ties are common and must be broken by the dot
 * (collisions are where LWW breaks). Some ops are copies of one idempotent write.
 */
import fc from 'fast-check';
import type { VersionVector } from '../../src/core/clock/version-vector.js';
import { covers, dominates, withEntry } from '../../src/core/clock/version-vector.js';
import { applyOp, type RowState } from '../../src/core/crdt/row.js';
import { validatePolicy, type TablePolicy } from '../../src/core/schema/policy.js';
import type { MergeRegistry } from '../../src/core/crdt/merge-registry.js';
import type { FieldChange, Op } from '../../src/core/model/op.js';

export const regions = ['us-east', 'eu-west', 'ap-south'];
export const merge: MergeRegistry = { concat: (xs) => xs.map((x) => String(x)).join('+') };

export function policyFor(onDeleteUpdate: 'delete-wins' | 'update-wins'): TablePolicy {
  const p = validatePolicy({ fields: { name: 'lww', n: 'counter', s: 'set', m: 'merge:concat' }, onDeleteUpdate }, { regions, mergeFunctions: ['concat'] });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

export type Step =
  | { readonly k: 'create'; readonly at: number; readonly key: string; readonly del: boolean; readonly changes: Record<string, FieldChange>; readonly wall: number; readonly copyOf: number | null }
  | { readonly k: 'deliver'; readonly at: number; readonly pick: number };

const value = fc.constantFrom('x', 'y', 'z');
const change: fc.Arbitrary<[string, FieldChange]> = fc.oneof(
  fc.tuple(fc.constant('name'), fc.oneof(value.map((v) => ({ k: 'set', value: v }) as FieldChange), fc.constant({ k: 'unset' } as FieldChange))),
  fc.tuple(fc.constant('m'), fc.oneof(value.map((v) => ({ k: 'set', value: v }) as FieldChange), fc.constant({ k: 'unset' } as FieldChange))),
  fc.tuple(
    fc.constant('n'),
    fc.oneof(fc.integer({ min: -3, max: 5 }).map((d) => ({ k: 'incr', delta: d }) as FieldChange), fc.integer({ min: 0, max: 9 }).map((v) => ({ k: 'set', value: v }) as FieldChange), fc.constant({ k: 'unset' } as FieldChange)),
  ),
  fc.tuple(
    fc.constant('s'),
    fc.oneof(
      fc.array(value, { minLength: 1, maxLength: 2 }).map((e) => ({ k: 'add', elems: e }) as FieldChange),
      fc.array(value, { minLength: 1, maxLength: 2 }).map((e) => ({ k: 'remove', elems: e }) as FieldChange),
      fc.array(value, { maxLength: 2 }).map((e) => ({ k: 'set', value: [...new Set(e)] }) as FieldChange),
    ),
  ),
);

export const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    k: fc.constant('create' as const),
    at: fc.integer({ min: 0, max: 2 }),
    key: fc.constantFrom('a', 'b'),
    del: fc.boolean(),
    changes: fc.uniqueArray(change, { selector: (c) => c[0], minLength: 1, maxLength: 3 }).map((cs) => Object.fromEntries(cs)),
    wall: fc.integer({ min: 0, max: 2 }),
    copyOf: fc.option(fc.nat(), { freq: 8 }),
  }),
  fc.record({ k: fc.constant('deliver' as const), at: fc.integer({ min: 0, max: 2 }), pick: fc.nat() }),
);

export interface ReplicaState {
  vector: VersionVector;
  rows: Map<string, RowState>;
  /** The ops this replica applied, in order. */
  applied: Op[];
}

export function emptyReplica(): ReplicaState {
  return { vector: {}, rows: new Map(), applied: [] };
}

export function applyTo(r: ReplicaState, op: Op, policy: TablePolicy): void {
  r.rows.set(op.key, applyOp(r.rows.get(op.key), op, policy));
  r.vector = withEntry(r.vector, op.dot.origin, op.dot.seq);
  r.applied.push(op);
}

export function deliverable(r: ReplicaState, ops: readonly Op[]): Op[] {
  return ops.filter((o) => !covers(r.vector, o.dot) && (r.vector[o.dot.origin] ?? 0) === o.dot.seq - 1 && dominates(r.vector, o.deps));
}

/** Runs the steps; returns every op created and each replica's state. */
export function execute(steps: readonly Step[], policy: TablePolicy, replicas = [emptyReplica(), emptyReplica(), emptyReplica()]): { ops: Op[]; replicas: ReplicaState[] } {
  const ops: Op[] = [];
  for (const s of steps) {
    const r = replicas[s.at] as ReplicaState;
    const origin = regions[s.at] as string;
    if (s.k === 'create') {
      const seq = (r.vector[origin] ?? 0) + 1;
      const copy = s.copyOf === null || ops.length === 0 ? null : (ops[s.copyOf % ops.length] as Op);
      // A copy repeats an earlier write under the same idempotency identity (a retry that landed
      // here before the original did), unless this replica already applied the original.
      const asCopy = copy !== null && copy.kind === 'write' && !covers(r.vector, copy.dot) && copy.dot.origin !== origin;
      const base = asCopy ? copy : null;
      const op: Op = {
        dot: { origin, seq },
        // Equal node ids on purpose: ties fall through to the dot.
        hlc: { wall: s.wall, logical: 0, node: 'n' },
        deps: r.vector,
        table: 't',
        key: base?.key ?? s.key,
        kind: base ? 'write' : s.del ? 'delete' : 'write',
        changes: base ? base.changes : s.del ? {} : s.changes,
        // Every write carries an idempotency key; a copy carries its original's.
        ...(base?.idem ? { idem: base.idem } : !s.del || base ? { idem: { key: `k-${origin}-${seq}`, digest: 'd', result: { dot: { origin, seq }, row: null } } } : {}),
      };
      ops.push(op);
      applyTo(r, op, policy);
    } else {
      const ready = deliverable(r, ops);
      if (ready.length > 0) applyTo(r, ready[s.pick % ready.length] as Op, policy);
    }
  }
  return { ops, replicas };
}

/** Delivers every op to every replica, in a causal order. */
export function deliverEverything(ops: readonly Op[], replicas: ReplicaState[], policy: TablePolicy): void {
  for (const r of replicas) {
    for (;;) {
      const ready = deliverable(r, ops);
      if (ready.length === 0) break;
      applyTo(r, ready[0] as Op, policy);
    }
  }
}
