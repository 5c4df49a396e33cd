/**
 * Every checker must be able to fail (src/sim/check/README.md, "Broken engines"): run the async
 * workload of the simulator (`terndb sim --world async`: region cores, async and guarded tables'
 * clients) against deliberately broken replicas, the knob reaching the replica inside each region
 * core, and require that the checker guarding each broken property catches it within a few seeds.
 * If a checker could not fail, these tests would.
 */
import { describe, expect, it } from 'vitest';
import type { Knobs } from '../../src/core/replica/config.js';
import { faultKinds } from '../../src/sim/faults.js';
import { runRegionSimulation } from '../../src/sim/region/run.js';
import { worldOptions } from '../../src/sim/run.js';

function firstFailure(knobs: Knobs, options: { bridgeThroughHeal?: boolean } = {}, seeds = 8): { seed: number; failed: string[] } | null {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runRegionSimulation({ ...worldOptions({ world: 'async', seed, faults: [...faultKinds], ops: 1200 }), knobs: { replica: knobs }, ...(options.bridgeThroughHeal ? { bridgeThroughHeal: true } : {}) });
    const failed = r.verdicts.filter((v) => !v.ok).map((v) => v.checker);
    if (failed.length > 0) return { seed, failed };
  }
  return null;
}

describe('checkers catch deliberately broken engines', () => {
  it('LWW ordered by the wall clock: the HLC checker sees a write ordered before one it saw', () => {
    expect(firstFailure({ lwwByWallClock: true })?.failed).toContain('hlc');
  });

  it('relay disabled: a permanent bridge never converges', () => {
    expect(firstFailure({ disableRelay: true }, { bridgeThroughHeal: true })?.failed).toContain('convergence');
  });

  it('tombstones collected before stability: deleted rows come back', () => {
    const f = firstFailure({ tombstonesCollectedEarly: true })?.failed ?? [];
    expect(f.some((c) => ['no-resurrection', 'final-state', 'reads', 'convergence'].includes(c)), f.join(',')).toBe(true);
  });

  it('idempotency ignored: a retried increment counts twice', () => {
    expect(firstFailure({ ignoreIdempotency: true })?.failed).toContain('counters');
  });

  it('causal delivery off: a reply is visible before its comment', () => {
    const f = firstFailure({ noCausalDelivery: true })?.failed ?? [];
    expect(f.some((c) => ['causal', 'reads', 'final-state'].includes(c)), f.join(',')).toBe(true);
  });

  it('the healthy engine passes the same seeds and bridge', () => {
    expect(firstFailure({}, { bridgeThroughHeal: true }, 3)).toBeNull();
  });
});
