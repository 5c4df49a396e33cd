/**
 * The donor's side of a snapshot (manifest.ts): a consistent copy of the database made beside the
 * data while the node serves (SQLite's online backup, as for `terndb backup`), kept for a while so
 * that a receiver whose link dropped (or who crashed) can fetch the rest by chunk, and served at
 * no more than `bytesPerSec` summed over every receiver, so the donor keeps serving its clients.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { VersionVector } from '../../core/clock/version-vector.js';
import { SqliteStorage } from '../../storage/sqlite-storage.js';
import { digestFrom } from '../backup.js';
import { snapshotChunkBytes, type SnapshotManifest } from './manifest.js';

const copyPrefix = '.snapshot-';

/** How long a copy is kept after it was last asked for: a receiver that comes back within this resumes. */
export const snapshotKeepMs = 10 * 60 * 1000;

interface Held {
  readonly file: string;
  readonly manifest: SnapshotManifest;
  lastUsedMs: number;
}

export interface DonorIdentity {
  readonly cluster: string;
  readonly region: string;
  readonly node: string;
}

export class SnapshotDonor {
  readonly #dir: string;
  readonly #who: DonorIdentity;
  readonly #bytesPerSec: number;
  readonly #held = new Map<string, Held>();
  #making: Promise<SnapshotManifest> | null = null;
  /** When the byte budget is free again (throttle shared by every receiver). */
  #nextFreeMs = 0;

  constructor(dataDir: string, who: DonorIdentity, bytesPerSec: number) {
    this.#dir = dataDir;
    this.#who = who;
    this.#bytesPerSec = bytesPerSec;
  }

  /** Copies left by a crash: no receiver can name them now (their ids died with the process). */
  static async removeLeftovers(dataDir: string): Promise<void> {
    for (const f of await readdir(dataDir).catch(() => [] as string[])) if (f.startsWith(copyPrefix)) await unlink(path.join(dataDir, f)).catch(() => undefined);
  }

  /**
   * A new copy of `storage` and its manifest. One is made at a time: a second caller meanwhile
   * shares it. Older copies are dropped when a new one is made (one snapshot on disk at a time).
   */
  async create(storage: SqliteStorage): Promise<SnapshotManifest> {
    if (this.#making !== null) return this.#making;
    this.#making = this.#copy(storage).finally(() => {
      this.#making = null;
    });
    return this.#making;
  }

  async #copy(storage: SqliteStorage): Promise<SnapshotManifest> {
    for (const id of [...this.#held.keys()]) await this.drop(id);
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const file = path.join(this.#dir, `${copyPrefix}${id}.sqlite`);
    try {
      await storage.backupTo(file, 256);
      // The copy's own applied vector (read before the checksums: opening it may rewrite its header).
      const copy = new SqliteStorage(file, { checkOnOpen: false });
      const vector = ((copy.getMeta('replica') as { applied?: VersionVector } | undefined)?.applied ?? {}) as VersionVector;
      copy.close();
      const bytes = (await stat(file)).size;
      const chunks = await chunkDigests(file, bytes);
      const manifest: SnapshotManifest = { format: 'terndb-snapshot', version: 1, id, ...this.#who, createdAt: new Date().toISOString(), vector, bytes, chunkBytes: snapshotChunkBytes, chunks, sha256: await digestFrom(file) };
      this.#held.set(id, { file, manifest, lastUsedMs: Date.now() });
      return manifest;
    } catch (err) {
      await unlink(file).catch(() => undefined);
      throw err;
    }
  }

  /** The manifest of a copy still held (a resuming receiver checks it is the same one), or null. */
  manifest(id: string): SnapshotManifest | null {
    const h = this.#held.get(id);
    if (h === undefined) return null;
    h.lastUsedMs = Date.now();
    return h.manifest;
  }

  /** Chunk `n` of copy `id` (null: no such copy or chunk), once the byte budget allows it. */
  async chunk(id: string, n: number): Promise<Buffer | null> {
    const h = this.#held.get(id);
    if (h === undefined || !Number.isSafeInteger(n) || n < 0 || n >= h.manifest.chunks.length) return null;
    h.lastUsedMs = Date.now();
    const start = n * h.manifest.chunkBytes;
    const length = Math.min(h.manifest.chunkBytes, h.manifest.bytes - start);
    const now = Date.now();
    const at = Math.max(now, this.#nextFreeMs);
    this.#nextFreeMs = at + (length / this.#bytesPerSec) * 1000;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
    const fd = await open(h.file, 'r');
    try {
      const buf = Buffer.alloc(length);
      await fd.read(buf, 0, length, start);
      return buf;
    } finally {
      await fd.close();
    }
  }

  async drop(id: string): Promise<void> {
    const h = this.#held.get(id);
    if (h === undefined) return;
    this.#held.delete(id);
    await unlink(h.file).catch(() => undefined);
  }

  /** Drops copies nobody asked for within snapshotKeepMs (called periodically, and on stop with `all`). */
  async expire(all = false): Promise<void> {
    const now = Date.now();
    for (const [id, h] of [...this.#held]) if (all || now - h.lastUsedMs > snapshotKeepMs) await this.drop(id);
  }
}

/** SHA-256 of each chunk of `file`. */
async function chunkDigests(file: string, bytes: number): Promise<string[]> {
  const out: string[] = [];
  const fd = await open(file, 'r');
  try {
    const buf = Buffer.alloc(snapshotChunkBytes);
    for (let start = 0; start < bytes; start += snapshotChunkBytes) {
      const { bytesRead } = await fd.read(buf, 0, Math.min(snapshotChunkBytes, bytes - start), start);
      out.push(createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex'));
    }
  } finally {
    await fd.close();
  }
  return out;
}
