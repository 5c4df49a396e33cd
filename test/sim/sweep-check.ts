/** Shared helper for the seed sweeps in the default suite. */
import { expect } from 'vitest';
import { faultKinds } from '../../src/sim/faults.js';
import { runSimulation } from '../../src/sim/run.js';
import { coverageMarks } from '../../src/sim/sweep.js';

/** Runs seeds [first, first+count) with every fault and fails with the replay command of any bad seed. */
export function sweep(first: number, count: number, regions = 3, ops = 2000): Record<string, number> {
  const coverage: Record<string, number> = {};
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const r = runSimulation({ seed, regions, ops, faults: [...faultKinds] });
    if (!r.ok) failures.push(`${r.replay}\n    ${r.verdicts.filter((v) => !v.ok).map((v) => `${v.checker}: ${v.violations[0]}`).join('\n    ')}`);
    const s: Record<string, number> = { ...r.stats.metrics, crashes: r.stats.crashes, partitions: r.stats.partitions, infos: r.stats.infos };
    for (const m of coverageMarks) coverage[m] = (coverage[m] ?? 0) + (s[m] ?? 0);
  }
  expect(failures, failures.join('\n')).toEqual([]);
  return coverage;
}
