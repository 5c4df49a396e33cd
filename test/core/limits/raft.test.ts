/**
 * Raft's bounds (src/core/limits.ts, "Raft"), each reached with the table's value as RaftConfig's
 * default: entries and bytes per append, snapshot chunks, appends in flight, unanswered heartbeat
 * rounds, committed entries per Ready, and the log pages read from storage on start.
 */
import { describe, expect, it } from 'vitest';
import { limits } from '../../../src/core/limits.js';
import { RaftLog } from '../../../src/core/raft/log.js';
import type { Entry, Message } from '../../../src/core/raft/types.js';
import { RaftStore, type StrongEntry } from '../../../src/core/strong/raft-store.js';
import type { Storage } from '../../../src/core/storage/storage.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { RaftNet, type Cmd } from '../raft/network.js';

const ids = ['n1', 'n2', 'n3'];
type Msg = Message<Cmd, Cmd[]>;

function leaderOf(net: RaftNet, maxTicks = 500): string {
  net.runUntil(() => net.leaders().length === 1, maxTicks);
  const leader = net.leaders()[0];
  if (leader === undefined) throw new Error('no leader');
  return leader;
}

/** A follower cut off while the leader commits `commands`; then the link heals and every message is watched. */
function lagging(net: RaftNet, commands: readonly string[], compact = false): { leader: string; follower: string; sent: Msg[] } {
  const leader = leaderOf(net);
  const follower = ids.find((x) => x !== leader) as string;
  net.isolate(follower);
  for (const c of commands) {
    net.raft(leader).propose(c);
    net.stabilize();
  }
  net.tick(undefined, 1);
  net.stabilize();
  if (compact) {
    const l = net.node(leader);
    net.raft(leader).compact({ index: l.appliedIndex, term: net.raft(leader).term, voters: ids, data: [...l.applied] });
  }
  const sent: Msg[] = [];
  net.drop = (m) => {
    if (m.to === follower) sent.push(m);
    return false;
  };
  net.heal();
  net.runUntil(() => net.node(follower).appliedIndex === net.node(leader).appliedIndex, 500);
  expect(net.node(follower).applied).toEqual(net.node(leader).applied);
  return { leader, follower, sent };
}

const appended = (sent: readonly Msg[]): number[] => sent.flatMap((m) => (m.type === 'append' && m.entries.length > 0 ? [m.entries.length] : []));

describe('appends: limits.raftEntriesPerAppendMax and limits.raftAppendBytesMax', () => {
  it('a follower far behind gets at most raftEntriesPerAppendMax entries per append', () => {
    const n = limits.raftEntriesPerAppendMax + 50;
    const { sent } = lagging(new RaftNet(ids), Array.from({ length: n }, (_, i) => `c${i}`));
    const counts = appended(sent);
    expect(Math.max(...counts)).toBe(limits.raftEntriesPerAppendMax);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(n);
  });

  it('with entry sizes and no bound of the shell, appends stay within raftAppendBytesMax (a larger entry goes alone)', () => {
    const third = Math.floor(limits.raftAppendBytesMax / 3) + 1;
    const big = 'x'.repeat(limits.raftAppendBytesMax + 1);
    const entryBytes = (e: Entry<unknown>) => (typeof e.data === 'string' ? e.data.length : 0);
    const { sent } = lagging(new RaftNet(ids, { entryBytes }), ['a'.repeat(third), 'b'.repeat(third), 'c'.repeat(third), 'd'.repeat(third), big]);
    for (const m of sent) {
      if (m.type !== 'append' || m.entries.length <= 1) continue;
      expect(m.entries.reduce((a, e) => a + entryBytes(e), 0)).toBeLessThanOrEqual(limits.raftAppendBytesMax);
    }
    // Two thirds fit, a third would not; the oversized entry travelled on its own.
    expect(appended(sent)).toContain(2);
    expect(sent.some((m) => m.type === 'append' && m.entries.length === 1 && m.entries[0]?.data === big)).toBe(true);
  });
});

