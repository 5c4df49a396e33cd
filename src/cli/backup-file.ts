/**
 * The backup file: one line of JSON (the manifest: cluster, region, node, time, size and SHA-256
 * of what follows), then the SQLite database of the region node, byte for byte.
 */
import { open } from 'node:fs/promises';
import type { BackupManifest } from '../server/backup.js';

/** A manifest line is small; a file whose first line is longer is not a backup. */
const manifestBytesMax = 64 * 1024;

export function isManifest(v: unknown): v is BackupManifest {
  const m = v as Partial<BackupManifest> | null;
  return (
    typeof m === 'object' && m !== null && m.format === 'terndb-backup' && m.version === 1 &&
    typeof m.cluster === 'string' && typeof m.region === 'string' && typeof m.node === 'string' && typeof m.createdAt === 'string' &&
    typeof m.bytes === 'number' && Number.isSafeInteger(m.bytes) && m.bytes >= 0 && typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256)
  );
}

/** The manifest of a backup file and where its database starts; an Error saying what is wrong otherwise. */
export async function readManifest(file: string): Promise<{ manifest: BackupManifest; offset: number }> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(manifestBytesMax);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
    let parsed: unknown = null;
    try {
      parsed = nl < 0 ? null : JSON.parse(buf.subarray(0, nl).toString('utf8'));
    } catch {
      // not JSON: said below
    }
    if (!isManifest(parsed)) throw new Error(`${file} is not a terndb backup (its first line is not a backup manifest)`);
    const size = (await fh.stat()).size;
    const offset = nl + 1;
    if (size - offset !== parsed.bytes) throw new Error(`${file} is truncated or padded: the manifest says ${parsed.bytes} bytes of database, the file holds ${size - offset}; take the backup again`);
    return { manifest: parsed, offset };
  } finally {
    await fh.close();
  }
}
