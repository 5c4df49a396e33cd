/** Shared helper for the region world's seed sweeps in the default suite. */
import { expect } from 'vitest';
import { faultKinds } from '../../src/sim/faults.js';
import { regionCoverage } from '../../src/sim/region/coverage.js';
import { runRegionSimulation } from '../../src/sim/region/run.js';
import { regionCoverageMarks } from '../../src/sim/sweep.js';

/** Runs seeds [first, first+count) with every fault and fails with the replay command of any bad seed. */
export function regionSweep(first: number, count: number): Record<string, number> {
  const coverage: Record<string, number> = {};
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const r = runRegionSimulation({ seed, faults: [...faultKinds] });
    if (!r.ok) failures.push(`${r.replay}\n    ${r.verdicts.filter((v) => !v.ok).map((v) => `${v.checker}: ${v.violations[0]}`).join('\n    ')}`);
    const s = regionCoverage(r);
    for (const m of regionCoverageMarks) coverage[m] = (coverage[m] ?? 0) + (s[m] ?? 0);
  }
  expect(failures, failures.join('\n')).toEqual([]);
  return coverage;
}
