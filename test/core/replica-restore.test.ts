/**
 * A replica restored from a backup never reuses a sequence number its peers already hold from it:
 * it writes nothing until every peer has said how far it holds this region's writes and it has
 * applied them (they come back from the peers); a backup older than what the peers still keep is
 * reported, and the replica stays unrecovered.
 */
import { describe, expect, it } from 'vitest';
import { markRestored } from '../../src/core/node/restore.js';
import type { ClientRequest } from '../../src/core/replica/messages.js';
import type { MemoryStorage } from '../../src/storage/memory-storage.js';
import { AP, Cluster, EU, US } from './cluster.js';

const incr = (key: string): ClientRequest => ({ kind: 'write', table: 't', key, body: { incr: { n: 1 } } });

/** us-east writes 3 ops everyone gets, is backed up, writes 3 more only eu-west gets, and is lost. */
function lostAfterBackup(): { c: Cluster; backup: MemoryStorage } {
  const c = new Cluster();
  for (let i = 0; i < 3; i++) c.ok(US, incr(`k${i}`));
  c.deliverAll();
  const backup = (c.storages.get(US) as MemoryStorage).copy();
  c.cutLink(US, AP);
  for (let i = 3; i < 6; i++) c.ok(US, incr(`k${i}`));
  c.deliverAll();
  c.heal();
  expect(c.replica(EU).vector[US]).toBe(6);
  expect(c.replica(AP).vector[US]).toBe(3);
  return { c, backup };
}

describe('a restored replica', () => {
  it('refuses writes until its peers gave back its own later writes, then continues after them', () => {
    const { c, backup } = lostAfterBackup();
    markRestored(backup, { from: US, copiedAt: 'test' });
    c.replaceStorage(US, backup);
    expect(c.replica(US).recovering).toBe(true);
    expect(c.request(US, incr('new'))).toMatchObject({ ok: false, error: { code: 'NOT_READY' } });
    expect(c.replica(US).status().recovery).toMatchObject({ waitingFor: [EU, AP] });
    c.tick(200, 5);
    expect(c.replica(US).recovering).toBe(false);
    expect(c.replica(US).vector[US]).toBe(6);
    const w = c.ok(US, incr('new'));
    expect(w.kind === 'write' && w.result.dot).toMatchObject({ origin: US, seq: 7 });
    c.settle();
    for (const r of [EU, AP]) expect(c.replica(r).vector).toEqual(c.replica(US).vector);
    expect(c.replica(AP).vector[US]).toBe(7);
  });

  it('restored from another region’s copy, it gets back the writes only a third region holds', () => {
    const { c } = lostAfterBackup();
    // The copy comes from ap-south, which never got us-east's writes 4 to 6 (eu-west holds them).
    const copy = (c.storages.get(AP) as MemoryStorage).copy();
    markRestored(copy, { from: AP, copiedAt: 'test' });
    c.replaceStorage(US, copy);
    c.tick(200, 5);
    expect(c.replica(US).recovering).toBe(false);
    expect(c.replica(US).vector[US]).toBe(6);
    expect(c.ok(US, incr('new')).kind).toBe('write');
    c.settle();
    for (const r of [EU, AP]) expect(c.replica(r).vector).toEqual(c.replica(US).vector);
  });

  it('while a peer is unheard it stays unrecovered (that peer may hold its writes)', () => {
    const { c, backup } = lostAfterBackup();
    markRestored(backup, { from: US, copiedAt: 'test' });
    c.replaceStorage(US, backup);
    c.cutLink(US, EU);
    c.tick(200, 10);
    expect(c.replica(US).recovering).toBe(true);
    expect(c.replica(US).status().recovery).toMatchObject({ waitingFor: [EU] });
    c.heal();
    c.tick(200, 5);
    expect(c.replica(US).recovering).toBe(false);
  });

  it('restored from a copy holding less of another region than it had applied, it gets those ops again from a peer that had sent them', () => {
    // The shape the region simulator found (seed 13, eviction scenario): ap-south had applied
    // us-east's writes past their eviction bound, then installed a member's snapshot lacking them;
    // the peers kept its old vector (merged, so never lower) and never sent them again.
    const c = new Cluster();
    for (let i = 0; i < 3; i++) c.ok(EU, incr(`k${i}`));
    c.tick(200, 2);
    const backup = (c.storages.get(US) as MemoryStorage).copy();
    // ap-south gets nothing more (it keeps the writes below from becoming stable and collected).
    c.cut.add(`${EU}|${AP}`);
    c.cut.add(`${US}|${AP}`);
    for (let i = 3; i < 6; i++) c.ok(EU, incr(`k${i}`));
    c.tick(200, 2);
    expect(c.replica(US).vector[EU]).toBe(6);
    expect(c.replica(AP).vector[EU]).toBe(3);
    markRestored(backup, { from: US, copiedAt: 'test' });
    c.replaceStorage(US, backup);
    expect(c.replica(US).vector[EU]).toBe(3);
    c.tick(200, 10);
    expect(c.replica(US).recovering).toBe(false);
    expect(c.replica(US).vector[EU]).toBe(6);
  });

  it('a backup older than what the peers keep: they say the ops are gone, and it never recovers', () => {
    const { c, backup } = lostAfterBackup();
    c.settle(); // every region applied us-east's 6 writes: stable, collected from the logs
    expect(c.replica(EU).status().gcPoint[US]).toBe(6);
    markRestored(backup, { from: US, copiedAt: 'test' });
    c.replaceStorage(US, backup);
    c.tick(200, 10);
    expect(c.replica(US).recovering).toBe(true);
    expect(c.replica(US).status().recovery?.gone[US]).toMatchObject({ through: 6 });
    expect(c.request(US, incr('new'))).toMatchObject({ ok: false, error: { code: 'NOT_READY' } });
  });

  it('taking a view of the strong log\'s evictions writes nothing by itself (a node fenced for a full disk takes one at every reopen)', () => {
    const c = new Cluster();
    const r = c.replica(US);
    const before = JSON.stringify(c.storages.get(US)?.getMeta('replica') ?? null);
    expect(r.setMembership({ evicting: [], evicted: new Map(), readmitting: new Map() }, 42)).toBe(true);
    r.step([], c.nowMs);
    expect(JSON.stringify(c.storages.get(US)?.getMeta('replica') ?? null)).toBe(before);
    expect(r.membershipIndex).toBe(42);
    // An older view is refused.
    expect(r.setMembership({ evicting: [], evicted: new Map(), readmitting: new Map() }, 41)).toBe(false);
  });
});

