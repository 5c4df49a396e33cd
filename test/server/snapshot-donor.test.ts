/**
 * The donor's copies (src/server/snapshot/donor.ts): a copy that holds what a receiver needs is
 * shared, and making a new one never takes away a copy a receiver is fetching. Before this, a
 * new copy dropped every other, so two regions rejoining at once could take turns deleting each
 * other's copy and start over forever.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotDonor } from '../../src/server/snapshot/donor.js';
import { nodeLimits } from '../../src/server/limits.js';

const { snapshotIdleMs } = nodeLimits;
import { SqliteStorage } from '../../src/storage/sqlite-storage.js';

const dirs: string[] = [];
const stores: SqliteStorage[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { donor: SnapshotDonor; storage: SqliteStorage; dir: string; clock: { ms: number }; applied: (v: Record<string, number>) => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-donor-'));
  dirs.push(dir);
  const storage = new SqliteStorage(path.join(dir, 'tern.sqlite'));
  stores.push(storage);
  const clock = { ms: 1_000_000 };
  const donor = new SnapshotDonor(dir, { cluster: 'test', region: 'us-east', node: 'us-east-1' }, 1e9, () => clock.ms);
  const applied = (v: Record<string, number>) => storage.transaction(() => storage.putMeta('replica', { applied: v }));
  return { donor, storage, dir, clock, applied };
}

/** The copies on disk beside the data. */
const copies = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.snapshot-'));

describe('SnapshotDonor', () => {
  it('shares a held copy that holds what the receiver needs, and makes a new one when none does', async () => {
    const { donor, storage, dir, applied } = setup();
    applied({ 'us-east': 5 });
    const a = await donor.create(storage, { 'us-east': 3 });
    expect(a.vector).toEqual({ 'us-east': 5 });
    const b = await donor.create(storage, { 'us-east': 5 });
    expect(b.id).toBe(a.id);
    applied({ 'us-east': 9 });
    const c = await donor.create(storage, { 'us-east': 7 });
    expect(c.id).not.toBe(a.id);
    expect(c.vector).toEqual({ 'us-east': 9 });
    // The first copy is still being fetched (it was asked for just now): kept, and served whole.
    expect(donor.manifest(a.id)).toEqual(a);
    const chunk = await donor.chunk(a.id, 0);
    expect(chunk).not.toBeNull();
    expect(createHash('sha256').update(chunk as Buffer).digest('hex')).toBe(a.chunks[0]);
    expect(copies(dir)).toHaveLength(2);
  });

  it('drops, when it makes a new copy, only the copies nobody asked for within snapshotIdleMs', async () => {
    const { donor, storage, dir, clock, applied } = setup();
    applied({ 'us-east': 1 });
    const idle = await donor.create(storage, { 'us-east': 1 });
    clock.ms += snapshotIdleMs / 2;
    applied({ 'us-east': 2 });
    const fetching = await donor.create(storage, { 'us-east': 2 });
    clock.ms += snapshotIdleMs / 2 + 1;
    await donor.chunk(fetching.id, 0); // a receiver at work keeps its copy
    applied({ 'us-east': 3 });
    const fresh = await donor.create(storage, { 'us-east': 3 });
    expect(donor.manifest(idle.id)).toBeNull();
    expect(donor.manifest(fetching.id)).not.toBeNull();
    expect(donor.manifest(fresh.id)).not.toBeNull();
    expect(copies(dir)).toHaveLength(2);
  });

  it('digests each chunk and the whole copy in one pass that agrees with the file', async () => {
    const { donor, storage, applied } = setup();
    applied({ 'us-east': 1 });
    storage.transaction(() => storage.putMeta('filler', 'x'.repeat(3 * 1024 * 1024)));
    const m = await donor.create(storage);
    expect(m.chunks.length).toBeGreaterThan(1);
    const whole = createHash('sha256');
    for (let n = 0; n < m.chunks.length; n++) {
      const c = (await donor.chunk(m.id, n)) as Buffer;
      expect(createHash('sha256').update(c).digest('hex')).toBe(m.chunks[n]);
      whole.update(c);
    }
    expect(whole.digest('hex')).toBe(m.sha256);
  });
});
