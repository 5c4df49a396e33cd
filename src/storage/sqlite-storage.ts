/**
 * Storage on SQLite (better-sqlite3), for region nodes. Durable: WAL with synchronous=FULL, so a
 * commit survives kill -9 and power loss when it returns. One replica step is one transaction
 * (the shell batches a whole event-loop turn into a step: group commit). Values are
 * msgpack-encoded; decoded rows are cached, which the contract's immutability clause makes safe.
 *
 * With `deferSync`, a commit does not wait for the disk (synchronous=NORMAL: SQLite writes the
 * WAL frames and returns; kill -9 loses nothing, the page cache holds them) and `durable()`
 * fdatasyncs the WAL file: on libuv's thread pool, off the event loop, or inline when this disk's
 * syncs take under `inlineSyncBelowMs` (a round trip to the thread pool would cost as much). One
 * sync covers every commit before it, and at most one runs at a time, so commits made while it
 * runs share the next (group commit across steps). SQLite itself syncs the WAL before every checkpoint and syncs the
 * WAL header when it starts reusing the file, so a synced WAL holds every commit it covers. This is
 * what lets the node pipeline: step N+1 runs while step N's sync is on the disk, and N's answers
 * leave only once it is done (docs/internals/storage.md).
 *
 * Failures: any SQLite error inside a commit propagates. The caller must never retry the commit
 * (after a failed fsync the kernel may have dropped the dirty pages, and a retry could report
 * success for data that is not on disk): it closes and reopens the store for lack of space
 * (storage-errors.ts), and treats anything else as fatal and exits.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Packr } from 'msgpackr';
import { assert } from '../core/util/assert.js';
import type { RegionId } from '../core/clock/version-vector.js';
import type { FeedRecord, IdemRecord, RowRecord, ScanOptions, Storage } from '../core/storage/storage.js';
import { compareKeys } from '../core/util/key-order.js';
import type { Op } from '../core/model/op.js';

/** Each migration runs once, in order, in a transaction; PRAGMA user_version counts them. */
const migrations: readonly string[] = [
  `CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
   CREATE TABLE rows (tbl TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID;
   CREATE TABLE log (origin TEXT NOT NULL, seq INTEGER NOT NULL, op BLOB NOT NULL, PRIMARY KEY (origin, seq)) WITHOUT ROWID;
   CREATE TABLE log_trim (origin TEXT PRIMARY KEY, through INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE idem (key TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
   CREATE INDEX idem_by_age ON idem (created_ms, key);
   CREATE TABLE feed (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, tbl TEXT NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
   CREATE INDEX feed_by_table ON feed (tbl, seq);
   CREATE TABLE aux (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;`,
];

/** Syncs faster than this (smoothed) run inline by default; once slower than slowSyncMs, on the thread pool (durable()). */
const fastSyncMsDefault = 0.5;
const slowSyncMs = 2;
/** Weight of the newest sync in the smoothed sync time. */
const syncWeight = 0.2;

export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError';
  readonly code = 'STORAGE_CORRUPT';
}

export class StorageLockedError extends Error {
  override readonly name = 'StorageLockedError';
  readonly code = 'STORAGE_LOCKED';
}

export interface SqliteStorageOptions {
  /** Decoded rows kept in memory. */
  readonly rowCacheMax?: number;
  /** Commits return before they are on the disk; `durable()` syncs them off the event loop (see above). */
  readonly deferSync?: boolean;
  /** With deferSync: a disk whose syncs take less than this (smoothed, ms) is synced inline (0: never). Default 0.5. */
  readonly inlineSyncBelowMs?: number;
  /** Run PRAGMA quick_check when opening (on by default). */
  readonly checkOnOpen?: boolean;
}

const DELETED = Symbol('deleted');
type Slot<T> = T | typeof DELETED;

