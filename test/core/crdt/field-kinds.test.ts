/**
 * Every registered field kind (src/core/crdt/kinds/registry.ts) against the laws of the FieldKind
 * interface, on random executions of one field: three replicas write it (only writes the kind
 * validated) and reset it (a delete under update-wins), and deliver each other's ops in random
 * causal orders. A new kind gets these checks by adding its writes to `writesOf` below (the
 * compiler asks for it).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { covers, dominates, mergeVectors, withEntry, type VersionVector } from '../../../src/core/clock/version-vector.js';
import { fieldKinds, kindOf, kindOfState, opOwner, type patchGroups, type AnyKind, type FieldState } from '../../../src/core/crdt/kinds/registry.js';
import type { MergeRegistry } from '../../../src/core/crdt/merge-registry.js';
import type { Result } from '../../../src/core/errors.js';
import type { FieldChange, Op } from '../../../src/core/model/op.js';
import { peerMessageProblem } from '../../../src/core/replica/peer-message.js';
import { validatePolicy, type FieldType } from '../../../src/core/schema/policy.js';
import { canonicalJson, jsonProblem, type JsonValue } from '../../../src/core/util/json.js';

type Group = (typeof patchGroups)[number];

/** What clients may send to a field of each kind: valid and invalid values alike (validation sorts them out). */
const scalar = fc.constantFrom('x', 'y', 1, 2, true, null);
const writesOf: Record<FieldState['t'], fc.Arbitrary<readonly [Group, unknown]>> = {
  reg: fc.oneof(
    fc.tuple(fc.constant('set' as const), fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }), fc.constant({ a: [1] }))),
    fc.constant(['unset', null] as const),
  ),
  counter: fc.oneof(
    fc.tuple(fc.constant('set' as const), fc.oneof(fc.integer({ min: -5, max: 9 }), fc.constantFrom(1.5, 'x'))),
    fc.tuple(fc.constant('incr' as const), fc.oneof(fc.integer({ min: -3, max: 5 }), fc.constant(2 ** 60))),
    fc.constant(['unset', null] as const),
  ),
  set: fc.oneof(
    fc.tuple(fc.constantFrom('set' as const, 'add' as const, 'remove' as const), fc.oneof(fc.array(scalar, { maxLength: 3 }), fc.constantFrom('x', [{ a: 1 }]))),
    fc.constant(['unset', null] as const),
  ),
};

const merge: MergeRegistry = { concat: (xs) => xs.map((x) => canonicalJson(x)).join('+') };

/** The field types of a kind, a prefixed one completed with a registered name. */
function typesOf(kind: AnyKind): FieldType[] {
  return kind.types.map((t) => (t.endsWith(':') ? `${t}concat` : t) as FieldType);
}

/** Validation as parseWriteBody does it for one field, through the kind's interface. */
function validate(kind: AnyKind, group: Group, value: unknown): Result<FieldChange> | null {
  if (group === 'unset') return { ok: true, value: { k: 'unset' } };
  if (group === 'set') return jsonProblem(value) === null ? kind.parseSet('set.f', value as JsonValue) : null;
  const owner = opOwner(group);
  return owner !== undefined && owner.kind === kind ? owner.spec.parse(`${group}.f`, value) : null;
}

interface Replica {
  vector: VersionVector;
  state: FieldState;
  applied: Op[];
}

type Step =
  | { readonly k: 'write'; readonly at: number; readonly write: readonly [Group, unknown]; readonly wall: number; readonly id: string | null }
  | { readonly k: 'reset'; readonly at: number; readonly wall: number }
  | { readonly k: 'deliver'; readonly at: number; readonly pick: number };

function steps(kind: AnyKind): fc.Arbitrary<Step[]> {
  const at = fc.integer({ min: 0, max: 2 });
  const wall = fc.integer({ min: 0, max: 2 });
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant('write' as const), at, write: writesOf[kind.tag], wall, id: fc.option(fc.constantFrom('i1', 'i2'), { freq: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('reset' as const), at, wall }) },
    { weight: 4, arbitrary: fc.record({ k: fc.constant('deliver' as const), at, pick: fc.nat() }) },
  );
  return fc.array(step, { minLength: 1, maxLength: 30 });
}

const regions = ['us-east', 'eu-west', 'ap-south'];

/** Applies one op as a row does: a write's change, or a delete's reset; an empty result is the empty state. */
function applyTo(kind: AnyKind, r: Replica, op: Op): void {
  const id = op.idem?.key;
  const change = op.changes['f'];
  const next = op.kind === 'delete' || change === undefined ? kind.reset(r.state, op.deps) : kind.apply(r.state, change, op, id);
  r.state = kind.hasContent(next) ? next : kind.empty;
  r.vector = withEntry(r.vector, op.dot.origin, op.dot.seq);
  r.applied.push(op);
}

function deliverable(r: Replica, ops: readonly Op[]): Op[] {
  return ops.filter((o) => !covers(r.vector, o.dot) && (r.vector[o.dot.origin] ?? 0) === o.dot.seq - 1 && dominates(r.vector, o.deps));
}

function fresh(kind: AnyKind): Replica {
  return { vector: {}, state: kind.empty, applied: [] };
}

