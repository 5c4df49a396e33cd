import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Storage } from '../../src/core/storage/storage.js';
import { SqliteStorage, StorageCorruptError, StorageLockedError } from '../../src/storage/sqlite-storage.js';
import { describeStorageContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'tern-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStorageContract('sqlite', {
  make: () => new SqliteStorage(join(dir, `db-${n++}.sqlite`)),
  reopen: (s: Storage) => {
    const old = s as SqliteStorage;
    old.close();
    return new SqliteStorage(old.path);
  },
});

describeStorageContract('sqlite, syncs deferred to durable()', {
  make: () => new SqliteStorage(join(dir, `db-${n++}.sqlite`), { deferSync: true }),
  reopen: (s: Storage) => {
    const old = s as SqliteStorage;
    old.close();
    return new SqliteStorage(old.path, { deferSync: true });
  },
});

it('with deferSync, one sync covers every commit before it: commits made while one runs share the next', async () => {
  // Syncs on the thread pool, as on a disk slower than inlineSyncBelowMs.
  const s = new SqliteStorage(join(dir, 'group.sqlite'), { deferSync: true, inlineSyncBelowMs: 0 });
  const row = { state: { fields: {}, alive: [], tombs: [] }, window: [] };
  const waits: Array<Promise<void>> = [];
  for (let i = 0; i < 10; i++) {
    s.transaction(() => s.putRow('t', `k${i}`, row));
    waits.push(s.durable());
  }
  await Promise.all(waits);
  // The first sync covers the first commit; the nine made while it ran share one more.
  expect(s.syncs).toBe(2);
  await s.durable();
  expect(s.syncs).toBe(2);
  // Without deferSync every commit is synced by SQLite itself, and durable() has nothing to do.
  const full = new SqliteStorage(join(dir, 'full.sqlite'));
  full.transaction(() => full.putRow('t', 'k', row));
  await full.durable();
  expect(full.syncs).toBe(0);
  full.close();
  // A store closed with commits unsynced rejects who waits for them: they may not be on the disk.
  s.transaction(() => s.putRow('t', 'late', row));
  const late = s.durable();
  s.close();
  await expect(late).rejects.toThrow(/closed before its commits were synced/);
});

it('with deferSync on a fast disk, a sync runs inline: durable() has resolved by the next tick', async () => {
  const s = new SqliteStorage(join(dir, 'inline.sqlite'), { deferSync: true, inlineSyncBelowMs: Infinity });
  const row = { state: { fields: {}, alive: [], tombs: [] }, window: [] };
  s.transaction(() => s.putRow('t', 'k', row));
  let done = false;
  void s.durable().then(() => (done = true));
  await Promise.resolve();
  expect(done).toBe(true);
  expect(s.syncs).toBe(1);
  s.close();
});

it('refuses to start on a file corrupted in the middle, saying what to do', () => {
  const path = join(dir, 'corrupt.sqlite');
  const s = new SqliteStorage(path);
  const row = { state: { fields: { v: { t: 'reg' as const, heads: [] } }, alive: [], tombs: [] }, window: [] };
  s.transaction(() => {
    for (let i = 0; i < 2000; i++) s.putRow('t', `key-${i}`, row);
  });
  s.close();
  rmSync(`${path}-wal`, { force: true });
  const bytes = readFileSync(path);
  expect(bytes.length).toBeGreaterThan(4096 * 8);
  for (let page = 2; page * 4096 < bytes.length; page += 2) bytes.fill(0x5a, page * 4096 + 8, page * 4096 + 200); // garble b-tree pages
  writeFileSync(path, bytes);
  expect(() => new SqliteStorage(path)).toThrow(StorageCorruptError);
  expect(() => new SqliteStorage(path)).toThrow(/integrity check[\s\S]*restore it/);
});

it('refuses a second process (or handle) on the same store, and takes it over once the first is gone', () => {
  const path = join(dir, 'locked.sqlite');
  const first = new SqliteStorage(path);
  expect(() => new SqliteStorage(path)).toThrow(StorageLockedError);
  first.close();
  new SqliteStorage(path).close();
});

it('keys scan in code point order, like the memory store', () => {
  const s = new SqliteStorage(join(dir, 'order.sqlite'));
  const row = { state: { fields: {}, alive: [], tombs: [] }, window: [] };
  s.transaction(() => {
    for (const k of ['\u{1F600}', '\uE000', 'a', 'B']) s.putRow('t', k, row);
  });
  expect(s.scanRows('t', { limit: 10 }).map(([k]) => k)).toEqual(['B', 'a', '\uE000', '\u{1F600}']);
  s.close();
});