export class SqliteStorage implements Storage {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #packr = new Packr({ useRecords: false, mapsAsObjects: true });
  readonly #rowCacheMax: number;
  /** Committed rows, decoded (LRU by insertion order). */
  readonly #rowCache = new Map<string, Slot<RowRecord>>();
  /** Rows written by the open transaction. */
  #txRows: Map<string, Slot<RowRecord>> | null = null;
  #txLastSeq: Map<RegionId, number> | null = null;
  readonly #lastSeq = new Map<RegionId, number>();
  readonly #trimmed = new Map<RegionId, number>();
  readonly #s: ReturnType<SqliteStorage['prepare']>;
  readonly #deferSync: boolean;
  /** Transactions committed since the store opened, and how many of them a finished sync covers. */
  #commits = 0;
  #syncedThrough = 0;
  #syncing = false;
  /** durable() calls waiting for a sync that covers commit `through`. */
  #waiting: Array<{ readonly through: number; readonly resolve: () => void; readonly reject: (err: Error) => void }> = [];
  /** The WAL file, opened once it exists, to fdatasync it. */
  #walFd: number | null = null;
  /** A sync failed: the store is unusable (never retried; contract 6). */
  #syncError: Error | null = null;
  /** Syncs started by durable() (for tests: one covers every commit before it). */
  syncs = 0;
  /** Smoothed time of a sync, ms. */
  #syncMs = 0;
  /**
   * Syncs run inline (on a disk that syncs in well under a millisecond, the hop to the thread pool
   * and back is of the order of the wait it would free the loop from). The smoothed time past
   * slowSyncMs sends them to the thread pool, below inlineSyncBelowMs brings them back: the gap
   * keeps them from flapping.
   */
  #inline: boolean;
  readonly #fastSyncMs: number;

  constructor(path: string, options: SqliteStorageOptions = {}) {
    this.path = path;
    this.#rowCacheMax = options.rowCacheMax ?? 100_000;
    // One process per store: take SQLite's exclusive lock now and keep it (the OS releases it if
    // the process dies, so kill -9 never leaves a stale lock behind). Lock contention fails fast.
    this.#db = new Database(path, { timeout: 200 });
    try {
      this.#db.pragma('locking_mode = EXCLUSIVE');
      this.#db.pragma('journal_mode = WAL');
      this.#db.exec('BEGIN IMMEDIATE; COMMIT');
    } catch (err) {
      this.#db.close();
      if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        throw new StorageLockedError(`${path} is in use by another process; run one node per data directory`);
      }
      throw err;
    }
    this.#deferSync = options.deferSync ?? false;
    this.#fastSyncMs = options.inlineSyncBelowMs ?? fastSyncMsDefault;
    this.#inline = this.#fastSyncMs > 0;
    this.#db.pragma(this.#deferSync ? 'synchronous = NORMAL' : 'synchronous = FULL');
    this.#db.pragma('foreign_keys = OFF');
    if (options.checkOnOpen ?? true) {
      const result = this.#db.pragma('quick_check', { simple: true });
      if (result !== 'ok') {
        this.#db.close();
        throw new StorageCorruptError(`${path} failed its integrity check (${String(result)}); restore it from a replica or a backup, do not start on it`);
      }
    }
    this.#migrate();
    this.#s = this.prepare();
    for (const r of this.#s.logHeads.all() as Array<{ origin: string; last: number }>) this.#lastSeq.set(r.origin, r.last);
    for (const r of this.#s.trims.all() as Array<{ origin: string; through: number }>) {
      this.#trimmed.set(r.origin, r.through);
      this.#lastSeq.set(r.origin, Math.max(this.#lastSeq.get(r.origin) ?? 0, r.through));
    }
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    assert(version <= migrations.length, `${this.path} has schema version ${version}, newer than this build (${migrations.length}); upgrade Tern`);
    for (let v = version; v < migrations.length; v++) {
      this.#db.transaction(() => {
        // Re-read inside the transaction: the version is what the lock holder sees now.
        if ((this.#db.pragma('user_version', { simple: true }) as number) !== v) return;
        this.#db.exec(migrations[v] as string);
        this.#db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  private prepare() {
    const db = this.#db;
    return {
      getMeta: db.prepare('SELECT value FROM meta WHERE name = ?').pluck(),
      putMeta: db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      getRow: db.prepare('SELECT value FROM rows WHERE tbl = ? AND key = ?').pluck(),
      putRow: db.prepare('INSERT INTO rows (tbl, key, value) VALUES (?, ?, ?) ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value'),
      delRow: db.prepare('DELETE FROM rows WHERE tbl = ? AND key = ?'),
      scanRows: db.prepare('SELECT key, value FROM rows WHERE tbl = ? AND key > ? ORDER BY key LIMIT ?'),
      scanRowsFrom: db.prepare('SELECT key, value FROM rows WHERE tbl = ? AND key >= ? ORDER BY key LIMIT ?'),
      appendOp: db.prepare('INSERT INTO log (origin, seq, op) VALUES (?, ?, ?)'),
      readOps: db.prepare('SELECT op FROM log WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?').pluck(),
      trimOps: db.prepare('DELETE FROM log WHERE origin = ? AND seq <= ?'),
      putTrim: db.prepare('INSERT INTO log_trim (origin, through) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET through = max(through, excluded.through)'),
      logHeads: db.prepare('SELECT origin, max(seq) AS last FROM log GROUP BY origin'),
      trims: db.prepare('SELECT origin, through FROM log_trim'),
      getIdem: db.prepare('SELECT value FROM idem WHERE key = ?').pluck(),
      putIdem: db.prepare('INSERT INTO idem (key, created_ms, value) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET created_ms = excluded.created_ms, value = excluded.value'),
      delIdem: db.prepare('DELETE FROM idem WHERE key = ?'),
      idemBefore: db.prepare('SELECT value FROM idem WHERE created_ms < ? ORDER BY created_ms, key LIMIT ?').pluck(),
      getFeed: db.prepare('SELECT seq, value FROM feed WHERE id = ?'),
      putFeed: db.prepare('INSERT INTO feed (id, seq, tbl, value) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, value = excluded.value'),
      delFeed: db.prepare('DELETE FROM feed WHERE id = ?'),
      feedAfter: db.prepare('SELECT seq, value FROM feed WHERE seq > ? ORDER BY seq LIMIT ?'),
      feedAfterInTable: db.prepare('SELECT seq, value FROM feed WHERE tbl = ? AND seq > ? ORDER BY seq LIMIT ?'),
      getAux: db.prepare('SELECT value FROM aux WHERE ns = ? AND key = ?').pluck(),
      putAux: db.prepare('INSERT INTO aux (ns, key, value) VALUES (?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value'),
      delAux: db.prepare('DELETE FROM aux WHERE ns = ? AND key = ?'),
      scanAux: db.prepare('SELECT key, value FROM aux WHERE ns = ? AND key > ? ORDER BY key LIMIT ?'),
    };
  }

  #encode(value: unknown): Buffer {
    return this.#packr.pack(value);
  }

  #decode<T>(blob: unknown): T {
    return this.#packr.unpack(blob as Buffer) as T;
  }

  #inTx(): boolean {
    return this.#txRows !== null;
  }