function run(kind: AnyKind, plan: readonly Step[]): { ops: Op[]; replicas: Replica[] } {
  const replicas = [fresh(kind), fresh(kind), fresh(kind)];
  const ops: Op[] = [];
  for (const s of plan) {
    const r = replicas[s.at] as Replica;
    if (s.k === 'deliver') {
      const ready = deliverable(r, ops);
      if (ready.length > 0) applyTo(kind, r, ready[s.pick % ready.length] as Op);
      continue;
    }
    const origin = regions[s.at] as string;
    const seq = (r.vector[origin] ?? 0) + 1;
    let changes: Record<string, FieldChange> = {};
    if (s.k === 'write') {
      const c = validate(kind, s.write[0], s.write[1]);
      if (c === null || !c.ok) continue;
      changes = { f: c.value };
    }
    const op: Op = {
      dot: { origin, seq }, hlc: { wall: s.wall, logical: 0, node: 'n' }, deps: r.vector, table: 't', key: 'k',
      kind: s.k === 'write' ? 'write' : 'delete', changes,
      ...(s.k === 'write' && s.id !== null ? { idem: { key: s.id, digest: 'd', result: { dot: { origin, seq }, row: null } } } : {}),
    };
    ops.push(op);
    applyTo(kind, r, op);
  }
  return { ops, replicas };
}

function deliverAll(kind: AnyKind, ops: readonly Op[], r: Replica): void {
  for (;;) {
    const ready = deliverable(r, ops);
    if (ready.length === 0) return;
    applyTo(kind, r, ready[0] as Op);
  }
}

/** Equal states encode alike (canonical JSON leaves absent and undefined keys out alike). */
const same = (a: FieldState, b: FieldState): boolean => canonicalJson(a) === canonicalJson(b);

describe('the field kinds registry', () => {
  it('finds each kind by its types and its states, and policies accept every type', () => {
    for (const kind of fieldKinds as readonly AnyKind[]) {
      expect(kindOfState(kind.empty)).toBe(kind);
      for (const t of typesOf(kind)) {
        expect(kindOf(t)).toBe(kind);
        expect(validatePolicy({ fields: { f: t } }, { regions, mergeFunctions: ['concat'] }).ok).toBe(true);
      }
    }
  });
});

for (const kind of fieldKinds as readonly AnyKind[]) {
  describe(`field kind ${kind.tag}`, () => {
    const plans = steps(kind);

    it('the empty state has no content and no value', () => {
      expect(kind.hasContent(kind.empty)).toBe(false);
      for (const t of typesOf(kind)) expect(kind.value(kind.empty, t, merge)).toBeUndefined();
    });

    it('merge is commutative (property)', () => {
      fc.assert(
        fc.property(plans, (plan) => {
          const [a, b] = run(kind, plan).replicas as [Replica, Replica];
          return same(kind.merge(a.state, a.vector, b.state, b.vector), kind.merge(b.state, b.vector, a.state, a.vector));
        }),
        { numRuns: 300 },
      );
    });

    it('merge is associative (property)', () => {
      fc.assert(
        fc.property(plans, (plan) => {
          const [a, b, c] = run(kind, plan).replicas as [Replica, Replica, Replica];
          const left = kind.merge(kind.merge(a.state, a.vector, b.state, b.vector), mergeVectors(a.vector, b.vector), c.state, c.vector);
          const right = kind.merge(a.state, a.vector, kind.merge(b.state, b.vector, c.state, c.vector), mergeVectors(b.vector, c.vector));
          return same(left, right);
        }),
        { numRuns: 300 },
      );
    });

    it('merge is idempotent (property)', () => {
      fc.assert(
        fc.property(plans, (plan) => {
          return run(kind, plan).replicas.every((r) => same(kind.merge(r.state, r.vector, r.state, r.vector), r.state));
        }),
        { numRuns: 200 },
      );
    });

    it('a validated write applied, then merged with itself, is stable (property)', () => {
      fc.assert(
        fc.property(plans, writesOf[kind.tag], (plan, write) => {
          const r = run(kind, plan).replicas[0] as Replica;
          const change = validate(kind, write[0], write[1]);
          if (change === null || !change.ok) return true;
          // What validation lets through is also what peers accept.
          const op: Op = { dot: { origin: 'us-east', seq: (r.vector['us-east'] ?? 0) + 1 }, hlc: { wall: 3, logical: 0, node: 'n' }, deps: r.vector, table: 't', key: 'k', kind: 'write', changes: { f: change.value } };
          if (peerMessageProblem({ t: 'ops', ops: [op] }) !== null) return false;
          const next = kind.apply(r.state, change.value, op, undefined);
          const ctx = withEntry(r.vector, op.dot.origin, op.dot.seq);
          return same(kind.merge(next, ctx, next, ctx), next);
        }),
        { numRuns: 300 },
      );
    });

    it('merging two replicas equals applying the union of their ops (property)', () => {
      fc.assert(
        fc.property(plans, (plan) => {
          const [a, b] = run(kind, plan).replicas as [Replica, Replica];
          const union = fresh(kind);
          deliverAll(kind, [...a.applied, ...b.applied.filter((o) => !a.applied.includes(o))], union);
          return same(kind.merge(a.state, a.vector, b.state, b.vector), union.state);
        }),
        { numRuns: 300 },
      );
    });

    it('compaction at a stable point never changes the value (property)', () => {
      fc.assert(
        fc.property(plans, (plan) => {
          const { ops, replicas } = run(kind, plan);
          for (const r of replicas) deliverAll(kind, ops, r);
          const stable = (replicas[0] as Replica).vector;
          return replicas.every((r) =>
            typesOf(kind).every((t) => {
              const compacted = kind.compact(r.state, t, stable) ?? kind.empty;
              return canonicalJson(kind.value(compacted, t, merge)) === canonicalJson(kind.value(r.state, t, merge));
            }),
          );
        }),
        { numRuns: 200 },
      );
    });
  });
}
