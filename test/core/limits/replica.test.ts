/**
 * The replica's bounds moved in issue 20, each reached: orphan reports per step, the conflict-feed
 * pages retention reads while moving entries, and the one split
 * of ops into messages (replica/ops-batches.ts) by limits.opsPerMessageMax and
 * limits.opsBytesPerMessageMax, on its own (with a small budget in the test configuration) and
 * through a replica pushing and answering a sync (with the table's values).
 */
import { describe, expect, it } from 'vitest';
import { limits } from '../../../src/core/limits.js';
import { approxOpBytes, type Op } from '../../../src/core/model/op.js';
import { OpsMessage, splitOps } from '../../../src/core/replica/ops-batches.js';
import { orphansMetaKey } from '../../../src/core/replica/orphans.js';
import type { ReplicaContext } from '../../../src/core/replica/context.js';
import { collectFeed, indexEntry } from '../../../src/core/replica/feed-retention.js';
import { newMetrics } from '../../../src/core/replica/metrics.js';
import type { ConflictEntry } from '../../../src/core/model/conflict.js';
import { Replica } from '../../../src/core/replica/replica.js';
import { replicaDefaults } from '../../../src/core/replica/config.js';
import { validatePolicy } from '../../../src/core/schema/policy.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { AP, Cluster, EU, US } from '../cluster.js';

const op = (seq: number, value = 'v', origin = US): Op => ({
  dot: { origin, seq },
  hlc: { wall: 1000 + seq, logical: 0, node: origin },
  deps: { [origin]: seq - 1 },
  table: 't',
  key: `k${seq}`,
  kind: 'write',
  changes: { name: { k: 'set', value } },
});

describe('ops into messages (ops-batches.ts)', () => {
  it('cuts by count: no message holds more than opsMax ops, and every op goes once, in order', () => {
    const ops = Array.from({ length: 10 }, (_, i) => op(i + 1));
    const out = splitOps(ops, { opsMax: 3, bytesMax: 1e9 });
    expect(out.map((m) => m.length)).toEqual([3, 3, 3, 1]);
    expect(out.flat()).toEqual(ops);
  });

  it('cuts by approximate bytes; an op larger than the budget goes alone', () => {
    const size = approxOpBytes(op(1, 'x'.repeat(100)));
    const ops = [op(1, 'x'.repeat(100)), op(2, 'x'.repeat(100)), op(3, 'x'.repeat(100)), op(4, 'y'.repeat(10 * size)), op(5, 'x'.repeat(100))];
    const out = splitOps(ops, { opsMax: 100, bytesMax: 2 * size });
    expect(out.map((m) => m.map((o) => o.dot.seq))).toEqual([[1, 2], [3], [4], [5]]);
    for (const m of out) if (m.length > 1) expect(m.reduce((a, o) => a + approxOpBytes(o), 0)).toBeLessThanOrEqual(2 * size);
  });

  it('a message being filled refuses what does not fit, and says when it is full', () => {
    const m = new OpsMessage({ opsMax: 2, bytesMax: 1000 });
    expect(m.fits(5000)).toBe(true); // an empty message takes any one op
    m.add(op(1), 600);
    expect(m.fits(500)).toBe(false);
    expect(m.full).toBe(false);
    m.add(op(2), 100);
    expect(m.room).toBe(0);
    expect(m.full).toBe(true);
    expect(m.fits(1)).toBe(false);
  });
});

