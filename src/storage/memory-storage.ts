/**
 * In-memory Storage for the simulator and tests, with crash semantics: `crash()` discards the
 * transaction in progress, exactly what kill -9 does to an uncommitted SQLite transaction.
 * Committed data lives in plain maps; a transaction writes to an overlay that commit folds in.
 *
 * `freezeValues` deep-freezes everything stored, so a caller that breaks the immutability clause
 * of the contract throws in tests instead of silently corrupting committed state.
 */
import { assert } from '../core/util/assert.js';
import type { RegionId } from '../core/clock/version-vector.js';
import { compareKeys } from '../core/util/key-order.js';
import type { FeedRecord, IdemRecord, RowRecord, ScanOptions, Storage } from '../core/storage/storage.js';
import type { Op } from '../core/model/op.js';

const DELETED = Symbol('deleted');
type Slot<T> = T | typeof DELETED;

interface Overlay {
  meta: Map<string, unknown>;
  /** table → key → row. */
  rows: Map<string, Map<string, Slot<RowRecord>>>;
  appended: Op[];
  lastAppended: Map<RegionId, number>;
  trims: Map<RegionId, number>;
  idem: Map<string, Slot<IdemRecord>>;
  feed: Map<string, Slot<FeedRecord>>;
  aux: Map<string, Slot<unknown>>;
}

interface OriginLog {
  /** ops[i] has seq = trimmed + 1 + i. */
  ops: Op[];
  trimmed: number;
}

export interface MemoryStorageOptions {
  readonly freezeValues?: boolean;
}

