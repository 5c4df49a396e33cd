/**
 * The region checkers must be able to fail: region cores with a deliberately broken knob
 * (NodeKnobs in src/core/node/config.ts) are caught, each by the checker guarding the property it
 * breaks. Seeds are fixed, so these are deterministic.
 */
import { describe, expect, it } from 'vitest';
import type { NodeKnobs } from '../../src/core/node/config.js';
import { faultKinds } from '../../src/sim/faults.js';
import { runRegionSimulation } from '../../src/sim/region/run.js';

function failedCheckers(node: NodeKnobs, seeds: readonly number[]): Set<string> {
  const failed = new Set<string>();
  for (const seed of seeds) {
    const r = runRegionSimulation({ seed, faults: [...faultKinds], knobs: { node } });
    for (const v of r.verdicts) if (!v.ok) failed.add(v.checker);
  }
  return failed;
}

describe('region checkers catch deliberately broken region cores', () => {
  it('leases used however old they are: a region writes guarded rows another region has taken over (fencing)', () => {
    expect(failedCheckers({ ignoreLeaseTime: true }, [2])).toContain('fencing');
  });

  it('the lease not checked again after the commit: a process paused inside a step acknowledges a guarded write after its lease (fencing)', () => {
    expect(failedCheckers({ skipLeaseRecheck: true }, [8])).toContain('fencing');
  });

  it("readiness from the peers' clocks: a healthy region is demoted by another region's bad clock or silence (fault containment)", () => {
    expect(failedCheckers({ readinessFromPeerClocks: true }, [5])).toContain('fault-containment');
  });

  it('the stage ignored: a starting node serves reads and writes (staged rejoin)', () => {
    expect(failedCheckers({ ignoreStage: true }, [1])).toContain('staged-rejoin');
  });

  it('no clock guard: a node whose clock jumped beyond the bound keeps taking writes (clock guard)', () => {
    expect(failedCheckers({ noClockGuard: true }, [1])).toContain('clock-guard');
  });

  it('guarded ops fenced by the latest epoch: writes made under a takeover are dropped after the handback (failover survival)', () => {
    expect(failedCheckers({ fenceByLatestEpoch: true }, [17])).toContain('failover-survival');
  });

  it('guarded ops fenced by the latest epoch: regions fence ops whose writer held the slot at their position (fence verdicts)', () => {
    expect(failedCheckers({ fenceByLatestEpoch: true }, [34])).toContain('fence-verdicts');
  });

  it('the healthy core passes the same seeds', () => {
    expect([...failedCheckers({}, [1, 2, 5, 8, 17, 34])]).toEqual([]);
  });
});