describe('snapshots: limits.raftSnapshotChunkBytes', () => {
  it('a snapshot larger than a chunk travels in chunks of at most raftSnapshotChunkBytes', () => {
    const codec = {
      encode: (data: unknown) => new TextEncoder().encode(JSON.stringify(data)),
      decode: (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    };
    const piece = 'y'.repeat(Math.floor(limits.raftSnapshotChunkBytes / 2));
    const { sent } = lagging(new RaftNet(ids, { snapshotCodec: codec }), [piece, piece, piece], true);
    const chunks = sent.flatMap((m) => (m.type === 'snapshot-chunk' ? [m.data.length] : []));
    expect(chunks.length).toBeGreaterThan(1);
    expect(Math.max(...chunks)).toBe(limits.raftSnapshotChunkBytes);
  });
});

describe('pipelining: limits.raftAppendsInFlightMax', () => {
  it('a leader sends at most raftAppendsInFlightMax appends to a follower that does not answer, then waits', () => {
    const net = new RaftNet(ids);
    const leader = leaderOf(net);
    const silent = ids.find((x) => x !== leader) as string;
    net.stabilize();
    let withEntries = 0;
    net.drop = (m) => {
      if (m.to !== silent) return false;
      if (m.type === 'append' && m.entries.length > 0) withEntries++;
      return true; // it never arrives, so it is never answered
    };
    for (let i = 0; i < limits.raftAppendsInFlightMax + 20; i++) {
      net.raft(leader).propose(`c${i}`);
      net.stabilize();
    }
    expect(withEntries).toBe(limits.raftAppendsInFlightMax);
    // The others kept committing meanwhile.
    expect(net.node(leader).applied).toHaveLength(limits.raftAppendsInFlightMax + 20);
  });
});

describe('leases: limits.raftRoundsUnansweredMax', () => {
  it('an answer to a heartbeat round older than the bound is ignored; a recent one renews the lease', () => {
    // A long election timeout, so an old round could still extend the lease if it were kept.
    const net = new RaftNet(ids, { electionTicks: 1000, checkQuorum: false });
    const leader = leaderOf(net, 5000);
    const raft = net.raft(leader);
    const rounds: Array<{ round: number; to: string; index: number }> = [];
    net.drop = (m) => {
      if (m.type === 'append' && m.from === leader) rounds.push({ round: m.round, to: m.to, index: m.prevIndex + m.entries.length });
      return m.type === 'append-resp'; // no follower's answer gets through
    };
    // Unanswered heartbeats until the lease from the election has run out.
    for (let i = 0; i < 1100; i++) {
      net.tick([leader]);
      net.stabilize();
    }
    expect(raft.status().leaseValid).toBe(false);
    const latest = Math.max(...rounds.map((r) => r.round));
    const answer = (round: number): void => {
      const r = rounds.find((x) => x.round === round) as { round: number; to: string; index: number };
      raft.step({ type: 'append-resp', from: r.to, to: leader, term: raft.term, index: r.index, reject: false, round });
    };
    answer(latest - limits.raftRoundsUnansweredMax - 1);
    expect(raft.status().leaseValid).toBe(false);
    answer(latest - 1);
    expect(raft.status().leaseValid).toBe(true);
  });
});

describe('applying: limits.raftCommittedPerReadyMax', () => {
  it('hands out at most raftCommittedPerReadyMax committed entries at a time; the rest follow', () => {
    const n = limits.raftCommittedPerReadyMax + 76;
    const entries: Array<Entry<string>> = Array.from({ length: n }, (_, i) => ({ term: 1, index: i + 1, data: `c${i}` }));
    const log = new RaftLog<string>(null, entries, n);
    expect(log.takeCommitted()).toHaveLength(limits.raftCommittedPerReadyMax);
    expect(log.takeCommitted()).toHaveLength(76);
    expect(log.takeCommitted()).toHaveLength(0);
  });
});

describe('start: limits.raftLogPageEntriesMax', () => {
  it('reads the log back in pages of at most raftLogPageEntriesMax entries, and all of it', () => {
    const storage = new MemoryStorage();
    const n = 2 * limits.raftLogPageEntriesMax + 5;
    storage.transaction(() => new RaftStore(storage).appendEntries(Array.from({ length: n }, (_, i): StrongEntry => ({ term: 1, index: i + 1, data: null }))));
    const asked: number[] = [];
    const watched = new Proxy(storage, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'scanAux') return (ns: string, after: string, limit: number) => (asked.push(limit), target.scanAux(ns, after, limit));
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Storage;
    const disk = new RaftStore(watched).load();
    expect(disk.entries.map((e) => e.index)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(asked.length).toBe(3);
    expect(Math.max(...asked)).toBe(limits.raftLogPageEntriesMax);
  });
});
