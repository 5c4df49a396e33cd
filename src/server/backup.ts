/**
 * Online backups of a region node: a consistent cut of its whole database (rows, logs, the strong
 * state, idempotency records, the conflict feed), copied beside the data while the node serves,
 * then streamed to whoever asked and deleted. One at a time per node.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
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
  /** Call once the copy was sent (or the client went away): deletes it, and another backup may start. */
  readonly done: () => Promise<void>;
}

/** SHA-256 of `file` from byte `offset` on. */
export async function digestFrom(file: string, offset = 0): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { start: offset })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const copyPrefix = '.backup-';

/** Copies left behind by a crash while one was streamed: nobody will send them now. */
export async function removeLeftoverCopies(dataDir: string): Promise<void> {
  for (const f of await readdir(dataDir).catch(() => [] as string[])) if (f.startsWith(copyPrefix)) await unlink(path.join(dataDir, f)).catch(() => undefined);
}

/** Pages per step of SQLite's online backup (4 KiB each): the event loop runs between steps. */
const pagesPerStep = 256;

/** The copy and its manifest; the caller gives it a `done`. */
export async function copyDatabase(storage: SqliteStorage, dataDir: string, who: { cluster: string; region: string; node: string }): Promise<Omit<BackupCopy, 'done'>> {
  const file = path.join(dataDir, `${copyPrefix}${Date.now()}-${randomBytes(4).toString('hex')}.sqlite`);
  try {
    await storage.backupTo(file, pagesPerStep);
    const createdAt = new Date().toISOString();
    const bytes = (await stat(file)).size;
    return { path: file, manifest: { format: 'terndb-backup', version: 1, ...who, createdAt, bytes, sha256: await digestFrom(file) } };
  } catch (err) {
    await unlink(file).catch(() => undefined);
    throw err;
  }
}
