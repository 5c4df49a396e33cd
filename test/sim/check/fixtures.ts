/**
 * Terse builders for ops, policies, histories and run records, for the checker tests.
 * `op('us-east', 3, { deps: { 'eu-west': 2 }, wall: 10, set: { a: 1 } })` is the third op of
 * us-east, which saw eu-west's first two ops (deps[origin] = seq − 1 is filled in).
 */
import type { Hlc } from '../../../src/core/clock/hlc.js';
import { vectorFrom, type Dot, type VersionVector } from '../../../src/core/clock/version-vector.js';
import type { MergeRegistry } from '../../../src/core/crdt/merge-registry.js';
import type { ErrorCode } from '../../../src/core/errors.js';
import type { TablePolicy } from '../../../src/core/schema/policy.js';
import { canonicalJson, type JsonScalar, type JsonValue } from '../../../src/core/util/json.js';
import { hash64 } from '../../../src/core/util/hash.js';
import type { ClientCall, FinalRegionState, HistoryEvent, ReadAck, RunRecord, WriteAck, WriteBody } from '../../../src/sim/history.js';
import { referenceConflicts, referenceTable } from '../../../src/sim/check/reference.js';
import type { Consistency } from '../../../src/core/model/consistency.js';
import type { FieldChange, Op } from '../../../src/core/model/op.js';
import type { RowView } from '../../../src/core/model/row-view.js';

export const US = 'us-east';
export const EU = 'eu-west';
export const AP = 'ap-south';

export interface OpSpec {
  readonly deps?: Record<string, number>;
  readonly wall?: number;
  readonly logical?: number;
  readonly node?: string;
  readonly table?: string;
  readonly key?: string;
  readonly set?: Record<string, JsonValue>;
  readonly unset?: readonly string[];
  readonly incr?: Record<string, number>;
  readonly add?: Record<string, readonly JsonScalar[]>;
  readonly remove?: Record<string, readonly JsonScalar[]>;
  /** A delete instead of a write. */
  readonly del?: boolean;
  /** An idempotency stamp; copies share key and digest. */
  readonly idem?: { readonly key: string; readonly digest?: string };
}

function changesOf(s: OpSpec): Record<string, FieldChange> {
  const out: Record<string, FieldChange> = {};
  for (const [f, value] of Object.entries(s.set ?? {})) out[f] = { k: 'set', value };
  for (const f of s.unset ?? []) out[f] = { k: 'unset' };
  for (const [f, delta] of Object.entries(s.incr ?? {})) out[f] = { k: 'incr', delta };
  for (const [f, elems] of Object.entries(s.add ?? {})) out[f] = { k: 'add', elems };
  for (const [f, elems] of Object.entries(s.remove ?? {})) out[f] = { k: 'remove', elems };
  const sorted: Record<string, FieldChange> = {};
  for (const f of Object.keys(out).sort()) sorted[f] = out[f] as FieldChange;
  return sorted;
}

/** The seq-th op of `origin`. Defaults: table 't', key 'k', wall = seq, node = origin. */
export function op(origin: string, seq: number, s: OpSpec = {}): Op {
  const dot = { origin, seq };
  const hlc: Hlc = { wall: s.wall ?? seq, logical: s.logical ?? 0, node: s.node ?? origin };
  const base = {
    dot,
    hlc,
    deps: vectorFrom({ ...s.deps, [origin]: seq - 1 }),
    table: s.table ?? 't',
    key: s.key ?? 'k',
    kind: s.del ? ('delete' as const) : ('write' as const),
    changes: s.del ? {} : changesOf(s),
  };
  if (s.idem === undefined) return base;
  return { ...base, idem: { key: s.idem.key, digest: s.idem.digest ?? 'digest', result: { dot, row: null } } };
}

export function policy(p: Partial<TablePolicy> = {}): TablePolicy {
  return { mode: 'async', fields: {}, ownership: 'multi-writer', home: null, onDeleteUpdate: 'delete-wins', unique: [], tombstoneRetentionMs: 0, residency: null, whenIsolated: 'accept', undeclaredFields: 'lww', ...p };
}

export function row(key: string, fields: Record<string, JsonValue>, version: string): RowView {
  return { key, fields, version };
}

/** The vector that covers every op in `ops` (the ledger's top seq per origin). */
export function fullVector(ops: readonly Op[]): VersionVector {
  const v: Record<string, number> = {};
  for (const o of ops) v[o.dot.origin] = Math.max(v[o.dot.origin] ?? 0, o.dot.seq);
  return vectorFrom(v);
}

/** Builds a history: ids and times count up unless given. */
export class History {
  readonly events: HistoryEvent[] = [];
  #id = 0;
  #time = 0;