  #assertTx(): void {
    assert(this.#inTx(), 'storage write outside a transaction');
  }

  transaction<T>(fn: () => T): T {
    if (this.#inTx()) return fn(); // nested: joins the outer transaction
    this.#txRows = new Map();
    this.#txLastSeq = new Map();
    try {
      const result = this.#db.transaction(fn)();
      this.#commits++;
      // Committed: fold the transaction's rows and log heads into the caches.
      for (const [k, v] of this.#txRows) this.#cacheRow(k, v);
      for (const [origin, seq] of this.#txLastSeq) this.#lastSeq.set(origin, seq);
      return result;
    } finally {
      this.#txRows = null;
      this.#txLastSeq = null;
    }
  }

  durable(): Promise<void> {
    if (this.#syncError !== null) return Promise.reject(this.#syncError);
    const through = this.#commits;
    if (!this.#deferSync || through <= this.#syncedThrough) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiting.push({ through, resolve, reject });
      this.#sync();
    });
  }

  /** Starts a sync of the WAL covering every commit so far, unless one runs (it starts the next when done). */
  #sync(): void {
    if (this.#syncing || this.#waiting.length === 0) return;
    const through = this.#commits;
    const fd = this.#wal();
    if (fd === null) {
      // No WAL file yet: nothing was written that a sync could cover.
      this.#synced(through);
      return;
    }
    this.syncs++;
    const t0 = performance.now();
    if (this.#inline) {
      // A failure rejects every waiter, whose caller stops (contract 6).
      try {
        fdatasyncSync(fd);
      } catch (err) {
        this.#failSync(err as Error);
        return;
      }
      this.#timed(performance.now() - t0);
      this.#synced(through);
      return;
    }
    this.#syncing = true;
    fdatasync(fd, (err) => {
      this.#syncing = false;
      this.#timed(performance.now() - t0);
      // Closed while this sync ran: its descriptor is closed only now (never under a running sync).
      if (this.#walFd === null) {
        closeSync(fd);
        return;
      }
      if (err !== null) {
        this.#failSync(err);
        return;
      }
      this.#synced(through);
    });
  }

  /** The store is unusable from now on (never retried, contract 6): every waiter learns why. */
  #failSync(err: Error): void {
    this.#syncError = err;
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }

  /** Smooths the sync time and moves syncs inline or to the thread pool (#inline). */
  #timed(ms: number): void {
    this.#syncMs = this.#syncMs * (1 - syncWeight) + ms * syncWeight;
    if (this.#inline && this.#syncMs > slowSyncMs) this.#inline = false;
    else if (!this.#inline && this.#syncMs < this.#fastSyncMs) this.#inline = true;
  }

  /** Waiters wait in commit order: those a sync through `through` covers are the first ones. */
  #synced(through: number): void {
    this.#syncedThrough = Math.max(this.#syncedThrough, through);
    while (this.#waiting.length > 0 && (this.#waiting[0] as { through: number }).through <= this.#syncedThrough) this.#waiting.shift()?.resolve();
    this.#sync();
  }

  #wal(): number | null {
    if (this.#walFd !== null) return this.#walFd;
    try {
      // Read-only is enough: fdatasync flushes the file (its inode), whichever descriptor asks.
      this.#walFd = openSync(`${this.path}-wal`, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return this.#walFd;
  }

  #cacheRow(k: string, v: Slot<RowRecord>): void {
    this.#rowCache.delete(k);
    this.#rowCache.set(k, v);
    if (this.#rowCache.size > this.#rowCacheMax) {
      const oldest = this.#rowCache.keys().next().value as string;
      this.#rowCache.delete(oldest);
    }
  }

  getMeta(name: string): unknown {
    const blob = this.#s.getMeta.get(name);
    return blob === undefined ? undefined : this.#decode(blob);
  }

  putMeta(name: string, value: unknown): void {
    this.#assertTx();
    this.#s.putMeta.run(name, this.#encode(value));
  }

  getRow(table: string, key: string): RowRecord | undefined {
    const k = `${table}\u0000${key}`;
    const pending = this.#txRows?.get(k);
    if (pending !== undefined) return pending === DELETED ? undefined : pending;
    const cached = this.#rowCache.get(k);
    if (cached !== undefined) return cached === DELETED ? undefined : cached;
    const blob = this.#s.getRow.get(table, key);
    const row = blob === undefined ? undefined : this.#decode<RowRecord>(blob);
    // What the database returns outside txRows is committed state: safe to cache even mid-transaction.
    this.#cacheRow(k, row ?? DELETED);
    return row;
  }

  putRow(table: string, key: string, record: RowRecord | undefined): void {
    this.#assertTx();
    if (record === undefined) this.#s.delRow.run(table, key);
    else this.#s.putRow.run(table, key, this.#encode(record));
    this.#txRows?.set(`${table}\u0000${key}`, record ?? DELETED);
  }

  scanRows(table: string, options: ScanOptions): Array<readonly [string, RowRecord]> {
    const out: Array<readonly [string, RowRecord]> = [];
    const prefix = options.prefix ?? '';
    let after = options.after;
    // The prefix's keys are contiguous in key order: start at the later of `after` and the
    // prefix, stop at the first key without it.
    let start = after === undefined || compareKeys(after, prefix) < 0 ? prefix : null;
    while (out.length < options.limit) {
      const batch = Math.min(options.limit - out.length, 1_000);
      const rows = (start !== null ? this.#s.scanRowsFrom.all(table, start, batch) : this.#s.scanRows.all(table, after, batch)) as Array<{ key: string; value: Buffer }>;
      for (const r of rows) {
        if (!r.key.startsWith(prefix)) return out;
        out.push([r.key, this.getRow(table, r.key) ?? this.#decode<RowRecord>(r.value)]);
      }
      if (rows.length < batch) break;
      after = (rows[rows.length - 1] as { key: string }).key;
      start = null;
    }
    return out;
  }

  appendOp(op: Op): void {
    this.#assertTx();
    const tx = this.#txLastSeq as Map<RegionId, number>;
    const last = tx.get(op.dot.origin) ?? this.#lastSeq.get(op.dot.origin) ?? 0;
    assert(op.dot.seq === last + 1, () => `log append out of order: ${op.dot.origin}:${op.dot.seq} after ${last}`);
    this.#s.appendOp.run(op.dot.origin, op.dot.seq, this.#encode(op));
    tx.set(op.dot.origin, op.dot.seq);
  }

  readOps(origin: RegionId, afterSeq: number, limit: number): Op[] {
    return (this.#s.readOps.all(origin, afterSeq, limit) as Buffer[]).map((b) => this.#decode<Op>(b));
  }

  trimOps(origin: RegionId, throughSeq: number): void {
    this.#assertTx();
    this.#s.trimOps.run(origin, throughSeq);
    this.#s.putTrim.run(origin, throughSeq);
    this.#trimmed.set(origin, Math.max(this.#trimmed.get(origin) ?? 0, throughSeq));
  }

  trimmedThrough(origin: RegionId): number {
    return this.#trimmed.get(origin) ?? 0;
  }

  getIdem(key: string): IdemRecord | undefined {
    const blob = this.#s.getIdem.get(key);
    return blob === undefined ? undefined : this.#decode<IdemRecord>(blob);
  }

  putIdem(key: string, record: IdemRecord | undefined): void {
    this.#assertTx();
    if (record === undefined) this.#s.delIdem.run(key);
    else this.#s.putIdem.run(key, record.createdMs, this.#encode(record));
  }

  idemCreatedBefore(createdBeforeMs: number, limit: number): IdemRecord[] {
    const bound = Number.isFinite(createdBeforeMs) ? createdBeforeMs : Number.MAX_SAFE_INTEGER;
    return (this.#s.idemBefore.all(bound, limit) as Buffer[]).map((b) => this.#decode<IdemRecord>(b));
  }

  getConflict(id: string): FeedRecord | undefined {
    const r = this.#s.getFeed.get(id) as { seq: number; value: Buffer } | undefined;
    return r === undefined ? undefined : { seq: r.seq, entry: this.#decode(r.value) };
  }

  putConflict(record: FeedRecord): void {
    this.#assertTx();
    this.#s.putFeed.run(record.entry.id, record.seq, record.entry.table, this.#encode(record.entry));
  }

  removeConflict(id: string): void {
    this.#assertTx();
    this.#s.delFeed.run(id);
  }

  conflictsAfter(afterSeq: number, limit: number, table?: string): FeedRecord[] {
    const rows = (table === undefined ? this.#s.feedAfter.all(afterSeq, limit) : this.#s.feedAfterInTable.all(table, afterSeq, limit)) as Array<{ seq: number; value: Buffer }>;
    return rows.map((r) => ({ seq: r.seq, entry: this.#decode(r.value) }));
  }

  getAux(ns: string, key: string): unknown {
    const blob = this.#s.getAux.get(ns, key);
    return blob === undefined ? undefined : this.#decode(blob);
  }

  putAux(ns: string, key: string, value: unknown): void {
    this.#assertTx();
    if (value === undefined) this.#s.delAux.run(ns, key);
    else this.#s.putAux.run(ns, key, this.#encode(value));
  }

  scanAux(ns: string, after: string, limit: number): Array<readonly [string, unknown]> {
    return (this.#s.scanAux.all(ns, after, limit) as Array<{ key: string; value: Buffer }>).map((r) => [r.key, this.#decode(r.value)] as const);
  }

  /** Average stored size of a table's rows, in bytes (for benchmarks and capacity planning). */
  averageRowBytes(table: string): number {
    const r = this.#db.prepare('SELECT avg(length(value)) AS bytes FROM rows WHERE tbl = ?').get(table) as { bytes: number | null };
    return r.bytes ?? 0;
  }

  /**
   * Copies the database to `dest` while the node keeps running: SQLite's online backup, on this
   * connection (the store holds an exclusive lock), `pagesPerStep` pages at a time with the event
   * loop free between steps. Writes made meanwhile through this connection reach the copy too, so
   * it is the database as of the moment the copy finishes: one consistent cut of rows, logs, the
   * strong state and everything else.
   */
  async backupTo(dest: string, pagesPerStep: number): Promise<void> {
    await this.#db.backup(dest, { progress: () => pagesPerStep });
  }

  close(): void {
    this.#db.close();
    if (this.#walFd !== null && !this.#syncing) closeSync(this.#walFd);
    this.#walFd = null;
    // Whoever still waits learns the store is gone (what it waited for may not be on the disk).
    for (const w of this.#waiting.splice(0)) w.reject(new Error('the store was closed before its commits were synced'));
  }
}
