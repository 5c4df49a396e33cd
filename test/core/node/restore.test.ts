/**
 * Region cores restored from a backup (core/node/restore.ts): catching-up (restore) until the
 * peers gave back the region's own writes, a Raft learner until readmitted; and a backup older
 * than what the peers keep is reported once, plainly, instead of waiting forever in silence.
 */
import { describe, expect, it } from 'vitest';
import { markRestored } from '../../../src/core/node/restore.js';
import type { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { RegionCluster } from './cluster.js';

function restoreA(c: RegionCluster, copy: MemoryStorage): void {
  markRestored(copy, { from: 'a', copiedAt: 'test' });
  c.disks.set('a', copy);
  c.restart('a');
}

describe('a restored region core', () => {
  it('is catching-up (restore) and a learner, then write-ready and a voter again', () => {
    const c = new RegionCluster();
    c.until(() => c.allWriteReady(), 20_000, 'every region write-ready');
    expect(c.write('a', 'free', 'k1', { v: 1 })).toMatchObject({ ok: true });
    const copy = (c.disks.get('a') as MemoryStorage).copy();
    // c misses a's second write, so it is not stable and stays in b's log for a to get back.
    c.isolate('c');
    expect(c.write('a', 'free', 'k2', { v: 2 })).toMatchObject({ ok: true });
    c.run(500);
    restoreA(c, copy);
    c.run(20);
    c.heal();
    expect(c.core('a').stage).toMatchObject({ stage: 'catching-up', reason: 'restore' });
    expect(c.core('a').strong.raft.learner).toBe(true);
    c.until(() => c.core('a').stage.stage === 'write-ready' && !c.core('a').strong.raft.learner, 20_000, 'a write-ready and readmitted');
    expect(c.read('a', 'free', 'k2')).toEqual({ v: 2 });
  });

  it('a backup older than what the peers keep: a warning saying what to do, and never ready', () => {
    const c = new RegionCluster();
    c.until(() => c.allWriteReady(), 20_000, 'every region write-ready');
    expect(c.write('a', 'free', 'k1', { v: 1 })).toMatchObject({ ok: true });
    const copy = (c.disks.get('a') as MemoryStorage).copy();
    expect(c.write('a', 'free', 'k2', { v: 2 })).toMatchObject({ ok: true });
    // Every region applies a's second write; it becomes stable and the logs collect it.
    c.until(() => ['b', 'c'].every((r) => (c.core(r).replica.status().gcPoint['a'] ?? 0) >= 2), 30_000, "a's writes collected");
    restoreA(c, copy);
    c.run(3_000);
    expect(c.core('a').stage).toMatchObject({ stage: 'catching-up', reason: 'restore' });
    const warnings = c.events.filter((e) => e.region === 'a' && e.event.kind === 'warn' && e.event.message.includes('restored from a backup older'));
    expect(warnings).toHaveLength(1);
  });
});
