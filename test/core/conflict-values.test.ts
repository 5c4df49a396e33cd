/**
 * Conflict-feed losers carry what they wrote (docs/api.md, "Conflicts"): the same in every region,
 * bounded by limits.conflictValueBytesMax, and unknown (absent) for what was stored before.
 */
import type { ReplicaContext } from '../../src/core/replica/context.js';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { limits } from '../../src/core/limits.js';
import { opWrote, valueWrote } from '../../src/core/model/conflict.js';
import type { WindowEntry } from '../../src/core/model/window-entry.js';
import { recordConflict, recordFencedWrite } from '../../src/core/replica/feed.js';
import type { FenceStamp, Op } from '../../src/core/model/op.js';
import { canonicalJson } from '../../src/core/util/json.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';
import { AP, Cluster, EU, feeds, sameFeedEverywhere, US } from './cluster.js';

const patch = (key: string, body: unknown) => ({ kind: 'write' as const, table: 't', key, body });
const del = (key: string) => ({ kind: 'delete' as const, table: 't', key });
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');



describe('conflict feed: what losers wrote', () => {
  it('a write-write loser carries the value it wrote for the field, in every region after delivery', () => {
    const c = new Cluster();
    c.ok(US, patch('k', { set: { name: 'from-us' }, incr: { n: 1 } }));
    c.nowMs += 1;
    c.ok(EU, patch('k', { set: { name: 'from-eu' } }));
    c.settle();
    const feed = sameFeedEverywhere(c);
    expect(feed).toHaveLength(1);
    expect(feed[0]).toMatchObject({ kind: 'write-write', field: 'name', winner: { region: EU }, losers: [{ region: US, wrote: { value: 'from-us' } }] });
    expect(feed[0]?.winner.wrote).toBeUndefined(); // the winner's value is the row's
  });

  it('three concurrent writers: both losers carry their values, identically in every region', () => {
    const c = new Cluster();
    c.ok(US, patch('k', { set: { name: { who: 'us', n: [1, 2] } } }));
    c.ok(AP, patch('k', { set: { name: null } }));
    c.nowMs += 1;
    c.ok(EU, patch('k', { set: { name: 'eu' } }));
    c.settle();
    // Every pair of heads is reported: eu-west beat both, and one of the other two beat the other.
    const feed = sameFeedEverywhere(c);
    expect(feed).toHaveLength(2);
    const euWon = feed.find((e) => e.winner.region === EU);
    expect(euWon?.losers).toMatchObject([
      { region: AP, wrote: { value: null } },
      { region: US, wrote: { value: { who: 'us', n: [1, 2] } } },
    ]);
    expect(euWon?.loserCount).toBe(2);
    const other = feed.find((e) => e.winner.region !== EU);
    expect(other?.losers).toHaveLength(1);
    expect(other?.losers[0]?.wrote).toEqual(other?.losers[0]?.region === AP ? { value: null } : { value: { who: 'us', n: [1, 2] } });
  });

  it('a write-write loser that unset the field says so', () => {
    const c = new Cluster();
    c.ok(US, patch('k', { set: { name: 'a' } }));
    c.settle();
    c.ok(US, patch('k', { unset: ['name'] }));
    c.nowMs += 1;
    c.ok(EU, patch('k', { set: { name: 'b' } }));
    c.settle();
    expect(sameFeedEverywhere(c)).toMatchObject([{ kind: 'write-write', losers: [{ region: US, wrote: { unset: true } }] }]);
  });

  it('an oversized loser value is replaced by its size and the SHA-256 of its canonical JSON', () => {
    const c = new Cluster();
    const big = { z: 'é'.repeat(600), a: 1 }; // 1,200 bytes of é alone: over the 1 KiB limit
    c.ok(US, patch('k', { set: { name: big } }));
    c.nowMs += 1;
    c.ok(EU, patch('k', { set: { name: 'small' } }));
    c.settle();
    const text = canonicalJson(big);
    const bytes = Buffer.byteLength(text, 'utf8');
    expect(bytes).toBeGreaterThan(limits.conflictValueBytesMax);
    expect(sameFeedEverywhere(c)).toMatchObject([{ losers: [{ region: US, wrote: { truncated: true, bytes, sha256: sha256(text) } }] }]);
  });

  it('a value exactly at the limit is kept whole; one byte more is truncated', () => {
    const at = 'x'.repeat(limits.conflictValueBytesMax - 2); // the JSON string's quotes make it exactly the limit
    expect(valueWrote(at)).toEqual({ value: at });
    expect(valueWrote(at + 'x')).toMatchObject({ truncated: true, bytes: limits.conflictValueBytesMax + 1 });
  });

  it('a small field of an oversized write still shows its value in a write-write entry', () => {
    const c = new Cluster({ tables: { t: { fields: { name: 'lww', bio: 'lww' } } } });
    c.ok(US, patch('k', { set: { name: 'us', bio: 'b'.repeat(4000) } }));
    c.nowMs += 1;
    c.ok(EU, patch('k', { set: { name: 'eu', bio: 'short' } }));
    c.settle();
    const feed = sameFeedEverywhere(c);
    const byField = Object.fromEntries(feed.map((e) => [e.field, e.losers[0]?.wrote]));
    expect(byField['name']).toEqual({ value: 'us' });
    expect(byField['bio']).toMatchObject({ truncated: true, bytes: 4002 });
  });

  it('delete-update under delete-wins: the losing write carries its changes as a PATCH body', () => {
    const c = new Cluster({ tables: { t: { fields: { n: 'counter', s: 'set', name: 'lww' }, onDeleteUpdate: 'delete-wins' } } });
    c.ok(US, patch('k', { set: { name: 'a' } }));
    c.settle();
    c.ok(US, del('k'));
    c.ok(EU, patch('k', { set: { name: 'b' }, unset: ['s'], incr: { n: 2 } }));
    c.settle();
    expect(sameFeedEverywhere(c)).toMatchObject([
      { kind: 'delete-update', rule: 'delete-wins', winner: { region: US }, losers: [{ region: EU, wrote: { patch: { set: { name: 'b' }, unset: ['s'], incr: { n: 2 } } } }] },
    ]);
  });

  it('delete-update under update-wins: the losing delete wrote no value', () => {
    const c = new Cluster({ tables: { t: { fields: { n: 'counter' }, onDeleteUpdate: 'update-wins' } } });
    c.ok(US, patch('k', { incr: { n: 1 } }));
    c.settle();
    c.ok(US, del('k'));
    c.ok(EU, patch('k', { incr: { n: 1 } }));
    c.settle();
    expect(sameFeedEverywhere(c)).toMatchObject([{ kind: 'delete-update', losers: [{ region: US, wrote: { delete: true } }] }]);
  });

  it('insert-insert: the losing row carries the unique value it claimed', () => {
    const c = new Cluster({ tables: { t: { fields: { handle: 'lww' }, unique: ['handle'] } } });
    c.ok(US, patch('a', { set: { handle: 'h' } }));
    c.nowMs += 5;
    c.ok(EU, patch('c', { set: { handle: 'h' } }));
    c.settle();
    expect(sameFeedEverywhere(c)).toMatchObject([{ kind: 'insert-insert', key: 'a', losers: [{ key: 'c', wrote: { value: 'h' } }] }]);
  });

  it('counters and sets do not conflict, so nothing is listed for them', () => {
    const c = new Cluster();
    c.ok(US, patch('k', { incr: { n: 1 }, add: { s: ['x'] } }));
    c.ok(EU, patch('k', { incr: { n: 2 }, remove: { s: ['x'] } }));
    c.settle();
    expect(sameFeedEverywhere(c)).toEqual([]);
  });
});

