import { describe, it, expect } from 'vitest';
import { checkFinalState } from '../../../src/sim/check/final-state.js';
import type { FinalRegionState, RunRecord } from '../../../src/sim/history.js';
import { EU, US, healed, op, policy, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

function breakFinal(run: RunRecord, region: string, change: (s: FinalRegionState) => FinalRegionState): RunRecord {
  return { ...run, finals: run.finals.map((s) => (s.region === region ? change(s) : s)) };
}

describe('final-state checker', () => {
  it('passes when every region holds what the reference computes from its vector', () => {
    const v = checkFinalState(scenario());
    expect(v.ok).toBe(true);
    expect(v.checked).toBeGreaterThan(4);
  });

  it('fails when a region kept a write that a concurrent delete killed', () => {
    const ledger = [op(US, 1, { wall: 1, set: { a: 1 } }), op(EU, 1, { wall: 2, del: true })];
    const run = healed(runRecord({ ledger }));
    expect(checkFinalState(run).ok).toBe(true);
    const bad = breakFinal(run, EU, (s) => ({ ...s, rows: { t: [{ key: 'k', fields: { a: 1 }, version: '2.0.eu-west' }] } }));
    const v = checkFinalState(bad);
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual([`region eu-west: row t/k is visible but the reference has no such row; got {"fields":{"a":1},"key":"k","version":"2.0.eu-west"}`]);
  });

  it('fails when a region misses a conflict entry the ledger implies', () => {
    const ledger = [op(US, 1, { wall: 1, set: { a: 1 } }), op(EU, 1, { wall: 2, set: { a: 2 } })];
    const run = healed(runRecord({ ledger }));
    expect(run.finals[0]?.conflicts).toHaveLength(1);
    const v = checkFinalState(breakFinal(run, US, (s) => ({ ...s, conflicts: [] })));
    expect(v.ok).toBe(false);
    expect(v.violations.join('\n')).toMatch(/region us-east: conflict [0-9a-f]{16} is missing from the feed/);
  });

  it('fails when a region lists a loser with another value than the one its op wrote', () => {
    const ledger = [op(US, 1, { wall: 1, set: { a: 1 } }), op(EU, 1, { wall: 2, set: { a: 2 } })];
    const run = healed(runRecord({ ledger }));
    expect(run.finals[0]?.conflicts[0]?.losers[0]?.wrote).toEqual({ value: 1 });
    const v = checkFinalState(breakFinal(run, US, (s) => ({ ...s, conflicts: s.conflicts.map((c) => ({ ...c, losers: c.losers.map((l) => ({ ...l, wrote: { value: 2 } })) })) })));
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual([expect.stringMatching(/^region us-east: conflict [0-9a-f]{16} lists loser us-east\.1 as having written \{"value":2\}; the reference has \{"value":1\}$/)]);
  });

  it('fails when a final vector covers an op nobody committed', () => {
    const v = checkFinalState(breakFinal(scenario(), EU, (s) => ({ ...s, vector: { ...s.vector, [EU]: 9 } })));
    expect(v.violations.join('\n')).toMatch(/region eu-west: final vector .* covers eu-west.4, which no region committed/);
  });

  it('fails when a row has the wrong value or version', () => {
    const run = scenario();
    const bad = breakFinal(run, US, (s) => ({ ...s, rows: { ...s.rows, t: (s.rows['t'] ?? []).map((r) => (r.key === 'k' ? { ...r, version: '1.0.x' } : r)) } }));
    expect(checkFinalState(bad).violations.join('\n')).toMatch(/region us-east: row t\/k is .*"version":"1\.0\.x".*; the reference has .*"version":"20\.0\.us-east"/);
  });

  it('fails when there is no final state at all', () => {
    const v = checkFinalState(runRecord({ ledger: [op(US, 1)] }));
    expect(v.ok).toBe(false);
    expect(v.violations[0]).toMatch(/no final state/);
  });

  it('ignores strong tables', () => {
    const run = healed(runRecord({ tables: { t: policy(), s: policy({ mode: 'strong' }) }, ledger: [op(US, 1)] }));
    expect(checkFinalState(run).ok).toBe(true);
  });
});
