/**
 * Random causally consistent ledgers for property tests: three regions write, delete, copy
 * (a retry landing in another region before the original) and sync whole causal prefixes.
 */
import fc from 'fast-check';
import type { JsonScalar, JsonValue } from '../../../src/core/util/json.js';
import type { WriteBody } from '../../../src/sim/history.js';
import { AP, EU, History, US, op, policy } from './fixtures.js';
import type { Op } from '../../../src/core/model/op.js';

export const regions = [US, EU, AP] as const;
export const randomPolicy = policy({ fields: { n: 'counter', tags: 'set', m: 'merge:siblings' }, unique: [{ field: 'email', enforce: 'async' }] });

export type Action = { kind: 'write'; change: number; value: number; key: number } | { kind: 'delete'; key: number } | { kind: 'sync'; from: number } | { kind: 'copy'; pick: number };
export const actionArb: fc.Arbitrary<[number, Action]> = fc.tuple(
  fc.integer({ min: 0, max: 2 }),
  fc.oneof(
    fc.record({ kind: fc.constant('write' as const), change: fc.integer({ min: 0, max: 7 }), value: fc.integer({ min: 0, max: 2 }), key: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('sync' as const), from: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('copy' as const), pick: fc.nat() }),
  ),
);

function changeFor(change: number, value: number): Parameters<typeof op>[2] {
  const v: JsonValue = ['x', 'y', 'z'][value] ?? 'x';
  switch (change) {
    case 0: return { set: { a: value } };
    case 1: return { unset: ['a'] };
    case 2: return { incr: { n: value - 1 } };
    case 3: return { add: { tags: [v as string] } };
    case 4: return { remove: { tags: [v as string] } };
    case 5: return { set: { email: v } };
    case 6: return { set: { m: value } };
    default: return { set: { tags: [v as string, 'w'] } };
  }
}

/** Builds a causally consistent ledger: each region applies whole causal prefixes of the others. */
export function simulate(actions: readonly [number, Action][]): Op[] {
  const ops: Op[] = [];
  const applied = regions.map(() => ({}) as Record<string, number>);
  let clock = 0;
  for (const [r, a] of actions) {
    const origin = regions[r] as string;
    const vec = applied[r] as Record<string, number>;
    const seq = (vec[origin] ?? 0) + 1;
    const base = { deps: { ...vec }, wall: ++clock };
    if (a.kind === 'sync') {
      const from = applied[a.from] as Record<string, number>;
      for (const [o, s] of Object.entries(from)) vec[o] = Math.max(vec[o] ?? 0, s);
      continue;
    }
    let next: Op;
    if (a.kind === 'copy') {
      // A retry landing here before the original: same changes and idempotency stamp, new dot.
      // Only where no op with that key has been applied yet: a region that has one answers the
      // retry from its record instead (and a later op with the key would be a new write).
      const seenKey = (k: string) => ops.some((o) => o.idem?.key === k && (vec[o.dot.origin] ?? 0) >= o.dot.seq);
      const candidates = ops.filter((o) => o.idem !== undefined && (vec[o.dot.origin] ?? 0) < o.dot.seq && !seenKey(o.idem.key));
      const original = candidates[a.pick % Math.max(1, candidates.length)];
      if (original === undefined) continue;
      next = { ...op(origin, seq, { ...base, key: original.key }), changes: original.changes, ...(original.idem ? { idem: original.idem } : {}) };
    } else if (a.kind === 'delete') next = op(origin, seq, { ...base, key: `k${a.key}`, del: true });
    else next = op(origin, seq, { ...base, key: `k${a.key}`, ...changeFor(a.change, a.value), ...(clock % 2 === 0 ? { idem: { key: `i${clock}` } } : {}) });
    ops.push(next);
    vec[origin] = seq;
  }
  return ops;
}


function bodyOf(o: Op): WriteBody {
  const body: { set?: Record<string, JsonValue>; unset?: string[]; incr?: Record<string, number>; add?: Record<string, readonly JsonScalar[]>; remove?: Record<string, readonly JsonScalar[]> } = {};
  for (const [f, c] of Object.entries(o.changes)) {
    if (c.k === 'set') body.set = { ...body.set, [f]: c.value };
    else if (c.k === 'unset') body.unset = [...(body.unset ?? []), f];
    else if (c.k === 'incr') body.incr = { ...body.incr, [f]: c.delta };
    else if (c.k === 'add') body.add = { ...body.add, [f]: c.elems };
    else body.remove = { ...body.remove, [f]: c.elems };
  }
  return body;
}

/** A history in which every ledger op was an acknowledged call (a copy: a retry of the first copy). */
export function historyFor(ledger: readonly Op[]): History {
  const h = new History();
  const firstAttempt = new Map<string, number>();
  ledger.forEach((o, i) => {
    const process = i + 1;
    if (o.kind === 'delete') {
      h.del(process, o.dot.origin, { table: o.table, key: o.key }, o.dot);
      return;
    }
    const key = o.idem?.key;
    const retryOf = key === undefined ? undefined : firstAttempt.get(key);
    const id = h.write(process, o.dot.origin, { table: o.table, key: o.key, body: bodyOf(o), ...(key === undefined ? {} : { idempotencyKey: key }) }, o.dot, retryOf === undefined ? {} : { retryOf });
    if (key !== undefined && retryOf === undefined) firstAttempt.set(key, id);
  });
  return h;
}
