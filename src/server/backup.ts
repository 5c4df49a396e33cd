/**
 * Online backups of a region node: a consistent cut of its whole database (rows, logs, the strong
 * state, idempotency records, the conflict feed), copied beside the data while the node serves,
 * then streamed to whoever asked and deleted. One at a time per node.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { SqliteStorage } from '../storage/sqlite-storage.js';

/** What a backup is: sent as the `Tern-Backup` header, and the first line of a backup file. */
export interface BackupManifest {
  readonly format: 'terndb-backup';
  readonly version: 1;
  readonly cluster: string;
  readonly region: string;
  readonly node: string;
  /** When the copy finished: the cut is the database as of then. */
  readonly createdAt: string;
  /** Bytes of the SQLite database that follow the manifest. */
  readonly bytes: number;
  readonly sha256: string;
}

export interface BackupCopy {
  readonly path: string;
  readonly manifest: BackupManifest;
}

/** Pages per step of SQLite's online backup (4 KiB each): the event loop runs between steps. */
const pagesPerStep = 256;

export async function copyDatabase(storage: SqliteStorage, dataDir: string, who: { cluster: string; region: string; node: string }): Promise<BackupCopy> {
  const file = path.join(dataDir, `.backup-${Date.now()}-${randomBytes(4).toString('hex')}.sqlite`);
  try {
    await storage.backupTo(file, pagesPerStep);
    const createdAt = new Date().toISOString();
    const bytes = (await stat(file)).size;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return { path: file, manifest: { format: 'terndb-backup', version: 1, ...who, createdAt, bytes, sha256: hash.digest('hex') } };
  } catch (err) {
    await unlink(file).catch(() => undefined);
    throw err;
  }
}
