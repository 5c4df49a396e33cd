/**
 * Scripted interaction tests (etcd-io/raft style): a script of actions, and the expected state of
 * every node after each, as a transcript. Run vitest with -u to regenerate after a deliberate change.
 */
import { describe, expect, it } from 'vitest';
import { RaftNet } from './network.js';

describe('raft interactions', () => {
  it('elects a leader, replicates and commits a proposal', () => {
    const net = new RaftNet(['n1', 'n2', 'n3']);
    net.runUntil(() => net.leaders().length === 1);
    expect(net.transcript()).toMatchInlineSnapshot(`
      "n1 leader term=1 leader=n1 commit=1 last=1 applied=[]
      n2 follower term=1 leader=n1 commit=1 last=1 applied=[]
      n3 follower term=1 leader=n1 commit=1 last=1 applied=[]"
    `);
    const leader = net.leaders()[0] as string;
    expect(net.raft(leader).propose('x=1').ok).toBe(true);
    net.stabilize();
    expect(net.transcript()).toMatchInlineSnapshot(`
      "n1 leader term=1 leader=n1 commit=2 last=2 applied=[x=1]
      n2 follower term=1 leader=n1 commit=2 last=2 applied=[x=1]
      n3 follower term=1 leader=n1 commit=2 last=2 applied=[x=1]"
    `);
    // The leader told the followers the new commit index at once; a heartbeat changes nothing.
    net.tick(undefined, 1);
    net.stabilize();
    expect(net.transcript()).toMatchInlineSnapshot(`
      "n1 leader term=1 leader=n1 commit=2 last=2 applied=[x=1]
      n2 follower term=1 leader=n1 commit=2 last=2 applied=[x=1]
      n3 follower term=1 leader=n1 commit=2 last=2 applied=[x=1]"
    `);
  });

  it('a follower that was cut off catches up on entries it missed, then a new leader overwrites a stale tail', () => {
    const net = new RaftNet(['n1', 'n2', 'n3']);
    net.runUntil(() => net.leaders().length === 1);
    const leader = net.leaders()[0] as string;
    const [f1, f2] = ['n1', 'n2', 'n3'].filter((x) => x !== leader) as [string, string];
    net.isolate(f2);
    for (const c of ['a', 'b', 'c']) net.raft(leader).propose(c);
    net.stabilize();
    net.tick([leader, f1], 1);
    net.stabilize();
    expect(net.transcript()).toMatchInlineSnapshot(`
      "n1 leader term=1 leader=n1 commit=4 last=4 applied=[a,b,c]
      n2 follower term=1 leader=n1 commit=4 last=4 applied=[a,b,c]
      n3 follower term=1 leader=n1 commit=1 last=1 applied=[]"
    `);
    net.heal();
    net.tick([leader], 1);
    net.stabilize();
    net.tick([leader], 1);
    net.stabilize();
    expect(net.transcript()).toMatchInlineSnapshot(`
      "n1 leader term=1 leader=n1 commit=4 last=4 applied=[a,b,c]
      n2 follower term=1 leader=n1 commit=4 last=4 applied=[a,b,c]
      n3 follower term=1 leader=n1 commit=4 last=4 applied=[a,b,c]"
    `);
    // The leader takes proposals it cannot commit (both followers cut off), then is replaced.
    net.isolate(leader);
    net.raft(leader).propose('lost-1');
    net.raft(leader).propose('lost-2');
    net.stabilize();
    net.runUntil(() => net.leaders().some((l) => l !== leader) && net.raft(leader).role === 'follower', 300);
    const next = net.leaders().find((l) => l !== leader) as string;
    net.raft(next).propose('d');
    net.stabilize();
    expect(net.transcript()).toMatchInlineSnapshot(`
      "n1 follower term=1 leader=- commit=4 last=6 applied=[a,b,c]
      n2 follower term=2 leader=n3 commit=6 last=6 applied=[a,b,c,d]
      n3 leader term=2 leader=n3 commit=6 last=6 applied=[a,b,c,d]"
    `);
    net.heal();
    net.runUntil(() => net.raft(leader).status().commit === net.raft(next).status().commit, 100);
    net.tick(undefined, 1);
    net.stabilize();
    expect(net.transcript()).toMatchInlineSnapshot(`
      "n1 follower term=2 leader=n3 commit=6 last=6 applied=[a,b,c,d]
      n2 follower term=2 leader=n3 commit=6 last=6 applied=[a,b,c,d]
      n3 leader term=2 leader=n3 commit=6 last=6 applied=[a,b,c,d]"
    `);
  });

  it('a partitioned node with pre-vote does not raise its term, and rejoins without disrupting the leader', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    net.runUntil(() => net.leaders().length === 1);
    const leader = net.leaders()[0] as string;
    const loner = ['a', 'b', 'c'].find((x) => x !== leader) as string;
    const term = net.raft(leader).term;
    net.isolate(loner);
    for (let i = 0; i < 100; i++) {
      net.tick();
      net.stabilize();
    }
    expect(net.raft(loner).term).toBe(term); // pre-votes never won: no term inflation
    net.heal();
    net.runUntil(() => net.raft(loner).leader === leader, 100);
    expect(net.leaders()).toEqual([leader]);
    expect(net.raft(leader).term).toBe(term);
  });

  it('an isolated leader steps down (check-quorum) and the majority elects another', () => {
    const net = new RaftNet(['a', 'b', 'c']);
    net.runUntil(() => net.leaders().length === 1);
    const old = net.leaders()[0] as string;
    net.isolate(old);
    net.runUntil(() => net.raft(old).role !== 'leader' && net.leaders().length === 1, 300);
    expect(net.raft(old).role).not.toBe('leader');
    expect(net.leaders()).toHaveLength(1);
    expect(net.leaders()[0]).not.toBe(old);
  });

  it('leadership moves to the preferred node once it is caught up', () => {
    const net = new RaftNet(['a', 'b', 'c'], { preferredLeader: 'c' });
    net.runUntil(() => net.leaders()[0] === 'c', 300);
    expect(net.leaders()).toEqual(['c']);
  });
});