  #at(at: number | undefined): number {
    this.#time = at ?? this.#time + 1;
    return this.#time;
  }

  invoke(process: number, region: string, call: ClientCall, o: { session?: VersionVector; retryOf?: number; at?: number } = {}): number {
    const id = ++this.#id;
    const base = { type: 'invoke' as const, id, process, region, timeMs: this.#at(o.at), call, session: o.session ?? {} };
    this.events.push(o.retryOf === undefined ? base : { ...base, retryOf: o.retryOf });
    return id;
  }

  ok(id: number, result: WriteAck | ReadAck, at?: number): this {
    this.events.push({ type: 'ok', id, timeMs: this.#at(at), result });
    return this;
  }

  fail(id: number, code: ErrorCode, at?: number): this {
    this.events.push({ type: 'fail', id, timeMs: this.#at(at), code });
    return this;
  }

  info(id: number, at?: number): this {
    this.events.push({ type: 'info', id, timeMs: this.#at(at), reason: 'timeout' });
    return this;
  }

  /** An acknowledged write (invoke + ok) of `body` that became op `dot`. Returns the invoke id. */
  write(process: number, region: string, target: { table?: string; key?: string; body: WriteBody; idempotencyKey?: string }, dot: Dot, o: { at?: number; okAt?: number; session?: VersionVector; retryOf?: number } = {}): number {
    const call: ClientCall = { f: 'write', table: target.table ?? 't', key: target.key ?? 'k', body: target.body, ...(target.idempotencyKey === undefined ? {} : { idempotencyKey: target.idempotencyKey }) };
    const id = this.invoke(process, region, call, o);
    this.ok(id, { kind: 'write', dot, row: null, token: { [dot.origin]: dot.seq } }, o.okAt);
    return id;
  }

  /** An acknowledged delete. */
  del(process: number, region: string, target: { table?: string; key?: string }, dot: Dot, o: { at?: number; okAt?: number; session?: VersionVector } = {}): number {
    const id = this.invoke(process, region, { f: 'delete', table: target.table ?? 't', key: target.key ?? 'k' }, o);
    this.ok(id, { kind: 'write', dot, row: null, token: { [dot.origin]: dot.seq } }, o.okAt);
    return id;
  }

  /** An ok read that saw exactly the ops ≤ `vector` and returned `row`. */
  read(
    process: number,
    region: string,
    target: { table?: string; key?: string; consistency?: Consistency; maxStalenessMs?: number },
    vector: VersionVector,
    result: RowView | null,
    o: { at?: number; okAt?: number; session?: VersionVector } = {},
  ): number {
    const call: ClientCall = {
      f: 'read',
      table: target.table ?? 't',
      key: target.key ?? 'k',
      consistency: target.consistency ?? 'eventual',
      ...(target.maxStalenessMs === undefined ? {} : { maxStalenessMs: target.maxStalenessMs }),
    };
    const id = this.invoke(process, region, call, o);
    this.ok(id, { kind: 'read', row: result, vector, token: vector }, o.okAt);
    return id;
  }
}

export function runRecord(r: Partial<RunRecord> = {}): RunRecord {
  return {
    regions: [US, EU],
    tables: { t: policy() },
    mergeFunctions: {},
    history: [],
    ledger: [],
    finals: [],
    clocks: { maxClockOffsetMs: 250, offsetExceeded: [] },
    hlcTrace: {},
    ...r,
  };
}

/** What a correct region would hold at `vector`, computed with the reference model. */
export function finalOf(run: RunRecord, region: string, vector: VersionVector = fullVector(run.ledger)): FinalRegionState {
  const ops = run.ledger.filter((o) => (vector[o.dot.origin] ?? 0) >= o.dot.seq);
  const rows: Record<string, RowView[]> = {};
  for (const [table, p] of Object.entries(run.tables)) {
    if (p.mode === 'async') rows[table] = [...referenceTable(ops, table, p, run.mergeFunctions).values()];
  }
  const conflicts = referenceConflicts(ops, run.tables, run.mergeFunctions);
  return { region, vector, rows, conflicts, stateDigest: hash64(canonicalJson({ rows, conflicts })) };
}

/** `run` with a correct, converged final state for every region. */
export function healed(run: RunRecord): RunRecord {
  return { ...run, finals: run.regions.map((r) => finalOf(run, r)) };
}

/** A merge registry for tests: `siblings` returns its input, so a test sees exactly what was passed. */
export const testMerges: MergeRegistry = {
  siblings: (xs) => [...xs],
  max: (xs) => xs.reduce<JsonValue>((a, b) => (typeof a === 'number' && typeof b === 'number' && b > a ? b : a), xs[0] ?? null),
};
