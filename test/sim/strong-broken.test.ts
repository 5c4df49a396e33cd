/**
 * The strong checkers must be able to fail: region cores whose strong node is deliberately broken
 * (StrongKnobs, reaching the strong node inside each core) are caught, each by the checker
 * guarding the property it breaks, in the strong workload (`terndb sim --world strong`). Seeds
 * are fixed, so these are deterministic.
 */
import { describe, expect, it } from 'vitest';
import type { StrongKnobs } from '../../src/core/strong/strong-node.js';
import { faultKinds, type FaultKind } from '../../src/sim/faults.js';
import { regionReplayCommand, runRegionSimulation } from '../../src/sim/region/run.js';
import { worldOptions } from '../../src/sim/run.js';

/**
 * The too-long lease (five election timeouts) is visible only when it outlasts the strong group's
 * request timeout (1.5 s): a client at an isolated leader waits that long for its write before it
 * reads again. The region world's own 300 ms elections give a 1.48 s lease (500 seeds, none
 * caught), so those runs take 400 ms elections, as the retired strong world had.
 */
const longLeaseElectionMs = 400;

function failedCheckers(knobs: StrongKnobs, faults: readonly FaultKind[], seeds: readonly number[], strongElectionMs?: number): Set<string> {
  const failed = new Set<string>();
  for (const seed of seeds) {
    const r = runRegionSimulation({ ...worldOptions({ world: 'strong', seed, faults }), knobs: { strong: knobs }, ...(strongElectionMs !== undefined ? { strongElectionMs } : {}) });
    for (const v of r.verdicts) if (!v.ok) failed.add(v.checker);
  }
  return failed;
}

describe('strong checkers catch deliberately broken nodes', () => {
  it('strong reads served from local state (no read index): stale reads, not linearizable', () => {
    expect(failedCheckers({ strongReadsFromLocalState: true }, [...faultKinds], [2])).toContain('linearizable');
  });

  it('idempotency keys ignored: a retried transfer runs twice and the bank counts it', () => {
    expect(failedCheckers({ ignoreIdempotencyKeys: true }, [...faultKinds], [2])).toContain('bank');
  });

  it('a lease that outlives the followers’ election timeout (and no check-quorum): an isolated leader serves stale reads', () => {
    expect(failedCheckers({ leaseTooLong: true }, ['partition'], [37], longLeaseElectionMs)).toContain('linearizable');
  });

  it('bounded reads served without checking staleness: a partitioned follower answers from the past', () => {
    expect(failedCheckers({ boundedReadsUnchecked: true }, [...faultKinds], [1])).toContain('follower-reads');
  });

  it('session reads served without waiting for the token: a client does not read its own write', () => {
    expect(failedCheckers({ sessionReadsUnchecked: true }, [...faultKinds], [2])).toContain('follower-reads');
  });

  it('the healthy node passes the same seeds', () => {
    expect([...failedCheckers({}, [...faultKinds], [1, 2])]).toEqual([]);
    expect([...failedCheckers({}, ['partition'], [37], longLeaseElectionMs)]).toEqual([]);
  });

  it('replays the same seed to the same trace', () => {
    const run = (seed: number) => runRegionSimulation(worldOptions({ world: 'strong', seed, faults: [...faultKinds] }));
    const a = run(11);
    const b = run(11);
    const c = run(12);
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.traceHash).not.toBe(c.traceHash);
    expect(a.replay).toBe(regionReplayCommand(worldOptions({ world: 'strong', seed: 11, faults: [...faultKinds] })));
    expect(a.replay).toContain('--regions 3');
    expect(a.replay).toContain('--mix strong');
  });
});
