/**
 * The storage port of a replica. Synchronous and transactional, shaped for better-sqlite3 (whose
 * calls are synchronous) and implemented in memory for the simulator (src/storage).
 *
 * Contract (every implementation, checked by test/storage/contract.ts):
 * 1. Atomicity and durability. Everything written inside `transaction(fn)` is committed together
 *    when `fn` returns, or not at all if it throws or the process crashes before it returns.
 *    Nothing is written outside a transaction; writes outside one are a bug (assert). A committed
 *    transaction survives kill -9 at once, and power loss once a `durable()` called after it has
 *    resolved (at once, for a store that syncs every commit: SQLite with synchronous=FULL, the
 *    memory store). Power loss may lose committed transactions whose `durable()` had not
 *    resolved, and then every later one too: what survives is a prefix of the commits. So a
 *    caller that answers only after `durable()` never answers for what a crash can take back
 *    ("persist, then speak"), while the next transaction may already run (pipelined commits).
 * 2. Read-your-writes. Reads inside a transaction see its own writes.
 * 3. Values are immutable. A value passed to `put*` is never mutated afterwards by the caller,
 *    and a value returned by `get*` is never mutated by the caller. An implementation may keep
 *    references (memory) or copies (SQLite); callers cannot tell.
 * 4. Values are JSON-like: plain objects, arrays, strings, finite numbers, booleans, null. No
 *    undefined inside arrays; undefined object properties may be dropped.
 * 5. Ordering. `scanRows` and `scanAux` return keys in Unicode code point order (UTF-8 byte
 *    order, SQLite's TEXT order); `readOps` returns ops in seq order; `conflictsAfter` in
 *    feed-seq order.
 * 6. Failures. An IO failure (disk full, fsync error) throws (or rejects `durable()`), and the
 *    caller never retries the commit (after a failed fsync the kernel may have dropped the pages, and a retry can falsely
 *    succeed): it discards everything built on the store and reopens it, or stops. The region
 *    node's shell reopens only for lack of space (src/storage/storage-errors.ts: SQLITE_FULL, or
 *    an IO error of writing on a nearly full filesystem) and stays fenced for its storage until
 *    space is freed; every other failure stops the node.
 */
import type { Hlc } from '../clock/hlc.js';
import type { Dot, RegionId } from '../clock/version-vector.js';
import type { RowState } from '../crdt/row.js';
import type { ConflictEntry } from '../model/conflict.js';
import type { Op } from '../model/op.js';
import type { WriteResult } from '../model/row-view.js';
import type { WindowEntry } from '../model/window-entry.js';

/** A stored row: its CRDT state and the ops on it that conflict detection still needs. */
export interface RowRecord {
  readonly state: RowState;
  readonly window: readonly WindowEntry[];
}

/** An idempotency record: key → body digest → the original answer. */
export interface IdemRecord {
  readonly key: string;
  readonly digest: string;
  readonly result: WriteResult;
  /** The op that carried the write first (least in op order among copies). */
  readonly dot: Dot;
  readonly hlc: Hlc;
  readonly table: string;
  readonly rowKey: string;
  /** When the record was created, by the origin's HLC wall time; expiry counts from here. */
  readonly createdMs: number;
}

/** A conflict feed entry with the local sequence number of its latest change. */
export interface FeedRecord {
  readonly entry: ConflictEntry;
  readonly seq: number;
}

export interface ScanOptions {
  /** Only keys strictly greater than this. */
  readonly after?: string;
  /** Only keys starting with this. */
  readonly prefix?: string;
  readonly limit: number;
}

export interface Storage {
  transaction<T>(fn: () => T): T;
  /** Resolves once every transaction committed before the call survives power loss (contract 1). */
  durable(): Promise<void>;

  getMeta(name: string): unknown;
  putMeta(name: string, value: unknown): void;

  getRow(table: string, key: string): RowRecord | undefined;
  /** undefined deletes the row. */
  putRow(table: string, key: string, record: RowRecord | undefined): void;
  scanRows(table: string, options: ScanOptions): Array<readonly [string, RowRecord]>;

  /** Appends to the origin's log; seqs of one origin are appended in increasing order. */
  appendOp(op: Op): void;
  /** Ops of `origin` with seq > afterSeq, in seq order, at most `limit`. */
  readOps(origin: RegionId, afterSeq: number, limit: number): Op[];
  /** Drops ops of `origin` with seq <= throughSeq. */
  trimOps(origin: RegionId, throughSeq: number): void;
  /** The highest seq of `origin` trimmed so far (0 when nothing was trimmed). */
  trimmedThrough(origin: RegionId): number;

  getIdem(key: string): IdemRecord | undefined;
  putIdem(key: string, record: IdemRecord | undefined): void;
  /** Records created before `createdBeforeMs`, oldest first, at most `limit`. */
  idemCreatedBefore(createdBeforeMs: number, limit: number): IdemRecord[];

  getConflict(id: string): FeedRecord | undefined;
  /** Inserts or replaces by entry id; the record's seq must exceed every seq stored before. */
  putConflict(record: FeedRecord): void;
  /** Deletes the entry with this id, if any (feed retention). */
  removeConflict(id: string): void;
  /** Entries whose seq > afterSeq, in seq order, at most `limit`; `table` filters. */
  conflictsAfter(afterSeq: number, limit: number, table?: string): FeedRecord[];

  /** Auxiliary keyed data (unique-field claims and their conflict windows). */
  getAux(ns: string, key: string): unknown;
  putAux(ns: string, key: string, value: unknown): void;
  /** Auxiliary entries of `ns` with key > after, in key order, at most `limit`. */
  scanAux(ns: string, after: string, limit: number): Array<readonly [string, unknown]>;
}
