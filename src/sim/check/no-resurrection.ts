/**
 * No resurrection: a row that has been deleted is visible (to an ok read, or in a final state)
 * only if a write the observer has applied survives the deletes it has applied, under the table's
 * onDeleteUpdate. Under delete-wins that means a write made after seeing every delete.
 */
import type { VersionVector } from '../../core/clock/version-vector.js';
import type { OnDeleteUpdate } from '../../core/schema/policy.js';
import type { RunRecord } from '../history.js';
import { callsOf, fmtCall, isAsyncTable, readAckOf, readCallOf } from './calls.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtDot, fmtVector } from './format.js';
import { LedgerModel, rowChangingOps } from './ledger-model.js';
import { isKilled, opOrder } from './reference.js';
import type { Op } from '../../core/model/op.js';

export const noResurrectionName = 'no-resurrection';

export function checkNoResurrection(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  const model = new LedgerModel(run);
  const deleted = deletedRows(run);
  for (const call of callsOf(run.history)) {
    const read = readCallOf(call);
    const ack = readAckOf(call);
    if (read === null || ack === null || ack.row === null || read.consistency === 'strong') continue;
    const rule = deleted.get(rowId(read.table, read.key));
    if (rule === undefined) continue;
    f.examined();
    const why = resurrection(model, read.table, read.key, ack.vector, rule);
    if (why !== null) f.violation(`row ${read.table}/${read.key} came back after delete (${why}): ${fmtCall(call)} read it at vector ${fmtVector(ack.vector)}`);
  }
  for (const final of run.finals) {
    for (const [table, rows] of Object.entries(final.rows)) {
      for (const row of rows) {
        const rule = deleted.get(rowId(table, row.key));
        if (rule === undefined) continue;
        f.examined();
        const why = resurrection(model, table, row.key, final.vector, rule);
        if (why !== null) f.violation(`row ${table}/${row.key} came back after delete (${why}): region ${final.region} shows it in its final state at ${fmtVector(final.vector)}`);
      }
    }
  }
  return f.verdict(noResurrectionName);
}

const rowId = (table: string, key: string): string => table + '\u0000' + key;

/** Rows of async tables with a delete in the ledger, with their table's rule. */
function deletedRows(run: RunRecord): Map<string, OnDeleteUpdate> {
  const out = new Map<string, OnDeleteUpdate>();
  for (const op of rowChangingOps(run)) {
    const policy = run.tables[op.table];
    if (op.kind === 'delete' && policy !== undefined && isAsyncTable(run, op.table)) out.set(rowId(op.table, op.key), policy.onDeleteUpdate);
  }
  return out;
}

/** Why the row may not be visible at `vector`, or null when some applied write survives. */
function resurrection(model: LedgerModel, table: string, key: string, vector: VersionVector, rule: OnDeleteUpdate): string | null {
  // Orphan reports change no row (replica/orphans.ts).
  const applied = model.opsAt(vector, table).filter((o) => o.key === key && o.orphaned === undefined);
  const deletes = applied.filter((o) => o.kind === 'delete');
  const writes = applied.filter((o) => o.kind === 'write');
  if (writes.some((w) => !isKilled(w, deletes, rule))) return null;
  // Name the latest delete the observer applied (or, if it applied none, the latest in the ledger).
  const d = latest(deletes) ?? latest(model.opsOfRow(table, key).filter((o) => o.kind === 'delete'));
  const where = d === undefined ? 'a delete' : fmtDot(d.dot);
  return writes.length === 0 ? `${where}; no write of it is applied` : `${where}; all ${writes.length} applied writes are killed under ${rule}`;
}

function latest(ops: readonly Op[]): Op | undefined {
  return [...ops].sort((a, b) => opOrder(a, b)).pop();
}
