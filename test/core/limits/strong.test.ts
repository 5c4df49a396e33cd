/**
 * The strong group's bounds (src/core/limits.ts, "the strong group"), each reached: transaction
 * size, the forwarded-command memory (origins, and its retention window), the freshness pairs of
 * bounded reads, and the Readies of one flush (with a small value in the test configuration).
 */
import { describe, expect, it } from 'vitest';
import { limits } from '../../../src/core/limits.js';
import type { StrongContext } from '../../../src/core/strong/context.js';
import { StrongReads } from '../../../src/core/strong/reads.js';
import { StrongState } from '../../../src/core/strong/state-machine.js';
import { StrongNode, type StrongConfig } from '../../../src/core/strong/strong-node.js';
import { parseTxnBody } from '../../../src/core/strong/txn-body.js';
import type { StrongCommand } from '../../../src/core/strong/types.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { policy } from '../strong/cluster.js';

const accounts = policy({ mode: 'strong', fields: { balance: 'counter' } });

describe('transactions: limits.txnItemsMax', () => {
  const item = (i: number) => ({ table: 'accounts', key: `k${i}`, op: 'exists' });

  it('takes exactly the bound, and refuses one more with TOO_LARGE naming the body', () => {
    const at = parseTxnBody({ compare: Array.from({ length: limits.txnItemsMax }, (_, i) => item(i)) }, { accounts });
    expect(at.ok).toBe(true);
    const over = parseTxnBody({ compare: Array.from({ length: limits.txnItemsMax - 1 }, (_, i) => item(i)), success: [{ table: 'accounts', key: 'x', op: 'delete' }, { table: 'accounts', key: 'y', op: 'delete' }] }, { accounts });
    expect(over.ok).toBe(false);
    if (over.ok) return;
    expect(over.error).toMatchObject({ code: 'TOO_LARGE', field: 'body' });
    expect(over.error.message).toContain(`at most ${limits.txnItemsMax}`);
  });
});

describe('forwarded commands: limits.forwardedOriginsMax and limits.forwardedRetentionMs', () => {
  /** A cheap command (a handback of a vacant slot, refused) forwarded by `origin` as `seq`. */
  const forwarded = (origin: string, seq: number, wallMs: number): StrongCommand => ({ t: 'lease', op: 'handback', slot: 'a', wallMs, from: { origin, seq } });

  it('remembers at most the bound of origins, forgetting the least recently active one', () => {
    const s = new StrongState({}, 60_000);
    let index = 0;
    for (let i = 0; i < limits.forwardedOriginsMax; i++) expect(s.apply(++index, forwarded(`o${i}`, 1, 1000 + i))).not.toBeNull();
    expect(s.snapshot().forwarded).toHaveLength(limits.forwardedOriginsMax);
    // One more origin: the least recently active (o0) goes, nothing beyond the bound is held.
    expect(s.apply(++index, forwarded('new', 1, 5000))).not.toBeNull();
    const origins = s.snapshot().forwarded.map(([o]) => o);
    expect(origins).toHaveLength(limits.forwardedOriginsMax);
    expect(origins).not.toContain('o0');
    // A copy from a remembered origin is still recognised (applied as nothing)...
    expect(s.apply(++index, forwarded('o1', 1, 5001))).toBeNull();
    // ...and one from the forgotten origin is not: that is what the bound costs.
    expect(s.apply(++index, forwarded('o0', 1, 5002))).not.toBeNull();
  });

  it('forgets an origin’s command numbers older than the retention window', () => {
    const s = new StrongState({}, 60_000);
    expect(s.apply(1, forwarded('o', 1, 1000))).not.toBeNull();
    expect(s.apply(2, forwarded('o', 1, 1000 + limits.forwardedRetentionMs))).toBeNull(); // still within
    expect(s.apply(3, forwarded('o', 2, 1001 + limits.forwardedRetentionMs))).not.toBeNull();
    const seqs = s.snapshot().forwarded.find(([o]) => o === 'o')?.[1].seqs.map(([seq]) => seq);
    expect(seqs).toEqual([2]);
  });
});

describe('bounded reads: limits.strongFreshnessPairsMax', () => {
  it('keeps at most the bound of freshness pairs; dropping the oldest never makes the region look fresher', () => {
    const ctx = {
      config: { region: 'b', maxClockOffsetMs: 50 },
      raft: { role: 'follower', log: { committed: 0 }, freshAsOfMs: () => 0 },
      state: { index: 0 },
      counters: {},
      monoMs: 0,
      wallMs: 1_000_000,
      replies: [],
      sendQueue: [],
    };
    const reads = new StrongReads(ctx as unknown as StrongContext);
    const heard = limits.strongFreshnessPairsMax + 44;
    for (let commit = 1; commit <= heard; commit++) reads.heardLeader(commit, 10_000 + commit);
    expect(reads.freshnessPairs).toBe(limits.strongFreshnessPairsMax);
    // The pairs of commits 1..44 were dropped: applying them vouches for nothing.
    ctx.state.index = 44;
    reads.afterApply();
    expect(reads.freshAsOfLeaderMs).toBe(-Infinity);
    ctx.state.index = 45;
    reads.afterApply();
    expect(reads.freshAsOfLeaderMs).toBe(10_045);
    ctx.state.index = heard;
    reads.afterApply();
    expect(reads.freshAsOfLeaderMs).toBe(10_000 + heard);
    expect(reads.freshnessPairs).toBe(0);
  });
});

describe('flush: limits.strongReadiesPerFlushMax', () => {
  function singleNode(readiesPerFlushMax?: number): StrongNode {
    const config: StrongConfig = {
      region: 'a',
      regions: ['a'],
      tables: { accounts },
      mergeFunctions: [],
      tickMs: 10,
      heartbeatMs: 50,
      electionMs: 100,
      maxClockOffsetMs: 10,
      requestTimeoutMs: 2000,
      sessionWaitMs: 1000,
      idempotencyRetentionMs: 60_000,
      snapshotEveryEntries: 10_000,
      random: () => 0.5,
      ...(readiesPerFlushMax === undefined ? {} : { readiesPerFlushMax }),
    };
    const node = StrongNode.open(config, new MemoryStorage(), 0);
    for (let t = 10; t <= 1000 && node.raft.role !== 'leader'; t += 10) {
      node.handle([{ kind: 'tick' }], t);
      while (node.raft.hasReady()) node.flush();
    }
    expect(node.raft.role).toBe('leader');
    return node;
  }
  const write = { kind: 'write' as const, table: 'accounts', key: 'k', body: { incr: { balance: 1 } } };

  it('by default one flush persists, commits and answers a write', () => {
    const node = singleNode();
    node.handle([{ kind: 'request', id: 1, request: write }], 2000);
    expect(node.flush().replies.map((r) => r.id)).toEqual([1]);
    expect(node.raft.hasReady()).toBe(false);
  });

  it('past the bound the flush stops and leaves the rest in Raft for the next one (nothing lost)', () => {
    const node = singleNode(1);
    node.handle([{ kind: 'request', id: 1, request: write }], 2000);
    // One Ready: the entry is persisted; its commit is the next Ready, left for the next flush.
    expect(node.flush().replies).toEqual([]);
    expect(node.raft.hasReady()).toBe(true);
    expect(node.flush().replies.map((r) => r.id)).toEqual([1]);
    expect(node.raft.hasReady()).toBe(false);
  });
});