/** The part of a replica's context the feed writers use, over a bare storage. */
function feedContext(storage: MemoryStorage): ReplicaContext {
  return { storage, feedSeq: 0, feedGoneThrough: 0, stableWallMs: 0, metaDirty: false, config: { conflictRetentionMs: 1_000 } } as unknown as ReplicaContext;
}

describe('conflict feed: fenced writes', () => {
  it('a fenced write lists what it wrote (its PATCH body, or a delete)', () => {
    const storage = new MemoryStorage();
    const fence: FenceStamp = { slot: US, epoch: 3, at: 10 };
    const base = { hlc: { wall: 5, logical: 0, node: EU }, deps: {}, table: 't', key: 'k', fence };
    const write: Op & { fence: FenceStamp } = { ...base, dot: { origin: EU, seq: 1 }, kind: 'write', changes: { n: { k: 'incr', delta: 2 }, name: { k: 'set', value: 'x' } } };
    const gone: Op & { fence: FenceStamp } = { ...base, dot: { origin: EU, seq: 2 }, kind: 'delete', changes: {} };
    const ctx = feedContext(storage);
    storage.transaction(() => {
      recordFencedWrite(ctx, write, { holder: US, epoch: 4 });
      recordFencedWrite(ctx, gone, { holder: US, epoch: 4 });
    });
    const wrote = Object.fromEntries(storage.conflictsAfter(0, 10).map((r) => [r.entry.losers[0]?.seq, r.entry.losers[0]?.wrote]));
    expect(wrote).toEqual({ 1: { patch: { set: { name: 'x' }, incr: { n: 2 } } }, 2: { delete: true } });
  });
});

