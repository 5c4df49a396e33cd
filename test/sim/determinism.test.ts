import { describe, expect, it } from 'vitest';
import { faultKinds } from '../../src/sim/faults.js';
import { runSimulation } from '../../src/sim/run.js';

describe('determinism', () => {
  it('the same seed gives the same trace hash, history and final state', () => {
    const a = runSimulation({ seed: 7, faults: [...faultKinds], ops: 800 });
    const b = runSimulation({ seed: 7, faults: [...faultKinds], ops: 800 });
    expect(a.traceHash).toBe(b.traceHash);
    expect(JSON.stringify(a.record.history)).toBe(JSON.stringify(b.record.history));
    expect(a.record.finals.map((f) => f.stateDigest)).toEqual(b.record.finals.map((f) => f.stateDigest));
  });

  it('different seeds give different runs', () => {
    const a = runSimulation({ seed: 1, faults: [...faultKinds], ops: 300 });
    const b = runSimulation({ seed: 2, faults: [...faultKinds], ops: 300 });
    expect(a.traceHash).not.toBe(b.traceHash);
  });

  it('other cluster sizes and fault mixes pass too', () => {
    for (const [regions, faults] of [[1, []], [2, ['partition', 'crash']], [5, [...faultKinds]], [3, []]] as const) {
      const r = runSimulation({ seed: 11, regions, faults: [...faults], ops: 600 });
      expect(r.ok, `${r.replay}: ${JSON.stringify(r.verdicts.filter((v) => !v.ok))}`).toBe(true);
      expect(r.stats.converged).toBe(true);
    }
  });
});
