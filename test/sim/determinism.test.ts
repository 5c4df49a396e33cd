/**
 * `terndb sim --seed N` (the async workload of the one simulated world) replays exactly: the
 * same seed gives the same trace hash, and other sizes and fault mixes pass.
 */
import { describe, expect, it } from 'vitest';
import { faultKinds } from '../../src/sim/faults.js';
import { runRegionSimulation } from '../../src/sim/region/run.js';
import { worldOptions, type WorldChoice } from '../../src/sim/run.js';

const asyncRun = (c: Omit<WorldChoice, 'world'>) => runRegionSimulation(worldOptions({ world: 'async', ...c }));

describe('determinism', () => {
  it('the same seed gives the same trace hash, history and final state', () => {
    const a = asyncRun({ seed: 7, faults: [...faultKinds], ops: 800 });
    const b = asyncRun({ seed: 7, faults: [...faultKinds], ops: 800 });
    expect(a.traceHash).toBe(b.traceHash);
    expect(JSON.stringify(a.record.async.history)).toBe(JSON.stringify(b.record.async.history));
    expect(a.record.async.finals.map((f) => f.stateDigest)).toEqual(b.record.async.finals.map((f) => f.stateDigest));
    expect(a.replay).toBe('npx terndb sim --world region --seed 7 --regions 3 --faults all --mix async --duration 2667');
  });

  it('different seeds give different runs', () => {
    const a = asyncRun({ seed: 1, faults: [...faultKinds], ops: 300 });
    const b = asyncRun({ seed: 2, faults: [...faultKinds], ops: 300 });
    expect(a.traceHash).not.toBe(b.traceHash);
  });

  it('other cluster sizes and fault mixes pass too', () => {
    for (const [regions, faults] of [[1, []], [2, ['partition', 'crash']], [5, [...faultKinds]], [3, []]] as const) {
      const r = asyncRun({ seed: 11, regions, faults: [...faults], ops: 600 });
      expect(r.ok, `${r.replay}: ${JSON.stringify(r.verdicts.filter((v) => !v.ok))}`).toBe(true);
      expect(r.stats.converged).toBe(true);
    }
  });
});