describe('conflict feed: entries stored before losers carried values', () => {
  it('a window entry without `wrote` (applied before the upgrade) gives a loser without it (unknown)', () => {
    const c = new Cluster();
    c.ok(US, patch('k', { set: { name: 'from-us' } }));
    c.nowMs += 1;
    c.ok(EU, patch('k', { set: { name: 'from-eu' } }));
    // In us-east, strip what its own op wrote from the stored window, as an older version stored it.
    const storage = c.storages.get(US) as MemoryStorage;
    storage.transaction(() => {
      const row = storage.getRow('t', 'k');
      if (row === undefined) throw new Error('no row');
      const window = row.window.map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'wrote' && k !== 'fieldWrote')) as unknown as WindowEntry);
      storage.putRow('t', 'k', { ...row, window });
    });
    c.settle();
    const [us, eu, ap] = feeds(c);
    expect(us?.[0]?.losers[0]).toEqual({ region: US, seq: 1, hlc: expect.any(String) as string });
    expect(eu?.[0]?.losers[0]?.wrote).toEqual({ value: 'from-us' });
    expect(ap).toEqual(eu);
  });

  it('a stored entry whose losers lack `wrote` still reads, and gains new losers with values', () => {
    const storage = new MemoryStorage();
    const entry = (origin: string, seq: number, extra: Partial<WindowEntry> = {}): WindowEntry => ({
      dot: { origin, seq },
      hlc: { wall: seq * 10, logical: 0, node: origin },
      deps: {},
      del: false,
      fields: ['name'],
      done: true,
      maxes: null,
      ...extra,
    });
    const ctx = feedContext(storage);
    const base = { kind: 'write-write' as const, table: 't', key: 'k', field: 'name', rule: 'lww', winner: entry(EU, 9) };
    storage.transaction(() => recordConflict(ctx, { ...base, loser: entry(US, 1) }));
    storage.transaction(() => recordConflict(ctx, { ...base, loser: entry(AP, 2, { wrote: opWrote({ kind: 'write', changes: { name: { k: 'set', value: 7 } } }) }) }));
    const [record] = storage.conflictsAfter(0, 10);
    expect(record?.entry.losers).toEqual([
      { region: AP, seq: 2, hlc: '20.0.ap-south', wrote: { value: 7 } },
      { region: US, seq: 1, hlc: '10.0.us-east' },
    ]);
    expect(record?.entry.loserCount).toBe(2);
  });
});
