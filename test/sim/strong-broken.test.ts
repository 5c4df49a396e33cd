/**
 * The strong simulation's checkers must be able to fail: deliberately broken strong nodes are
 * caught, each by the checker guarding the property it breaks. Seeds are fixed, so these are
 * deterministic.
 */
import { describe, expect, it } from 'vitest';
import type { StrongKnobs } from '../../src/core/strong/strong-node.js';
import { faultKinds, type FaultKind } from '../../src/sim/faults.js';
import { runStrongSimulation, strongReplayCommand } from '../../src/sim/strong/run.js';

function failedCheckers(knobs: StrongKnobs, faults: readonly FaultKind[], seeds: number): Set<string> {
  const failed = new Set<string>();
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runStrongSimulation({ seed, faults, knobs });
    for (const v of r.verdicts) if (!v.ok) failed.add(v.checker);
  }
  return failed;
}

describe('strong checkers catch deliberately broken nodes', () => {
  it('strong reads served from local state (no read index): stale reads, not linearizable', () => {
    expect(failedCheckers({ strongReadsFromLocalState: true }, [...faultKinds], 20)).toContain('linearizable');
  });

  it('idempotency keys ignored: a retried transfer runs twice and the bank counts it', () => {
    expect(failedCheckers({ ignoreIdempotencyKeys: true }, [...faultKinds], 100)).toContain('bank');
  });

  it('a lease that outlives the followers’ election timeout (and no check-quorum): an isolated leader serves stale reads', () => {
    expect(failedCheckers({ leaseTooLong: true }, ['partition'], 100)).toContain('linearizable');
  });

  it('bounded reads served without checking staleness: a partitioned follower answers from the past', () => {
    expect(failedCheckers({ boundedReadsUnchecked: true }, [...faultKinds], 40)).toContain('follower-reads');
  });

  it('session reads served without waiting for the token: a client does not read its own write', () => {
    expect(failedCheckers({ sessionReadsUnchecked: true }, [...faultKinds], 40)).toContain('follower-reads');
  });

  it('the healthy node passes the same seeds', () => {
    expect([...failedCheckers({}, ['partition'], 100)]).toEqual([]);
  });

  it('replays the same seed to the same trace', () => {
    const a = runStrongSimulation({ seed: 11, faults: [...faultKinds] });
    const b = runStrongSimulation({ seed: 11, faults: [...faultKinds] });
    const c = runStrongSimulation({ seed: 12, faults: [...faultKinds] });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.traceHash).not.toBe(c.traceHash);
    expect(a.replay).toBe(strongReplayCommand({ seed: 11, faults: [...faultKinds] }));
    expect(a.replay).toContain('--regions 3');
  });
});
