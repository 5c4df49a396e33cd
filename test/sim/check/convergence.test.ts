import { describe, it, expect } from 'vitest';
import { checkConvergence } from '../../../src/sim/check/convergence.js';
import type { FinalRegionState } from '../../../src/sim/history.js';
import { EU, US, healed, op, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

function withFinal(index: number, change: (s: FinalRegionState) => FinalRegionState) {
  const run = scenario();
  return { ...run, finals: run.finals.map((s, i) => (i === index ? change(s) : s)) };
}

describe('convergence checker', () => {
  it('passes when every region ends with the same state', () => {
    const v = checkConvergence(scenario());
    expect(v).toMatchObject({ checker: 'convergence', ok: true, checked: 2, violations: [] });
  });

  it('fails when two regions end with different conflict feeds', () => {
    const run = withFinal(1, (s) => ({ ...s, conflicts: [{ id: 'feedbeef00000000', table: 't', key: 'k', field: 'a', kind: 'write-write', rule: 'lww', winner: { region: US, seq: 1, hlc: '10.0.us-east' }, losers: [], loserCount: 0, regions: [US] }] }));
    const v = checkConvergence(run);
    expect(v.ok).toBe(false);
    expect(v.violations.join('\n')).toMatch(/regions us-east and eu-west have different conflict feeds at entry feedbeef00000000/);
  });

  it('fails when two regions list a loser with different values, or one with a value and one without', () => {
    const run = healed(runRecord({ ledger: [op(US, 1, { wall: 1, set: { a: 'mine' } }), op(EU, 1, { wall: 2, set: { a: 'theirs' } })] }));
    expect(checkConvergence(run).ok).toBe(true);
    const [entry] = run.finals[0]?.conflicts ?? [];
    expect(entry?.losers).toEqual([{ region: US, seq: 1, hlc: '1.0.us-east', wrote: { value: 'mine' } }]);
    const withLoser = (wrote: unknown) => ({ ...run, finals: run.finals.map((s, i) => (i === 1 ? { ...s, conflicts: s.conflicts.map((c) => ({ ...c, losers: c.losers.map((l) => ({ ...l, wrote })) })) } : s)) }) as typeof run;
    const v = checkConvergence(withLoser({ value: 'other' }));
    expect(v.ok).toBe(false);
    expect(v.violations.join('\n')).toMatch(/regions us-east and eu-west have different conflict feeds at entry [0-9a-f]{16}: loser us-east\.1 wrote \{"value":"mine"\} in us-east but \{"value":"other"\} in eu-west/);
    const unknown = checkConvergence(withLoser(undefined));
    expect(unknown.ok).toBe(false);
    expect(unknown.violations.join('\n')).toMatch(/loser us-east\.1 wrote \{"value":"mine"\} in us-east but unknown in eu-west/);
    // A value against a truncated digest of it differs too.
    expect(checkConvergence(withLoser({ truncated: true, bytes: 6, sha256: 'x' })).ok).toBe(false);
  });

  it('fails when two regions show a row differently', () => {
    const run = withFinal(1, (s) => ({ ...s, rows: { ...s.rows, t: (s.rows['t'] ?? []).map((r) => (r.key === 'k' ? { ...r, fields: { ...r.fields, a: 99 } } : r)) } }));
    expect(checkConvergence(run).violations.join('\n')).toMatch(/disagree on row t\/k/);
  });

  it('fails when vectors or state digests differ', () => {
    const v = checkConvergence(withFinal(1, (s) => ({ ...s, vector: { [US]: 5 }, stateDigest: 'other' })));
    expect(v.ok).toBe(false);
    expect(v.violations.join('\n')).toMatch(/different vectors: \{eu-west:3,us-east:5\} vs \{us-east:5\}/);
    expect(v.violations.join('\n')).toMatch(/different state digests/);
  });

  it('fails when the heal did not finish for every region', () => {
    const run = scenario();
    const v = checkConvergence({ ...run, finals: run.finals.filter((s) => s.region !== EU) });
    expect(v.ok).toBe(false);
    expect(v.violations[0]).toMatch(/heal did not finish: 1 final states for 2 regions \(missing: eu-west/);
    expect(checkConvergence({ ...run, finals: [] }).ok).toBe(false);
  });

  it('fails when the same entries are listed in a different order', () => {
    const run = scenario();
    const entry = { id: 'a', table: 't', key: 'k', field: null, kind: 'delete-update' as const, rule: 'delete-wins', winner: { region: US, seq: 1, hlc: '1.0.us-east' }, losers: [], loserCount: 0, regions: [US] };
    const other = { ...entry, id: 'b' };
    const finals = [{ ...run.finals[0]!, conflicts: [entry, other] }, { ...run.finals[1]!, conflicts: [other, entry] }];
    expect(checkConvergence({ ...run, finals }).violations.join('\n')).toMatch(/list the same conflict entries differently/);
  });
});
