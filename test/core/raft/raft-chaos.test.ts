/**
 * Raft's safety properties (§5.2 election safety, §5.4.3 state machine safety, durability of what
 * was acknowledged, and linearizable read points from leases and ReadIndex, thesis §6.4) over
 * seeded chaos: loss, duplication, reordering, partitions, crashes, clock drift.
 */
import { describe, expect, it } from 'vitest';
import { chaosViolations, runChaos, type ChaosResult } from './chaos.js';
import { RaftNet } from './network.js';

describe('raft under chaos', () => {
  it('keeps every safety property over 60 seeds, and makes progress', () => {
    let acknowledged = 0;
    let reads = 0;
    let leaseReads = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = runChaos({ seed });
      expect(chaosViolations(r), `seed ${seed}\n${r.log.join('\n')}`).toEqual([]);
      acknowledged += r.acknowledged.length;
      reads += r.reads.length;
      leaseReads += r.reads.filter((x) => x.lease).length;
    }
    expect(acknowledged).toBeGreaterThan(60 * 50);
    expect(leaseReads).toBeGreaterThan(100);
    expect(reads - leaseReads).toBeGreaterThan(100);
  });
});

describe('raft with nodes restored from backups', () => {
  it('restored as learners: every safety property holds over 60 seeds', () => {
    let restores = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = runChaos({ seed, amnesia: 'learner' });
      expect(chaosViolations(r), `seed ${seed}\n${r.log.join('\n')}`).toEqual([]);
      restores += r.log.filter((l) => l.includes('restore')).length;
    }
    expect(restores).toBeGreaterThan(30);
  });

  it('restored as they were (votes and acknowledgements forgotten): the checker finds a violation', () => {
    const bad = Array.from({ length: 60 }, (_, i) => i + 1).filter((seed) => chaosViolations(runChaos({ seed, amnesia: 'forget' })).length > 0);
    expect(bad.length).toBeGreaterThan(0);
  });
});

describe('the chaos checker fails on known-bad runs', () => {
  const good = (): ChaosResult => ({
    leaderOfTerm: new Map([[1, new Set(['n1'])]]),
    applied: new Map([
      ['n1', ['a', 'b']],
      ['n2', ['a', 'b']],
    ]),
    acknowledged: ['a', 'b'],
    reads: [{ node: 'n1', index: 2, committedWhenAsked: 2, lease: true }],
    log: [],
  });

  it('accepts a good run', () => expect(chaosViolations(good())).toEqual([]));

  it('two leaders in one term', () => {
    const r = good();
    r.leaderOfTerm.set(1, new Set(['n1', 'n2']));
    expect(chaosViolations(r)).toEqual(['term 1 had leaders n1,n2']);
  });

  it('diverging applied logs', () => {
    const r = good();
    r.applied.set('n2', ['a', 'c']);
    expect(chaosViolations(r).some((v) => v.includes('applied c at position 1'))).toBe(true);
  });

  it('an acknowledged command lost', () => {
    const r = good();
    r.applied.set('n2', ['a']);
    expect(chaosViolations(r)).toEqual(['n2 never applied acknowledged b']);
  });

  it('a stale read', () => {
    const r = good();
    r.reads.push({ node: 'n1', index: 1, committedWhenAsked: 2, lease: true });
    expect(chaosViolations(r)).toEqual(['stale read at n1: index 1 but 2 was committed when asked (lease true)']);
  });
});

describe('§6.4.1 the lease must end before the followers’ election timeout', () => {
  /** Isolates the leader and asks it for lease reads while the majority elects and commits. */
  function staleLeaseReads(maxClockOffsetMs: number): number {
    let stale = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const net = new RaftNet(['n1', 'n2', 'n3'], { seed, maxClockOffsetMs });
      net.runUntil(() => net.leaders().length === 1);
      const old = net.leaders()[0] as string;
      for (let i = 0; i < seed % 10; i++) {
        net.tick();
        net.stabilize();
      }
      net.isolate(old);
      const r = net.raft(old);
      for (let t = 0; t < 60 && r.role === 'leader'; t++) {
        net.tick();
        net.stabilize();
        const committedElsewhere = Math.max(...['n1', 'n2', 'n3'].filter((x) => x !== old).map((x) => net.raft(x).log.committed));
        const before = net.node(old).reads.length;
        r.readIndex(t, net.nowMs);
        net.process(old);
        const got = net.node(old).reads.slice(before);
        if (got.some((x) => x.index < committedElsewhere)) stale++;
      }
    }
    return stale;
  }

  it('with the offset subtracted no isolated leader serves a stale read; with a lease past the timeout one does', () => {
    expect(staleLeaseReads(20)).toBe(0);
    expect(staleLeaseReads(-300)).toBeGreaterThan(0);
  });
});