/** Thrown by a transaction that a simulated crash interrupted. */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class MemoryStorage implements Storage {
  readonly #freeze: boolean;
  readonly #meta = new Map<string, unknown>();
  readonly #rows = new Map<string, Map<string, RowRecord>>();
  readonly #logs = new Map<RegionId, OriginLog>();
  readonly #idem = new Map<string, IdemRecord>();
  readonly #feed = new Map<string, FeedRecord>();
  readonly #aux = new Map<string, unknown>();

  // The open transaction's overlay (null outside one).
  #tx: Overlay | null = null;
  #crashAt: number | null = null;
  #commits = 0;

  constructor(options: MemoryStorageOptions = {}) {
    this.#freeze = options.freezeValues ?? false;
  }

  /** A backup: an independent store holding everything committed here now (values are shared: they are never mutated). */
  copy(): MemoryStorage {
    const c = new MemoryStorage({ freezeValues: this.#freeze });
    for (const [k, v] of this.#meta) c.#meta.set(k, v);
    for (const [t, rows] of this.#rows) c.#rows.set(t, new Map(rows));
    for (const [o, log] of this.#logs) c.#logs.set(o, { ops: [...log.ops], trimmed: log.trimmed });
    for (const [k, v] of this.#idem) c.#idem.set(k, v);
    for (const [k, v] of this.#feed) c.#feed.set(k, v);
    for (const [k, v] of this.#aux) c.#aux.set(k, v);
    return c;
  }

  /** Number of committed transactions (for tests and the simulator's trace). */
  get commits(): number {
    return this.#commits;
  }

  /**
   * Simulated power loss: the transaction in progress (if any) is lost. Arms the storage so the
   * next commit, if `duringNextCommit`, throws SimulatedCrash instead of committing.
   */
  crash(duringNextCommit = false): void {
    this.#tx = null;
    this.#crashAt = duringNextCommit ? this.#commits + 1 : null;
  }

  /** Every commit is durable when it returns (a crash here takes back only the open transaction). */
  durable(): Promise<void> {
    return Promise.resolve();
  }

  transaction<T>(fn: () => T): T {
    if (this.#tx !== null) return fn(); // nested: joins the outer transaction
    this.#tx = {
      meta: new Map(), rows: new Map(), appended: [], lastAppended: new Map(), trims: new Map(), idem: new Map(), feed: new Map(), aux: new Map(),
    };
    try {
      const result = fn();
      if (this.#crashAt === this.#commits + 1) {
        this.#crashAt = null;
        throw new SimulatedCrash('simulated crash during commit');
      }
      this.#commit();
      return result;
    } finally {
      this.#tx = null;
    }
  }

  #open(): Overlay {
    assert(this.#tx !== null, 'storage write outside a transaction');
    return this.#tx;
  }

  #stored<T>(value: T): T {
    return this.#freeze ? deepFreeze(value) : value;
  }

  #commit(): void {
    const tx = this.#tx;
    assert(tx !== null, 'commit without a transaction');
    for (const [k, v] of tx.meta) this.#meta.set(k, v);
    for (const [table, rows] of tx.rows) {
      let t = this.#rows.get(table);
      if (t === undefined) this.#rows.set(table, (t = new Map()));
      for (const [key, v] of rows) {
        if (v === DELETED) t.delete(key);
        else t.set(key, v);
      }
    }
    for (const op of tx.appended) this.#logOf(op.dot.origin).ops.push(op);
    for (const [origin, through] of tx.trims) this.#applyTrim(origin, through);
    for (const [k, v] of tx.idem) {
      if (v === DELETED) this.#idem.delete(k);
      else this.#idem.set(k, v);
    }
    for (const [k, v] of tx.feed) {
      if (v === DELETED) this.#feed.delete(k);
      else this.#feed.set(k, v);
    }
    for (const [k, v] of tx.aux) {
      if (v === DELETED) this.#aux.delete(k);
      else this.#aux.set(k, v);
    }
    this.#commits++;
  }

  #logOf(origin: RegionId): OriginLog {
    let log = this.#logs.get(origin);
    if (log === undefined) this.#logs.set(origin, (log = { ops: [], trimmed: 0 }));
    return log;
  }

  #applyTrim(origin: RegionId, through: number): void {
    const log = this.#logOf(origin);
    if (through <= log.trimmed) return;
    log.ops.splice(0, Math.min(log.ops.length, through - log.trimmed));
    log.trimmed = through;
  }

  getMeta(name: string): unknown {
    const tx = this.#tx;
    if (tx !== null && tx.meta.has(name)) return tx.meta.get(name);
    return this.#meta.get(name);
  }

  putMeta(name: string, value: unknown): void {
    this.#open().meta.set(name, this.#stored(value));
  }

  getRow(table: string, key: string): RowRecord | undefined {
    const tx = this.#tx;
    if (tx !== null && tx.rows.size > 0) {
      const v = tx.rows.get(table)?.get(key);
      if (v !== undefined) return v === DELETED ? undefined : v;
    }
    return this.#rows.get(table)?.get(key);
  }

  putRow(table: string, key: string, record: RowRecord | undefined): void {
    const rows = this.#open().rows;
    let t = rows.get(table);
    if (t === undefined) rows.set(table, (t = new Map()));
    t.set(key, record === undefined ? DELETED : this.#stored(record));
  }

  scanRows(table: string, options: ScanOptions): Array<readonly [string, RowRecord]> {
    const merged = new Map(this.#rows.get(table) ?? []);
    for (const [key, v] of this.#tx?.rows.get(table) ?? []) {
      if (v === DELETED) merged.delete(key);
      else merged.set(key, v);
    }
    const keys = [...merged.keys()]
      .filter((k) => (options.after === undefined || compareKeys(k, options.after) > 0) && (options.prefix === undefined || k.startsWith(options.prefix)))
      .sort(compareKeys);
    return keys.slice(0, options.limit).map((k) => [k, merged.get(k) as RowRecord] as const);
  }

  appendOp(op: Op): void {
    const tx = this.#open();
    const last = tx.lastAppended.get(op.dot.origin) ?? this.#lastSeq(op.dot.origin);
    assert(op.dot.seq === last + 1, () => `log append out of order: ${op.dot.origin}:${op.dot.seq} after ${last}`);
    tx.appended.push(this.#stored(op));
    tx.lastAppended.set(op.dot.origin, op.dot.seq);
  }

  #lastSeq(origin: RegionId): number {
    const log = this.#logs.get(origin);
    return log === undefined ? 0 : log.trimmed + log.ops.length;
  }

  readOps(origin: RegionId, afterSeq: number, limit: number): Op[] {
    const log = this.#logs.get(origin);
    const out: Op[] = [];
    if (log !== undefined) {
      const start = Math.max(0, afterSeq - log.trimmed);
      for (let i = start; i < log.ops.length && out.length < limit; i++) out.push(log.ops[i] as Op);
    }
    const tx = this.#tx;
    if (tx !== null) {
      for (const op of tx.appended) {
        if (out.length >= limit) break;
        if (op.dot.origin === origin && op.dot.seq > afterSeq) out.push(op);
      }
    }
    return out;
  }

  trimOps(origin: RegionId, throughSeq: number): void {
    const tx = this.#open();
    tx.trims.set(origin, Math.max(throughSeq, tx.trims.get(origin) ?? 0));
  }

  trimmedThrough(origin: RegionId): number {
    const pending = this.#tx?.trims.get(origin) ?? 0;
    return Math.max(pending, this.#logs.get(origin)?.trimmed ?? 0);
  }

  getIdem(key: string): IdemRecord | undefined {
    const tx = this.#tx;
    if (tx !== null && tx.idem.has(key)) {
      const v = tx.idem.get(key);
      return v === DELETED ? undefined : v;
    }
    return this.#idem.get(key);
  }

  putIdem(key: string, record: IdemRecord | undefined): void {
    this.#open().idem.set(key, record === undefined ? DELETED : this.#stored(record));
  }

  idemCreatedBefore(createdBeforeMs: number, limit: number): IdemRecord[] {
    // Linear scan: fine for simulations; the SQLite implementation uses an index.
    const merged = new Map(this.#idem);
    for (const [k, v] of this.#tx?.idem ?? []) {
      if (v === DELETED) merged.delete(k);
      else merged.set(k, v);
    }
    return [...merged.values()]
      .filter((r) => r.createdMs < createdBeforeMs)
      .sort((a, b) => a.createdMs - b.createdMs || (a.key < b.key ? -1 : 1))
      .slice(0, limit);
  }

  getConflict(id: string): FeedRecord | undefined {
    const v = this.#tx?.feed.get(id);
    if (v !== undefined) return v === DELETED ? undefined : v;
    return this.#feed.get(id);
  }

  putConflict(record: FeedRecord): void {
    this.#open().feed.set(record.entry.id, this.#stored(record));
  }

  removeConflict(id: string): void {
    this.#open().feed.set(id, DELETED);
  }

  conflictsAfter(afterSeq: number, limit: number, table?: string): FeedRecord[] {
    const merged = new Map(this.#feed);
    for (const [k, v] of this.#tx?.feed ?? []) {
      if (v === DELETED) merged.delete(k);
      else merged.set(k, v);
    }
    return [...merged.values()]
      .filter((r) => r.seq > afterSeq && (table === undefined || r.entry.table === table))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit);
  }

  getAux(ns: string, key: string): unknown {
    const k = `${ns}\u0000${key}`;
    const tx = this.#tx;
    if (tx !== null && tx.aux.has(k)) {
      const v = tx.aux.get(k);
      return v === DELETED ? undefined : v;
    }
    return this.#aux.get(k);
  }

  putAux(ns: string, key: string, value: unknown): void {
    this.#open().aux.set(`${ns}\u0000${key}`, value === undefined ? DELETED : this.#stored(value));
  }

  scanAux(ns: string, after: string, limit: number): Array<readonly [string, unknown]> {
    const prefix = `${ns}\u0000`;
    const merged = new Map<string, unknown>();
    for (const [k, v] of this.#aux) if (k.startsWith(prefix)) merged.set(k.slice(prefix.length), v);
    for (const [k, v] of this.#tx?.aux ?? []) {
      if (!k.startsWith(prefix)) continue;
      if (v === DELETED) merged.delete(k.slice(prefix.length));
      else merged.set(k.slice(prefix.length), v);
    }
    return [...merged.keys()]
      .filter((k) => compareKeys(k, after) > 0)
      .sort(compareKeys)
      .slice(0, limit)
      .map((k) => [k, merged.get(k)] as const);
  }

  /** Every stored row of every table, committed state only (for digests and checkers). */
  allRows(): Array<readonly [string, string, RowRecord]> {
    const out: Array<readonly [string, string, RowRecord]> = [];
    for (const table of [...this.#rows.keys()].sort()) {
      const rows = this.#rows.get(table) as Map<string, RowRecord>;
      for (const key of [...rows.keys()].sort()) out.push([table, key, rows.get(key) as RowRecord]);
    }
    return out;
  }

  /** Every idempotency record, committed state only, sorted by key. */
  allIdem(): IdemRecord[] {
    return [...this.#idem.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

