/**
 * One small but complete correct run, touching every checker: lww, counter and set fields, an
 * idempotent increment, a delete and a recreate, comments with a reply, session, causal and
 * bounded reads, converged final states and HLC traces. Checker tests break one thing in it.
 */
import type { VersionVector } from '../../../src/core/clock/version-vector.js';
import type { RunRecord } from '../../../src/sim/history.js';
import { referenceRow } from '../../../src/sim/check/reference.js';
import { EU, History, US, healed, op, policy, runRecord } from './fixtures.js';
import type { Consistency } from '../../../src/core/model/consistency.js';
import type { Op } from '../../../src/core/model/op.js';
import type { RowView } from '../../../src/core/model/row-view.js';

export const scenarioTables = {
  t: policy({ fields: { n: 'counter', tags: 'set' } }),
  comments: policy(),
};

export const scenarioLedger: readonly Op[] = [
  op(US, 1, { wall: 10, set: { a: 1 }, add: { tags: ['x'] } }),
  op(EU, 1, { wall: 12, incr: { n: 2 }, idem: { key: 'inc-1' } }),
  op(US, 2, { deps: { [EU]: 1 }, wall: 20, incr: { n: 3 } }),
  op(US, 3, { deps: { [EU]: 1 }, wall: 30, key: 'gone', set: { a: 1 } }),
  op(EU, 2, { deps: { [US]: 3 }, wall: 32, key: 'gone', del: true }),
  op(US, 4, { deps: { [EU]: 2 }, wall: 40, table: 'comments', key: 'c1', set: { text: 'hi' } }),
  op(EU, 3, { deps: { [US]: 4 }, wall: 42, table: 'comments', key: 'r1', set: { text: 're', parent: 'c1' } }),
  op(US, 5, { deps: { [EU]: 3 }, wall: 50, key: 'gone', set: { a: 2 } }),
];

export const fullScenarioVector: VersionVector = { [EU]: 3, [US]: 5 };

/** The reference row at a vector: what a correct replica answers. */
export function rowAt(table: string, key: string, vector: VersionVector): RowView | null {
  const ops = scenarioLedger.filter((o) => (vector[o.dot.origin] ?? 0) >= o.dot.seq);
  return referenceRow(ops, table, key, scenarioTables[table as keyof typeof scenarioTables], {});
}

function read(h: History, process: number, region: string, table: string, key: string, consistency: Consistency, vector: VersionVector, o: { at: number; session?: VersionVector; maxStalenessMs?: number }): number {
  return h.read(process, region, { table, key, consistency, ...(o.maxStalenessMs === undefined ? {} : { maxStalenessMs: o.maxStalenessMs }) }, vector, rowAt(table, key, vector), { at: o.at, okAt: o.at + 1, ...(o.session ? { session: o.session } : {}) });
}

export function scenarioHistory(): History {
  const h = new History();
  h.write(1, US, { body: { set: { a: 1 }, add: { tags: ['x'] } } }, { origin: US, seq: 1 }, { at: 10, okAt: 11 });
  read(h, 1, US, 't', 'k', 'session', { [US]: 1 }, { at: 12, session: { [US]: 1 } });
  const first = h.invoke(2, EU, { f: 'write', table: 't', key: 'k', body: { incr: { n: 2 } }, idempotencyKey: 'inc-1' }, { at: 12 });
  h.info(first, 13);
  h.write(2, EU, { body: { incr: { n: 2 } }, idempotencyKey: 'inc-1' }, { origin: EU, seq: 1 }, { at: 14, okAt: 15, retryOf: first });
  h.write(1, US, { body: { incr: { n: 3 } } }, { origin: US, seq: 2 }, { at: 20, okAt: 21, session: { [US]: 1 } });
  h.write(1, US, { key: 'gone', body: { set: { a: 1 } } }, { origin: US, seq: 3 }, { at: 30, okAt: 31 });
  h.del(2, EU, { key: 'gone' }, { origin: EU, seq: 2 }, { at: 32, okAt: 33 });
  h.write(3, US, { table: 'comments', key: 'c1', body: { set: { text: 'hi' } } }, { origin: US, seq: 4 }, { at: 40, okAt: 41 });
  read(h, 3, EU, 'comments', 'c1', 'session', { [EU]: 2, [US]: 4 }, { at: 41, session: { [US]: 4 } });
  h.write(3, EU, { table: 'comments', key: 'r1', body: { set: { text: 're', parent: 'c1' } } }, { origin: EU, seq: 3 }, { at: 42, okAt: 43, session: { [EU]: 2, [US]: 4 } });
  h.write(1, US, { key: 'gone', body: { set: { a: 2 } } }, { origin: US, seq: 5 }, { at: 50, okAt: 51 });
  read(h, 4, US, 'comments', 'r1', 'causal', fullScenarioVector, { at: 60 });
  read(h, 4, US, 'comments', 'c1', 'causal', fullScenarioVector, { at: 62, session: fullScenarioVector });
  read(h, 5, EU, 't', 'k', 'bounded', fullScenarioVector, { at: 500, maxStalenessMs: 100 });
  read(h, 5, EU, 't', 'gone', 'eventual', fullScenarioVector, { at: 502 });
  return h;
}

/** The whole correct run, healed. */
export function scenario(overrides: Partial<RunRecord> = {}): RunRecord {
  const run = runRecord({
    tables: scenarioTables,
    ledger: scenarioLedger,
    history: scenarioHistory().events,
    hlcTrace: {
      [US]: [10, 20, 30, 40, 50].map((wall) => ({ wall, logical: 0, node: US })),
      [EU]: [12, 32, 42].map((wall) => ({ wall, logical: 0, node: EU })),
    },
    ...overrides,
  });
  return overrides.finals === undefined ? healed(run) : run;
}
