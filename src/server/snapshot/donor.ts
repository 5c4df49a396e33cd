/**
 * The donor's side of a snapshot (manifest.ts): a consistent copy of the database made beside the
 * data while the node serves (SQLite's online backup, as for `terndb backup`), kept for a while so
 * that a receiver whose link dropped (or who crashed) can fetch the rest by chunk, and served at
 * no more than `bytesPerSec` summed over every receiver, so the donor keeps serving its clients.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { dominates, type VersionVector } from '../../core/clock/version-vector.js';
import { SqliteStorage } from '../../storage/sqlite-storage.js';
import { snapshotChunkBytes, type SnapshotManifest } from './manifest.js';
import { nodeLimits } from '../limits.js';

const copyPrefix = '.snapshot-';

const { snapshotKeepMs, snapshotIdleMs } = nodeLimits;

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

  readonly #now: () => number;

  /** `now` is the wall clock, injectable so tests can age copies. */
  constructor(dataDir: string, who: DonorIdentity, bytesPerSec: number, now: () => number = Date.now) {
    this.#dir = dataDir;
    this.#who = who;
    this.#bytesPerSec = bytesPerSec;
    this.#now = now;
  }

  /** Copies left by a crash: no receiver can name them now (their ids died with the process). */
  static async removeLeftovers(dataDir: string): Promise<void> {
    for (const f of await readdir(dataDir).catch(() => [] as string[])) if (f.startsWith(copyPrefix)) await unlink(path.join(dataDir, f)).catch(() => undefined);
  }

  /**
   * A copy of `storage` holding at least `after`, and its manifest. A held copy that does is shared
   * (two regions rejoining at once fetch the same one); otherwise a new one is made, one at a time
   * (a second caller meanwhile shares it). Making one drops the copies idle for `snapshotIdleMs`:
   * never one a receiver is fetching, so two rejoining regions cannot take each other's copy away
   * and start over forever.
   */
  async create(storage: SqliteStorage, after?: VersionVector): Promise<SnapshotManifest> {
    if (after !== undefined) {
      const held = [...this.#held.values()].filter((h) => dominates(h.manifest.vector, after)).sort((a, b) => b.lastUsedMs - a.lastUsedMs)[0];
      if (held !== undefined) {
        held.lastUsedMs = this.#now();
        return held.manifest;
      }
    }
    if (this.#making !== null) {
      const m = await this.#making;
      if (after === undefined || dominates(m.vector, after)) return m;
      return this.create(storage, after);
    }
    this.#making = this.#copy(storage).finally(() => {
      this.#making = null;
    });
    return this.#making;
  }

  async #copy(storage: SqliteStorage): Promise<SnapshotManifest> {
    const now = this.#now();
    for (const [id, h] of [...this.#held]) if (now - h.lastUsedMs > snapshotIdleMs) await this.drop(id);
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const file = path.join(this.#dir, `${copyPrefix}${id}.sqlite`);
    try {
      await storage.backupTo(file, 256);
      // The copy's own applied vector (read before the checksums: opening it may rewrite its header).
      const copy = new SqliteStorage(file, { checkOnOpen: false });
      const vector = ((copy.getMeta('replica') as { applied?: VersionVector } | undefined)?.applied ?? {}) as VersionVector;
      copy.close();
      const bytes = (await stat(file)).size;
      const { chunks, sha256 } = await digests(file, bytes);
      const manifest: SnapshotManifest = { format: 'terndb-snapshot', version: 1, id, ...this.#who, createdAt: new Date().toISOString(), vector, bytes, chunkBytes: snapshotChunkBytes, chunks, sha256 };
      this.#held.set(id, { file, manifest, lastUsedMs: this.#now() });
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
    h.lastUsedMs = this.#now();
    return h.manifest;
  }

  /** Chunk `n` of copy `id` (null: no such copy or chunk), once the byte budget allows it. */
  async chunk(id: string, n: number): Promise<Buffer | null> {
    const h = this.#held.get(id);
    if (h === undefined || !Number.isSafeInteger(n) || n < 0 || n >= h.manifest.chunks.length) return null;
    h.lastUsedMs = this.#now();
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
    const now = this.#now();
    for (const [id, h] of [...this.#held]) if (all || now - h.lastUsedMs > snapshotKeepMs) await this.drop(id);
  }
}

/** SHA-256 of each chunk of `file`, and of the whole file, in one pass over it. */
async function digests(file: string, bytes: number): Promise<{ chunks: string[]; sha256: string }> {
  const chunks: string[] = [];
  const whole = createHash('sha256');
  const fd = await open(file, 'r');
  try {
    const buf = Buffer.alloc(snapshotChunkBytes);
    for (let start = 0; start < bytes; start += snapshotChunkBytes) {
      const { bytesRead } = await fd.read(buf, 0, Math.min(snapshotChunkBytes, bytes - start), start);
      const chunk = buf.subarray(0, bytesRead);
      chunks.push(createHash('sha256').update(chunk).digest('hex'));
      whole.update(chunk);
    }
  } finally {
    await fd.close();
  }
  return { chunks, sha256: whole.digest('hex') };
}
