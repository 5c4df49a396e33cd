/**
 * Installing a fetched snapshot (fetch.ts) in place of a region's store, so that a crash at any
 * moment leaves the old store or the new one, never a mix:
 *
 * 1. prepare: open the fetched copy (its integrity checked), mark it restored (its own writes come
 *    back from the peers: replica/recovery.ts), note the readmission it was taken for, its own
 *    clock and the orphaned writes kept from the old store; close it; then rename it
 *    `tern.sqlite.ready`. A crash before the rename leaves the fetched copy, prepared again next
 *    time (every step of it is idempotent).
 * 2. install (with the old store closed): copy the region's own Raft state from the old store into
 *    the new one (the snapshot replaces async data, not the region's place in the strong group),
 *    checkpoint the old store so that no write-ahead log of it is left to be replayed onto the new
 *    file, then rename `tern.sqlite.ready` over `tern.sqlite` (atomic) and sync the directory. A
 *    node that starts with a `.ready` file finishes this step before it opens anything.
 */
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Op } from '../../core/model/op.js';
import { restoreMetaKey } from '../../core/replica/recovery.js';
import { RaftStore } from '../../core/strong/raft-store.js';
import { carryOwnClock, snapshotMetaKey } from '../../core/replica/eviction.js';
import type { Storage } from '../../core/storage/storage.js';
import { orphansMetaKey, type OrphanRecord } from '../../core/replica/orphans.js';
import { SqliteStorage } from '../../storage/sqlite-storage.js';
import { fetchedName } from './fetch.js';
import type { SnapshotManifest } from './manifest.js';

export const readyName = 'tern.sqlite.ready';
const storeName = 'tern.sqlite';

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Step 1: the fetched copy, prepared and renamed `.ready`. */
export async function prepareFetched(dataDir: string, o: { manifest: SnapshotManifest; readmitIndex: number; orphans: readonly Op[]; region: string; old: Storage | null }): Promise<void> {
  const file = path.join(dataDir, fetchedName);
  const storage = new SqliteStorage(file);
  try {
    storage.transaction(() => {
      // Its own writes come back from its peers, as after a restore; its Raft state is put back at the install.
      storage.putMeta(restoreMetaKey, { from: o.manifest.region, copiedAt: o.manifest.createdAt });
      storage.putMeta(snapshotMetaKey, { readmitIndex: o.readmitIndex, from: o.manifest.region, snapshot: o.manifest.id });
      if (o.old !== null) carryOwnClock(storage, o.old, o.region);
      // The copy's record of orphans is the donor's region's: this store keeps only its own region's.
      const record: OrphanRecord[] = o.orphans.length === 0 ? [] : [{ readmitIndex: o.readmitIndex, ops: o.orphans, published: 0 }];
      storage.putMeta(orphansMetaKey, record);
    });
  } finally {
    storage.close();
  }
  await rename(file, path.join(dataDir, readyName));
  await rm(path.join(dataDir, `${fetchedName}.json`), { force: true });
  syncDir(dataDir);
}

/** Step 2: a `.ready` store replaces the region's store (call with the old one closed). False when there is none. */
export function installReady(dataDir: string): boolean {
  const ready = path.join(dataDir, readyName);
  if (!existsSync(ready)) return false;
  const store = path.join(dataDir, storeName);
  if (existsSync(store)) {
    // The region's own Raft state goes into the new store (RaftStore.copyInto): it was never lost,
    // and a vote or an acknowledged entry must never be forgotten. Done again if a crash interrupts.
    const mine = new SqliteStorage(store, { checkOnOpen: false });
    const next = new SqliteStorage(ready, { checkOnOpen: false });
    try {
      next.transaction(() => RaftStore.copyInto(mine, next));
    } finally {
      next.close();
      mine.close();
    }
    // Fold the old store's write-ahead log into it and remove it: a log left beside the new file
    // would be replayed onto it.
    const old = new Database(store);
    old.pragma('wal_checkpoint(TRUNCATE)');
    old.close();
  }
  // After a clean checkpoint and close these are empty or gone; removing them is then safe.
  for (const suffix of ['-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
  // The commit point: before it the old store is whole, after it the new one.
  renameSync(ready, store);
  syncDir(dataDir);
  return true;
}
