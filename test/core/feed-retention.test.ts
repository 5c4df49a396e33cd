/**
 * Conflict-feed retention (src/core/replica/feed-retention.ts): entries past retention by the
 * stable time are collected identically in every region, a cursor behind what was collected is
 * told GONE with the oldest position held, and entries held below a collected one are moved past
 * it so a reader resuming there misses nothing still held.
 */
import { describe, expect, it } from 'vitest';
import type { ConflictEntry } from '../../src/core/model/conflict.js';
import type { ReplicaContext } from '../../src/core/replica/context.js';
import { collectFeed, indexEntry } from '../../src/core/replica/feed-retention.js';
import { newMetrics } from '../../src/core/replica/metrics.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { AP, Cluster, EU, feeds, sameFeedEverywhere, US } from './cluster.js';

const patch = (key: string, body: unknown) => ({ kind: 'write' as const, table: 't', key, body });
const retention = { idempotencyRetentionMs: 5_000, logRetentionMs: 5_000, conflictRetentionMs: 10_000 };



/** A write-write conflict on `key` between us-east and eu-west. */
function conflictOn(c: Cluster, key: string): void {
  c.ok(US, patch(key, { set: { name: 'us' } }));
  c.nowMs += 1;
  c.ok(EU, patch(key, { set: { name: 'eu' } }));
}

describe('conflict-feed retention', () => {
  it('collects entries past retention by the stable time, at the same point in every region', () => {
    const c = new Cluster({ config: retention });
    conflictOn(c, 'a');
    conflictOn(c, 'b');
    c.settle();
    expect(sameFeedEverywhere(c).map((e) => e.key)).toEqual(['a', 'b']);
    // Time passes with no writes: the stable time does not move, so nothing is collected.
    c.tick(1_000, 30);
    expect(sameFeedEverywhere(c)).toHaveLength(2);
    // New writes move the stable time past retention: both entries go, everywhere.
    conflictOn(c, 'c');
    c.settle();
    expect(sameFeedEverywhere(c).map((e) => e.key)).toEqual(['c']);
    expect(c.replica(US).metrics.conflictsCollected).toBe(2);
  });

  it('a cursor behind what retention collected is told GONE with the oldest position held; a reader without a cursor is not', () => {
    const c = new Cluster({ config: retention });
    conflictOn(c, 'a');
    c.settle();
    const first = c.ok(US, { kind: 'conflicts' });
    const cursor = first.kind === 'conflicts' ? first.next : -1;
    c.tick(1_000, 15);
    conflictOn(c, 'b');
    c.settle();
    const gone = c.request(US, { kind: 'conflicts', after: 0 });
    expect(gone).toMatchObject({ ok: false, error: { code: 'GONE', field: 'after' } });
    const oldest = gone !== undefined && !gone.ok ? (gone.error.oldest as number) : -1;
    expect(oldest).toBeGreaterThanOrEqual(cursor);
    expect(c.request(US, { kind: 'conflicts', after: Math.max(0, cursor - 1) })).toMatchObject({ ok: false, error: { code: 'GONE' } });
    const resumed = c.ok(US, { kind: 'conflicts', after: oldest });
    expect(resumed.kind === 'conflicts' ? resumed.conflicts.map((e) => e.key) : []).toEqual(['b']);
    const fresh = c.ok(US, { kind: 'conflicts' });
    expect(fresh.kind === 'conflicts' ? fresh.conflicts.map((e) => e.key) : []).toEqual(['b']);
  });

  it('a pair decided after its entry passed retention never appears, even for a moment', () => {
    const c = new Cluster({ config: retention });
    // ap-south is away: nothing becomes stable while us-east and eu-west conflict and write on.
    c.cutLink(US, AP);
    c.cutLink(EU, AP);
    conflictOn(c, 'old');
    for (let i = 0; i < 15; i++) {
      c.ok(US, patch(`w${i}`, { set: { name: 'x' } }));
      c.tick(1_000);
    }
    c.heal();
    for (let i = 0; i < 40; i++) {
      c.tick(50);
      for (const feed of feeds(c)) expect(feed.map((e) => e.key)).not.toContain('old');
    }
    expect(c.replica(US).status().gcPoint[EU]).toBe(1); // the pair was decided (and dropped)
  });

  it('is the same in every region whatever the order regions decided pairs in', () => {
    const c = new Cluster({ config: retention });
    // ap-south is cut off from eu-west: it learns eu-west's ops late, through us-east.
    c.cutLink(EU, AP);
    for (let i = 0; i < 4; i++) {
      conflictOn(c, `k${i}`);
      c.tick(3_000);
    }
    c.heal();
    c.settle();
    conflictOn(c, 'late');
    c.settle();
    const feed = sameFeedEverywhere(c);
    expect(feed.map((e) => e.key)).not.toContain('k0');
    expect(feed.map((e) => e.key)).toContain('late');
  });
});

describe('collectFeed', () => {
  /** A feed over bare storage: entries given as [id, time, seq]. */
  function feedWith(entries: Array<[string, number, number]>, stableWallMs: number): { ctx: ReplicaContext; storage: MemoryStorage } {
    const storage = new MemoryStorage();
    const ctx = { storage, feedSeq: 0, feedGoneThrough: 0, stableWallMs, metaDirty: false, metrics: newMetrics(), config: { conflictRetentionMs: 1_000 } } as unknown as ReplicaContext;
    storage.transaction(() => {
      for (const [id, time, seq] of entries) {
        const entry: ConflictEntry = { id, table: 't', key: id, field: 'f', kind: 'write-write', rule: 'lww', winner: { region: US, seq: 1, hlc: `${time}.0.${US}` }, losers: [{ region: AP, seq: 1, hlc: `${time}.0.${AP}` }], loserCount: 1, regions: [AP, US] };
        storage.putConflict({ seq, entry });
        indexEntry(ctx, entry);
        ctx.feedSeq = Math.max(ctx.feedSeq, seq);
      }
    });
    return { ctx, storage };
  }

  it('moves entries still held below a collected one past it, so resuming at goneThrough misses nothing held', () => {
    // 'new' was decided first (position 1); 'old' gained a loser later (position 2) but its winner is old.
    const { ctx, storage } = feedWith([['new', 9_500, 1], ['old', 100, 2]], 10_000);
    storage.transaction(() => collectFeed(ctx));
    expect(storage.getConflict('old')).toBeUndefined();
    expect(ctx.feedGoneThrough).toBe(2);
    expect(storage.conflictsAfter(ctx.feedGoneThrough, 10).map((r) => [r.entry.id, r.seq])).toEqual([['new', 3]]);
  });

  it('collects nothing before its time, and entries in time order', () => {
    const { ctx, storage } = feedWith([['a', 100, 1], ['b', 5_000, 2], ['c', 9_000, 3]], 6_500);
    storage.transaction(() => collectFeed(ctx));
    expect(storage.conflictsAfter(0, 10).map((r) => r.entry.id)).toEqual(['c']);
    expect(ctx.feedGoneThrough).toBe(2);
    ctx.stableWallMs = 10_000;
    storage.transaction(() => collectFeed(ctx));
    expect(storage.conflictsAfter(0, 10)).toEqual([]);
    expect(ctx.feedGoneThrough).toBe(3);
  });
});
