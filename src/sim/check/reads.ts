/**
 * Reads: every ok read returned exactly the reference row at the vector it reports (the ops it
 * saw), and that vector covers only ops some region committed. Strong reads are not served from
 * a replica's async state and are skipped.
 */
import { canonicalJson } from '../../core/util/json.js';
import type { RunRecord } from '../history.js';
import { callsOf, fmtCall, isAsyncTable, readAckOf, readCallOf } from './calls.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtJson, fmtVector } from './format.js';
import { LedgerModel } from './ledger-model.js';

export const readsName = 'reads';

export function checkReads(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  const model = new LedgerModel(run);
  for (const call of callsOf(run.history)) {
    const read = readCallOf(call);
    const ack = readAckOf(call);
    if (read === null || ack === null || read.consistency === 'strong' || !isAsyncTable(run, read.table)) continue;
    f.examined();
    const what = `${fmtCall(call)} read ${read.table}/${read.key} (${read.consistency}) at vector ${fmtVector(ack.vector)}`;
    const future = model.describeMissing(ack.vector);
    if (future !== null) {
      f.violation(`${what}: the vector ${future}`);
      continue;
    }
    const expected = model.rowAt(read.table, read.key, ack.vector);
    if (canonicalJson(ack.row) === canonicalJson(expected)) continue;
    if (expected === null) f.violation(`${what}: returned ${fmtJson(ack.row)} but the reference has no such row`);
    else if (ack.row === null) f.violation(`${what}: returned no row but the reference has ${fmtJson(expected)}`);
    else f.violation(`${what}: returned ${fmtJson(ack.row)} but the reference has ${fmtJson(expected)}`);
  }
  return f.verdict(readsName);
}