describe('a replica’s messages stay within limits.opsPerMessageMax', () => {
  const writes = (n: number) => Array.from({ length: n }, (_, i) => ({ kind: 'request' as const, id: i + 1, request: { kind: 'write' as const, table: 't', key: `k${i}`, body: { set: { name: 'x' } } } }));
  const opsTo = (c: Cluster, to: string): number[] => c.inFlight.flatMap((m) => (m.to === to && m.message.t === 'ops' ? [m.message.ops.length] : []));

  it('ops made in one step are pushed in messages of at most the bound', () => {
    const c = new Cluster();
    const n = limits.opsPerMessageMax + 88;
    c.step(US, writes(n));
    expect(opsTo(c, EU)).toEqual([limits.opsPerMessageMax, 88]);
    c.deliverAll();
    expect(c.replica(EU).status().vector[US]).toBe(n);
  });

  it('a peer that missed them gets at most the bound per answer to its sync, and catches up', () => {
    const c = new Cluster();
    const n = limits.opsPerMessageMax + 88;
    c.cut.add(`${US}|${EU}`);
    c.step(US, writes(n));
    c.deliverAll();
    c.cut.clear();
    const sizes: number[] = [];
    /** Delivers everything, noting each ops message to EU (answers to its syncs, and relays). */
    const deliver = (): void => {
      while (c.inFlight.length > 0) {
        sizes.push(...opsTo(c, EU));
        const batch = c.inFlight;
        c.inFlight = [];
        for (const m of batch) c.step(m.to, [{ kind: 'peer', from: m.from, message: m.message }]);
      }
    };
    for (let i = 0; i < 40 && c.replica(EU).status().vector[US] !== n; i++) {
      c.nowMs += 100;
      for (const r of c.regions) c.step(r, [{ kind: 'tick' }]);
      deliver();
    }
    expect(c.replica(EU).status().vector[US]).toBe(n);
    expect(Math.max(...sizes)).toBe(limits.opsPerMessageMax);
  });
});

describe('orphan reports: limits.orphanReportsPerStepMax', () => {
  it('a rejoined region publishes at most the bound of orphan reports per step, then the rest', () => {
    const t = validatePolicy({ fields: { name: 'lww' } }, { regions: [US, EU] });
    if (!t.ok) throw new Error(t.error.message);
    const storage = new MemoryStorage();
    const n = 2 * limits.orphanReportsPerStepMax + 50;
    storage.transaction(() => storage.putMeta(orphansMetaKey, [{ readmitIndex: 1, ops: Array.from({ length: n }, (_, i) => op(i + 1)), published: 0 }]));
    const replica = Replica.open({ ...replicaDefaults, region: US, regions: [US, EU], tables: { t: t.value }, mergeFunctions: {} }, storage, 0);
    const published: number[] = [];
    for (let step = 0; step < 4; step++) {
      const out = replica.step([{ kind: 'tick' }], 1000 * (step + 1), { clockTrusted: true, publishOrphans: true });
      published.push(out.created.length);
      expect(out.created.every((o) => o.orphaned !== undefined)).toBe(true);
    }
    expect(published).toEqual([limits.orphanReportsPerStepMax, limits.orphanReportsPerStepMax, 50, 0]);
    expect(replica.orphansPending).toBe(false);
  });
});

describe('conflict-feed retention: limits.feedMovedPerReadMax', () => {
  it('moves entries held below a collected one in reads of at most the bound, and keeps every one', () => {
    const storage = new MemoryStorage();
    const ctx = { storage, feedSeq: 0, feedGoneThrough: 0, stableWallMs: 10_000, metaDirty: false, metrics: newMetrics(), config: { conflictRetentionMs: 1_000 } } as unknown as ReplicaContext;
    const held = limits.feedMovedPerReadMax + 100;
    // `held` recent entries at positions 1.., then an old one (due for collection) above them.
    const entries: Array<[string, number, number]> = Array.from({ length: held }, (_, i): [string, number, number] => [`new${i}`, 9_500, i + 1]);
    entries.push(['old', 100, held + 1]);
    storage.transaction(() => {
      for (const [id, time, seq] of entries) {
        const entry: ConflictEntry = { id, table: 't', key: id, field: 'f', kind: 'write-write', rule: 'lww', winner: { region: US, seq: 1, hlc: `${time}.0.${US}` }, losers: [{ region: AP, seq: 1, hlc: `${time}.0.${AP}` }], loserCount: 1, regions: [AP, US] };
        storage.putConflict({ seq, entry });
        indexEntry(ctx, entry);
        ctx.feedSeq = Math.max(ctx.feedSeq, seq);
      }
    });
    const asked: number[] = [];
    const conflictsAfter = storage.conflictsAfter.bind(storage);
    storage.conflictsAfter = (after: number, limit: number) => (asked.push(limit), conflictsAfter(after, limit));
    storage.transaction(() => collectFeed(ctx));
    expect(storage.getConflict('old')).toBeUndefined();
    expect(ctx.feedGoneThrough).toBe(held + 1);
    expect(asked.length).toBeGreaterThan(1);
    expect(Math.max(...asked)).toBe(limits.feedMovedPerReadMax);
    expect(conflictsAfter(ctx.feedGoneThrough, 10 * held).map((r) => r.entry.id)).toEqual(entries.slice(0, held).map(([id]) => id));
  });
});
