/**
 * Which storage failures count as a full disk (src/storage/storage-errors.ts): SQLITE_FULL always;
 * an IO error of writing only while the data directory's filesystem is nearly full (a failed fsync
 * says nothing of its cause); everything else never, so it stays fatal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeBytes, isOutOfSpace, LOW_SPACE_BYTES, mayHaveCommitted } from '../../src/storage/storage-errors.js';

const sqlite = (code: string) => Object.assign(new Error(code), { code });
const MiB = 1024 * 1024;

describe('isOutOfSpace', () => {
  const nearlyFull = () => LOW_SPACE_BYTES - 1;
  const roomy = () => 50 * 1024 * MiB;

  it('SQLITE_FULL is a full disk, whatever the free space says', () => {
    expect(isOutOfSpace(sqlite('SQLITE_FULL'), '/data', LOW_SPACE_BYTES, roomy)).toBe(true);
  });

  it('an IO error of writing is a full disk only while less than the threshold is free', () => {
    for (const code of ['SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_DIR_FSYNC', 'SQLITE_IOERR_TRUNCATE']) {
      expect(isOutOfSpace(sqlite(code), '/data', LOW_SPACE_BYTES, nearlyFull), code).toBe(true);
      expect(isOutOfSpace(sqlite(code), '/data', LOW_SPACE_BYTES, () => LOW_SPACE_BYTES), code).toBe(false);
      expect(isOutOfSpace(sqlite(code), '/data', LOW_SPACE_BYTES, roomy), code).toBe(false);
      // Free space unknown: not a full disk (the node stops, as before).
      expect(isOutOfSpace(sqlite(code), '/data', LOW_SPACE_BYTES, () => null), code).toBe(false);
    }
  });

  it('every other failure stays fatal, however full the disk', () => {
    for (const err of [sqlite('SQLITE_IOERR_READ'), sqlite('SQLITE_IOERR_SHORT_READ'), sqlite('SQLITE_CORRUPT'), sqlite('SQLITE_READONLY'), sqlite('SQLITE_BUSY'), sqlite('SQLITE_NOTADB'), new Error('invariant broken'), Object.assign(new Error('no space'), { code: 'ENOSPC' }), null, undefined, 'SQLITE_FULL']) {
      expect(isOutOfSpace(err, '/data', LOW_SPACE_BYTES, nearlyFull), String((err as { code?: string } | null)?.code ?? err)).toBe(false);
    }
  });

  it('reads the free space of the directory\u2019s filesystem by default', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tern-statfs-'));
    try {
      const free = freeBytes(dir);
      expect(free).toBeGreaterThan(0);
      // This machine's temporary directory has room: a failed fsync there would be a failing disk.
      if ((free as number) >= LOW_SPACE_BYTES) expect(isOutOfSpace(sqlite('SQLITE_IOERR_FSYNC'), dir)).toBe(false);
      expect(freeBytes(path.join(dir, 'missing', 'deeper'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mayHaveCommitted', () => {
  it('SQLITE_FULL fails before the commit record is whole; after a failed fsync the transaction may be on disk', () => {
    expect(mayHaveCommitted(sqlite('SQLITE_FULL'))).toBe(false);
    expect(mayHaveCommitted(sqlite('SQLITE_IOERR_FSYNC'))).toBe(true);
    expect(mayHaveCommitted(sqlite('SQLITE_IOERR_WRITE'))).toBe(true);
  });
});
