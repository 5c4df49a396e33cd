/**
 * Seeds of the region world that once failed, kept as they are: each names what it caught. They
 * run the healthy core with every fault and must pass every checker.
 */
import { describe, expect, it } from 'vitest';
import { faultKinds } from '../../src/sim/faults.js';
import { runRegionSimulation } from '../../src/sim/region/run.js';
import type { RegionMix } from '../../src/sim/region/workload.js';

const seeds: ReadonlyArray<{ readonly seed: number; readonly mix?: RegionMix; readonly caught: string }> = [
  { seed: 992, caught: 'clock guard: a late probe answer from a peer that had been paused passed for "within the bound" (sweep of 2026-12-07)' },
  { seed: 5, mix: 'async', caught: 'sets checker: a remove whose client timed out ran later in a paused node, and was not counted as able to remove' },
  { seed: 26, caught: 'fault containment: a restarted region that could not yet know what it missed (its holders paused or cut off)' },
  { seed: 27, caught: 'readiness: nothing of an origin covered since start read as an unknown backlog after a heal' },
  { seed: 40, caught: 'clock guard: samples discarded by rtt/2 alone left a 190 ms link unmeasured, so one bad peer fenced a healthy node' },
  { seed: 52, caught: 'fault containment: a batch lost on the simulated network took a full default resend interval to come back' },
];

describe('region world regressions', () => {
  it.each(seeds)('seed $seed passes ($caught)', ({ seed, mix }) => {
    const r = runRegionSimulation({ seed, faults: [...faultKinds], ...(mix !== undefined ? { mix } : {}) });
    expect(r.ok, `${r.replay}: ${JSON.stringify(r.verdicts.filter((v) => !v.ok))}`).toBe(true);
  });
});
