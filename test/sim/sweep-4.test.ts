import { describe, expect, it } from 'vitest';
import { coverageMarks } from '../../src/sim/sweep.js';
import { sweep } from './sweep-check.js';

describe('async workload sweep, part 4 of 4 (120 seeds with every fault in all)', () => {
  it('seeds 92 to 121 pass every checker, and the interesting things happened', () => {
    const coverage = sweep(90, 30);
    // A green sweep in which no conflict, crash or retry happened would prove nothing.
    for (const mark of coverageMarks) expect(coverage[mark], mark).toBeGreaterThan(0);
  });
});
