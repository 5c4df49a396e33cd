import { describe, expect, it } from 'vitest';
import { coverageMarks } from '../../src/sim/sweep.js';
import { sweep } from './sweep-check.js';

describe('async workload sweep, part 3 of 4 (120 seeds with every fault in all)', () => {
  it('seeds 62 to 91 pass every checker, and the interesting things happened', () => {
    const coverage = sweep(60, 30);
    // A green sweep in which no conflict, crash or retry happened would prove nothing.
    for (const mark of coverageMarks) expect(coverage[mark], mark).toBeGreaterThan(0);
  });
});
