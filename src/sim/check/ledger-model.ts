/**
 * The ledger indexed for checkers, and the reference model evaluated at a vector (memoized: many
 * reads and final states share vectors).
 */
import type { Dot, VersionVector } from '../../core/clock/version-vector.js';
import { covers, dotKey } from '../../core/clock/version-vector.js';
import { canonicalJson } from '../../core/util/json.js';
import type { RunRecord } from '../history.js';
import { fmtDot } from './format.js';
import { referenceConflicts, referenceRow, referenceTable } from './reference.js';
import type { ConflictEntry } from '../../core/model/conflict.js';
import type { Op } from '../../core/model/op.js';
import type { RowView } from '../../core/model/row-view.js';

/**
 * The ledger's ops that change rows: all but orphan reports (replica/orphans.ts), which every region
 * applies as nothing but a feed entry. Checkers of row contents read these; checkers of dots and
 * clocks read the whole ledger.
 */
export function rowChangingOps(run: Pick<RunRecord, 'ledger'>): readonly Op[] {
  let ops = rowChanging.get(run.ledger);
  if (ops === undefined) {
    ops = run.ledger.some((o) => o.orphaned !== undefined) ? run.ledger.filter((o) => o.orphaned === undefined) : run.ledger;
    rowChanging.set(run.ledger, ops);
  }
  return ops;
}

/** Filtered once per ledger: a dozen checkers ask, some several times. */
const rowChanging = new WeakMap<readonly Op[], readonly Op[]>();

export class LedgerModel {
  readonly run: RunRecord;
  readonly #byDot = new Map<string, Op>();
  readonly #byTable = new Map<string, Op[]>();
  /** Per origin, the largest n such that seqs 1..n are all in the ledger. */
  readonly #contiguous = new Map<string, number>();
  readonly #tables = new Map<string, Map<string, RowView>>();
  readonly #rows = new Map<string, RowView | null>();
  readonly #conflicts = new Map<string, ConflictEntry[]>();

  constructor(run: RunRecord) {
    this.run = run;
    for (const op of run.ledger) {
      const k = dotKey(op.dot);
      if (this.#byDot.has(k)) continue;
      this.#byDot.set(k, op);
      const list = this.#byTable.get(op.table);
      if (list) list.push(op);
      else this.#byTable.set(op.table, [op]);
    }
    const seqs = new Map<string, Set<number>>();
    for (const op of this.#byDot.values()) seqs.set(op.dot.origin, (seqs.get(op.dot.origin) ?? new Set<number>()).add(op.dot.seq));
    for (const [origin, set] of seqs) {
      let n = 0;
      while (set.has(n + 1)) n++;
      this.#contiguous.set(origin, n);
    }
  }

  op(dot: Dot): Op | undefined {
    return this.#byDot.get(dotKey(dot));
  }

  /** Ops of `table` (every table when omitted) that a replica at `vector` has applied. */
  opsAt(vector: VersionVector, table?: string): Op[] {
    const ops = table === undefined ? [...this.#byDot.values()] : (this.#byTable.get(table) ?? []);
    return ops.filter((o) => covers(vector, o.dot));
  }

  /** The row-changing ops of a row (orphan reports change none: rowChangingOps). */
  opsOfRow(table: string, key: string): Op[] {
    return (this.#byTable.get(table) ?? []).filter((o) => o.key === key && o.orphaned === undefined);
  }

  tableAt(table: string, vector: VersionVector): Map<string, RowView> {
    const memo = table + '\u0000' + canonicalJson(vector);
    let rows = this.#tables.get(memo);
    if (rows === undefined) {
      const policy = this.run.tables[table];
      rows = policy === undefined ? new Map() : referenceTable(this.opsAt(vector, table), table, policy, this.run.mergeFunctions);
      this.#tables.set(memo, rows);
    }
    return rows;
  }

  rowAt(table: string, key: string, vector: VersionVector): RowView | null {
    const memo = [table, key, canonicalJson(vector)].join('\u0000');
    let row = this.#rows.get(memo);
    if (row === undefined) {
      const policy = this.run.tables[table];
      row = policy === undefined ? null : referenceRow(this.opsAt(vector, table), table, key, policy, this.run.mergeFunctions);
      this.#rows.set(memo, row);
    }
    return row;
  }

  conflictsAt(vector: VersionVector): ConflictEntry[] {
    const memo = canonicalJson(vector);
    let entries = this.#conflicts.get(memo);
    if (entries === undefined) {
      entries = referenceConflicts(this.opsAt(vector), this.run.tables, this.run.mergeFunctions);
      this.#conflicts.set(memo, entries);
    }
    return entries;
  }

  /**
   * Ops a vector covers that no region committed ("from the future"): for each origin, the first
   * seq in 1..vector[origin] missing from the ledger, or null when the vector is within the ledger.
   */
  firstMissing(vector: VersionVector): Dot | null {
    for (const origin of Object.keys(vector).sort()) {
      const have = this.#contiguous.get(origin) ?? 0;
      if ((vector[origin] ?? 0) > have) return { origin, seq: have + 1 };
    }
    return null;
  }

  describeMissing(vector: VersionVector): string | null {
    const m = this.firstMissing(vector);
    return m === null ? null : `covers ${fmtDot(m)}, which no region committed (read from the future)`;
  }
}
