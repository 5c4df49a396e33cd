/**
 * The strong workload (`terndb sim --world strong`: region cores, strong tables' clients) under
 * every fault, 200 seeds (the issue's bar for the default suite; `npm run sim:sweep` runs 1000):
 * registers linearizable, the bank conserved, bounded and session reads within their promise, one
 * leader per term, every node in the same state at the end. Coverage marks prove the faults did bite.
 */
import { describe, expect, it } from 'vitest';
import { faultKinds } from '../../src/sim/faults.js';
import { strongCoverage } from '../../src/sim/region/coverage.js';
import { runRegionSimulation } from '../../src/sim/region/run.js';
import { worldOptions } from '../../src/sim/run.js';
import { strongCoverageMarks } from '../../src/sim/sweep.js';

describe('strong simulation sweep (200 seeds with every fault)', () => {
  it('seeds 1 to 200 pass every checker, and elections, timeouts, snapshots, replays and both read paths happened', () => {
    const coverage: Record<string, number> = {};
    const failures: string[] = [];
    let ops = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const r = runRegionSimulation(worldOptions({ world: 'strong', seed, faults: [...faultKinds] }));
      ops += r.stats.strongOps;
      if (!r.ok) failures.push(`${r.replay}\n    ${r.verdicts.filter((v) => !v.ok).map((v) => `${v.checker}: ${v.violations[0]}`).join('\n    ')}`);
      const s = strongCoverage(r);
      for (const m of strongCoverageMarks) coverage[m] = (coverage[m] ?? 0) + (s[m] ?? 0);
    }
    expect(failures, failures.join('\n')).toEqual([]);
    for (const mark of strongCoverageMarks) expect(coverage[mark], mark).toBeGreaterThan(0);
    expect(coverage['elections']).toBeGreaterThan(300); // leaders changed in most runs
    expect(ops).toBeGreaterThan(200 * 80);
  });
});
