import { describe, expect, it } from 'vitest';
import { faultKinds } from '../../src/sim/faults.js';
import { regionReplayCommand, runRegionSimulation } from '../../src/sim/region/run.js';

describe('region world determinism', () => {
  it('the same seed gives the same trace hash, history and final state; another seed another run', () => {
    const a = runRegionSimulation({ seed: 7, faults: [...faultKinds] });
    const b = runRegionSimulation({ seed: 7, faults: [...faultKinds] });
    const c = runRegionSimulation({ seed: 8, faults: [...faultKinds] });
    expect(a.traceHash).toBe(b.traceHash);
    expect(JSON.stringify(a.record.async.history)).toBe(JSON.stringify(b.record.async.history));
    expect(JSON.stringify(a.record.strong.lin)).toBe(JSON.stringify(b.record.strong.lin));
    expect(a.record.async.finals.map((f) => f.stateDigest)).toEqual(b.record.async.finals.map((f) => f.stateDigest));
    expect(a.traceHash).not.toBe(c.traceHash);
    expect(a.replay).toBe(regionReplayCommand({ seed: 7, faults: [...faultKinds] }));
    expect(a.replay).toBe('npx terndb sim --world region --seed 7 --regions 3 --faults all');
  });

  it('async and strong tables meet in one run: every checker of both worlds examined something', () => {
    const r = runRegionSimulation({ seed: 2, faults: [] });
    expect(r.ok, JSON.stringify(r.verdicts.filter((v) => !v.ok))).toBe(true);
    for (const name of ['convergence', 'final-state', 'no-lost-writes', 'counters', 'linearizable', 'bank', 'election-safety', 'same-final-state', 'fencing', 'staged-rejoin', 'failover-survival']) {
      expect(r.verdicts.find((v) => v.checker === name)?.checked, name).toBeGreaterThan(0);
    }
  });

  it('the async-only and strong-only mixes pass too', () => {
    for (const mix of ['async', 'strong'] as const) {
      const r = runRegionSimulation({ seed: 5, faults: [...faultKinds], mix });
      expect(r.ok, `${r.replay}: ${JSON.stringify(r.verdicts.filter((v) => !v.ok))}`).toBe(true);
      expect(r.replay).toContain(`--mix ${mix}`);
    }
  });
});
