import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { allCheckers, historyToJsonl, parseHistoryJsonl, runCheckers } from '../../../src/sim/check/index.js';
import type { ReadAck, RunRecord } from '../../../src/sim/history.js';
import { EU, US, healed, op, policy, runRecord, testMerges } from './fixtures.js';
import { actionArb, historyFor, randomPolicy, simulate } from './random-history.js';
import { scenario } from './scenario.js';

/** The scenario with the ok answer of call `id` (a read) changed. */
function withRead(run: RunRecord, id: number, change: (r: ReadAck) => ReadAck): RunRecord {
  const history = run.history.map((e) => (e.type === 'ok' && e.id === id && e.result.kind === 'read' ? { ...e, result: change(e.result) } : e));
  return { ...run, history };
}

function withFinals(run: RunRecord, change: (s: RunRecord['finals'][number]) => RunRecord['finals'][number]): RunRecord {
  return { ...run, finals: run.finals.map(change) };
}

/** One broken run per checker, each breaking exactly what that checker guards. */
function knownBad(): Record<string, RunRecord> {
  const good = scenario();
  const tRows = (s: RunRecord['finals'][number], fields: Record<string, unknown>) => ({
    ...s,
    rows: { ...s.rows, t: (s.rows['t'] ?? []).map((r) => (r.key === 'k' ? { ...r, fields: { ...r.fields, ...(fields as Record<string, never>) } } : r)) },
  });
  return {
    convergence: { ...good, finals: good.finals.map((s, i) => (i === 1 ? { ...s, stateDigest: 'diverged' } : s)) },
    'final-state': withFinals(good, (s) => tRows(s, { a: 7 })),
    reads: withRead(good, 2, (r) => ({ ...r, row: null })),
    'no-lost-writes': withFinals(good, (s) => (s.region === US ? { ...s, vector: { [US]: 4, [EU]: 3 } } : s)),
    counters: withFinals(good, (s) => tRows(s, { n: 7 })),
    sets: withFinals(good, (s) => tRows(s, { tags: [] })),
    'no-resurrection': { ...good, ledger: good.ledger.filter((o) => !(o.dot.origin === US && o.dot.seq === 5)) },
    sessions: withRead(good, 9, (r) => ({ ...r, vector: { [EU]: 2, [US]: 3 } })),
    causal: withRead(good, 12, (r) => ({ ...r, vector: { [EU]: 3, [US]: 3 } })),
    'bounded-staleness': withRead(good, 14, (r) => ({ ...r, vector: { [EU]: 3, [US]: 4 } })),
    hlc: { ...good, hlcTrace: { ...good.hlcTrace, [EU]: [{ wall: 12, logical: 0, node: EU }, { wall: 11, logical: 0, node: EU }] } },
  };
}

describe('all checkers', () => {
  it('have distinct names that match the verdicts they return', () => {
    const names = allCheckers.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(runCheckers(scenario()).map((v) => v.checker)).toEqual(names);
  });

  it('all pass on a correct run, and none of them passes vacuously', () => {
    for (const v of runCheckers(scenario())) {
      expect(v, v.checker).toMatchObject({ ok: true, violations: [] });
      expect(v.checked, v.checker).toBeGreaterThan(0);
    }
  });

  it('each fails on a run that breaks what it guards, so none can be replaced by one that always passes', () => {
    const bad = knownBad();
    for (const checker of allCheckers) {
      const run = bad[checker.name];
      expect(run, `a known-bad run for ${checker.name}`).toBeDefined();
      const v = checker.check(run as RunRecord);
      expect(v.ok, checker.name).toBe(false);
      expect(v.violations.length, checker.name).toBeGreaterThan(0);
    }
  });

  it('turn a crashing checker into a failed verdict', () => {
    const run = runRecord({ tables: { t: policy({ fields: { m: 'merge:missing' } }) }, ledger: [op(US, 1, { set: { m: 1 } })] });
    const [v] = runCheckers(healedWithoutReference(run), allCheckers.filter((c) => c.name === 'final-state'));
    expect(v).toMatchObject({ checker: 'final-state', ok: false, checked: 0 });
    expect(v?.violations[0]).toMatch(/checker final-state crashed: Error: reference: field m uses merge:missing/);
  });

  it('agree with the reference on random causally consistent ledgers', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 5, maxLength: 30 }), (actions) => {
        const ledger = simulate(actions);
        const run = healed(runRecord({ regions: [US, EU, 'ap-south'], tables: { t: randomPolicy }, mergeFunctions: testMerges, ledger, history: historyFor(ledger).events }));
        for (const v of runCheckers(run)) expect(v.violations, v.checker).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

/** A run whose finals claim nothing, so that only the reference (which throws) is exercised. */
function healedWithoutReference(run: RunRecord): RunRecord {
  return { ...run, finals: run.regions.map((region) => ({ region, vector: { [US]: 1 }, rows: {}, conflicts: [], stateDigest: '' })) };
}

describe('histories as JSON lines', () => {
  it('round-trip one event per line', () => {
    const run = scenario();
    const text = historyToJsonl(run.history);
    expect(text.trim().split('\n')).toHaveLength(run.history.length);
    expect(parseHistoryJsonl(text)).toEqual(run.history);
    expect(runCheckers({ ...run, history: parseHistoryJsonl(text) }).every((v) => v.ok)).toBe(true);
  });

  it('name the line at fault', () => {
    expect(() => parseHistoryJsonl('{"type":"ok","id":1,"timeMs":2,"result":{}}\n{"type":"invoke","id":2,"timeMs":3}\n')).toThrow(/history line 2: an invoke has a numeric process/);
    expect(() => parseHistoryJsonl('not json')).toThrow(/history line 1: not JSON/);
  });
});

