import { describe, expect, it } from 'vitest';
import { regionCoverageMarks } from '../../src/sim/sweep.js';
import { regionSweep } from './region-sweep-check.js';

describe('region world sweep, part 3 of 3 (150 seeds with every fault)', () => {
  it('seeds 101 to 150 pass every checker of both worlds and the region checkers, and leases moved', () => {
    const coverage = regionSweep(101, 50);
    // A green sweep in which no lease moved, no write was fenced and no node paused would prove little.
    for (const mark of regionCoverageMarks) expect(coverage[mark], mark).toBeGreaterThan(0);
  });
});
