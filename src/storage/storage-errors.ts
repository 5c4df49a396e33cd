/**
 * Which storage failures mean "the disk is full" (docs/operations.md, "A full disk"). A node whose
 * commit fails for lack of space stays up, fenced for its storage, and returns to service once
 * space is freed (src/server/region-node.ts); every other storage failure stays fatal.
 *
 * SQLite says SQLITE_FULL when a write finds no space. A filesystem that allocates late (thin
 * provisioning, copy-on-write, network filesystems) may instead accept the write and fail the
 * fsync, which SQLite reports as an IO error (SQLITE_IOERR_FSYNC and friends) that says nothing of
 * the cause. So a write-side IO error counts as "full" only when the data directory's filesystem is
 * nearly full at that moment; otherwise it is a failing disk, and the node stops.
 */
import { statfsSync } from 'node:fs';

/**
 * Free space (bytes that unprivileged writers may still use) below which the data directory's
 * filesystem counts as full: a write-side IO error then counts as lack of space, and a node fenced
 * for its storage tries to write again only above it. 4 MiB is about what SQLite writes between
 * two checkpoints with its defaults (a WAL of 1000 pages of 4 KiB): when writeback fails for lack
 * of space, what is left is less than what was being written, which with synchronous=FULL is at
 * most one transaction and one checkpoint, so a disk that just refused a write is below it; and
 * once that much is free again, a step and the checkpoint after it fit. It is small enough that a
 * disk which is merely busy (gigabytes free) never has its IO errors taken for a full disk.
 */
export const LOW_SPACE_BYTES = 4 * 1024 * 1024;

/** SQLite's IO errors of writing (a write, an fsync, a truncation), as better-sqlite3 names them in `code`. */
const writeSideIoErrors: ReadonlySet<string> = new Set(['SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_DIR_FSYNC', 'SQLITE_IOERR_TRUNCATE']);

/** The bytes unprivileged writers may still use on `dir`'s filesystem, or null when it cannot be read. */
export function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** The error's SQLite code, if it has one. */
export function sqliteCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : null;
}

/**
 * Whether a storage failure is lack of space on `dataDir`'s filesystem: SQLITE_FULL always; a
 * write-side IO error only while less than `lowSpaceBytes` are free there; anything else never.
 */
export function isOutOfSpace(err: unknown, dataDir: string, lowSpaceBytes = LOW_SPACE_BYTES, free: (dir: string) => number | null = freeBytes): boolean {
  const code = sqliteCode(err);
  if (code === 'SQLITE_FULL') return true;
  if (code === null || !writeSideIoErrors.has(code)) return false;
  const bytes = free(dataDir);
  return bytes !== null && bytes < lowSpaceBytes;
}

/**
 * Whether a transaction that failed with `err` may nevertheless be on disk. SQLITE_FULL means a
 * write of the transaction found no space, so its commit record is missing or cut short (a WAL
 * frame that is not whole fails its checksum when the WAL is read again): it did not commit. After
 * a failed fsync the commit record may have reached the disk, and the next open may find the
 * transaction committed.
 */
export function mayHaveCommitted(err: unknown): boolean {
  return sqliteCode(err) !== 'SQLITE_FULL';
}
