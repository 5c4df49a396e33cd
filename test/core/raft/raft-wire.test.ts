/**
 * Raft messages that fit a transport's frame limit (RaftConfig.maxAppendBytes, snapshotCodec):
 * a frame over the limit makes the receiver drop the link, and the same message is sent again,
 * forever. Appends are bounded by bytes; a snapshot travels in chunks and resumes after a loss.
 */
import { describe, expect, it } from 'vitest';
import type { Entry, Message } from '../../../src/core/raft/types.js';
import { RaftNet, type Cmd } from './network.js';

const ids = ['n1', 'n2', 'n3'];
const frameBytesMax = 2_048;

/** A message's size as a transport would carry it (bytes as bytes, the rest as JSON). */
function wireBytes(m: Message<Cmd, Cmd[]>): number {
  const data = m.type === 'snapshot-chunk' ? m.data.length : 0;
  return JSON.stringify(m, (k, v: unknown) => (k === 'data' && v instanceof Uint8Array ? '' : v)).length + data;
}

const codec = {
  encode: (data: unknown) => new TextEncoder().encode(JSON.stringify(data)),
  decode: (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
};
const entryBytes = (e: Entry<unknown>) => JSON.stringify(e).length;

function electedLeader(net: RaftNet): string {
  net.runUntil(() => net.leaders().length === 1);
  return net.leaders()[0] as string;
}

/** A follower cut off while the leader commits `n` commands of ~100 bytes, then compacts its log into a snapshot of them. */
function laggingBehindSnapshot(net: RaftNet, n: number): { leader: string; lagging: string } {
  const leader = electedLeader(net);
  const lagging = ids.find((x) => x !== leader) as string;
  net.isolate(lagging);
  for (let i = 0; i < n; i++) {
    net.raft(leader).propose(`c${i}-${'x'.repeat(96)}`);
    net.stabilize();
  }
  net.tick(undefined, 1);
  net.stabilize();
  const l = net.node(leader);
  net.raft(leader).compact({ index: l.appliedIndex, term: net.raft(leader).term, voters: ids, data: [...l.applied] });
  net.heal();
  return { leader, lagging };
}

describe('Raft within a frame limit', () => {
  it('a snapshot larger than the frame limit reaches a lagging follower in chunks', () => {
    const net = new RaftNet(ids, { snapshotCodec: codec, snapshotChunkBytes: 512 });
    const sizes: number[] = [];
    net.drop = (m) => {
      sizes.push(wireBytes(m));
      return wireBytes(m) > frameBytesMax;
    };
    const { leader, lagging } = laggingBehindSnapshot(net, 60);
    expect(codec.encode(net.node(leader).applied).length).toBeGreaterThan(3 * frameBytesMax);
    net.raft(leader).propose('after');
    net.runUntil(() => net.node(lagging).applied.includes('after'), 300);
    expect(net.node(lagging).applied).toEqual(net.node(leader).applied);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(frameBytesMax);
  });

  it('without chunks (the same snapshot as one message) the follower never catches up', () => {
    const net = new RaftNet(ids);
    net.drop = (m) => wireBytes(m) > frameBytesMax;
    const { leader, lagging } = laggingBehindSnapshot(net, 60);
    net.raft(leader).propose('after');
    net.runUntil(() => net.node(lagging).applied.includes('after'), 300);
    expect(net.node(lagging).applied).not.toContain('after');
  });

  it('chunks lost on the way are sent again from what arrived, not from the start', () => {
    const net = new RaftNet(ids, { snapshotCodec: codec, snapshotChunkBytes: 512 });
    let chunks = 0;
    let sentBytes = 0;
    net.drop = (m) => {
      if (m.type !== 'snapshot-chunk') return false;
      chunks++;
      // Every third chunk is lost (a link that drops and comes back).
      if (chunks % 3 === 0) return true;
      sentBytes += m.data.length;
      return false;
    };
    const { leader, lagging } = laggingBehindSnapshot(net, 60);
    const total = codec.encode(net.node(leader).applied).length;
    net.raft(leader).propose('after');
    net.runUntil(() => net.node(lagging).applied.includes('after'), 500);
    expect(net.node(lagging).applied).toEqual(net.node(leader).applied);
    expect(chunks).toBeGreaterThan(total / 512);
    // Duplicates (a heartbeat resends what was not yet acknowledged) but never a restart from byte 0.
    expect(sentBytes).toBeLessThan(2 * total);
  });

  it('a follower that restarts mid-transfer, or a newer snapshot, starts the transfer over and still completes', () => {
    const net = new RaftNet(ids, { snapshotCodec: codec, snapshotChunkBytes: 512 });
    let chunks = 0;
    let crashed = false;
    const { leader, lagging } = laggingBehindSnapshot(net, 60);
    net.drop = (m) => {
      if (m.type === 'snapshot-chunk' && ++chunks === 4 && !crashed) {
        crashed = true;
        net.crash(lagging);
        return true;
      }
      return false;
    };
    net.raft(leader).propose('after');
    net.runUntil(() => net.node(lagging).applied.includes('after'), 500);
    expect(crashed).toBe(true);
    expect(net.node(lagging).applied).toEqual(net.node(leader).applied);
  });

  it('appends are bounded by bytes as well as by entries: a follower far behind catches up in frames that fit', () => {
    const net = new RaftNet(ids, { entryBytes, maxAppendBytes: 1_024 });
    const leader = electedLeader(net);
    const lagging = ids.find((x) => x !== leader) as string;
    net.isolate(lagging);
    for (let i = 0; i < 40; i++) net.raft(leader).propose(`c${i}-${'x'.repeat(300)}`);
    net.stabilize();
    net.heal();
    let largest = 0;
    net.drop = (m) => {
      if (m.type === 'append' && m.to === lagging) largest = Math.max(largest, wireBytes(m));
      return wireBytes(m) > frameBytesMax;
    };
    net.raft(leader).propose('after');
    net.runUntil(() => net.node(lagging).applied.includes('after'), 300);
    expect(net.node(lagging).applied).toEqual(net.node(leader).applied);
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(frameBytesMax);
  });

  it('an entry larger than maxAppendBytes still travels, alone', () => {
    const net = new RaftNet(ids, { entryBytes, maxAppendBytes: 100 });
    const leader = electedLeader(net);
    net.raft(leader).propose('y'.repeat(500));
    net.raft(leader).propose('z'.repeat(500));
    net.runUntil(() => ids.every((id) => net.node(id).applied.length === 2), 100);
    for (const id of ids) expect(net.node(id).applied).toEqual(['y'.repeat(500), 'z'.repeat(500)]);
  });
});
