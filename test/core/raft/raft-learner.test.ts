/**
 * A node restored from a backup has forgotten votes and acknowledged entries. As a learner it
 * takes entries but votes for nobody and counts towards no quorum until a leader readmits it;
 * counted at once, it would let a node missing a committed entry become leader.
 */
import { describe, expect, it } from 'vitest';
import { RaftNet } from './network.js';

/** a leads; x commits on {a, b} while c is cut off; b's disk is then replaced by a copy from before x; a goes down. */
function amnesia(learner: boolean): RaftNet {
  const net = new RaftNet(['a', 'b', 'c'], { preferredLeader: 'a', seed: 3 });
  net.runUntil(() => net.leaders().length === 1 && net.raft('a').role === 'leader');
  net.stabilize();
  const before = structuredClone(net.node('b').disk);
  net.isolate('c');
  expect(net.raft('a').propose('x').ok).toBe(true);
  net.stabilize();
  expect(net.node('a').applied).toContain('x'); // committed by a and b
  net.restoreFrom('b', before, learner);
  net.isolate('a'); // a is down
  return net;
}

describe('a restored node (learner)', () => {
  it('without the learner rule, the node missing a committed entry is elected and the entry is lost', () => {
    const net = amnesia(false);
    net.cut.delete('b|c');
    net.cut.delete('c|b');
    net.runUntil(() => net.leaders().some((l) => l !== 'a'), 2_000);
    const leader = net.leaders().find((l) => l !== 'a');
    expect(leader).toBeDefined();
    net.raft(leader as string).propose('z');
    net.runUntil(() => net.node(leader as string).applied.includes('z'), 500);
    // a applied x as committed; the new leader committed z in its place: the logs diverged.
    expect(net.node('a').applied).toContain('x');
    expect(net.node(leader as string).applied).not.toContain('x');
  });

  it('with it, nobody is elected without the entry; once a is back it leads, readmits b, and every node holds x', () => {
    const net = amnesia(true);
    net.cut.delete('b|c');
    net.cut.delete('c|b');
    for (let i = 0; i < 300; i++) {
      net.tick();
      net.stabilize();
      expect(net.leaders().filter((l) => l !== 'a')).toEqual([]);
      expect(net.raft('b').vote).toBeNull();
    }
    expect(net.raft('b').learner).toBe(true);
    net.heal();
    net.runUntil(() => net.raft('a').role === 'leader' && !net.raft('b').learner, 2_000);
    expect(net.raft('b').learner).toBe(false);
    expect(net.node('b').disk.hardState).toMatchObject({ vote: 'a' });
    expect(net.node('b').disk.hardState?.learner).toBeUndefined();
    net.runUntil(() => ['b', 'c'].every((n) => net.node(n).applied.includes('x')), 2_000);
    for (const n of ['a', 'b', 'c']) expect(net.node(n).applied).toEqual(net.node('a').applied);
  });

  it('a learner that restarts is still a learner (the flag is persisted)', () => {
    const net = amnesia(true);
    expect(net.node('b').raft.learner).toBe(true);
    net.stabilize();
    net.crash('b');
    expect(net.raft('b').learner).toBe(true);
  });

  it("a learner's acknowledgements commit nothing: a leader with only a learner beside it cannot commit", () => {
    const net = amnesia(true);
    net.heal();
    net.isolate('c'); // a and the learner b only
    net.runUntil(() => net.raft('a').role === 'leader', 500);
    const commit = net.raft('a').log.committed;
    net.raft('a').propose('y');
    for (let i = 0; i < 50; i++) {
      net.tick();
      net.stabilize();
    }
    expect(net.raft('b').learner).toBe(true);
    expect(net.raft('a').log.committed).toBeLessThanOrEqual(commit);
    expect(net.node('a').applied).not.toContain('y');
  });
});
