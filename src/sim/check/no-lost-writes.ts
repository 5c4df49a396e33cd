/**
 * No lost writes: every acknowledged write (or delete) is in the ledger, on the row it was made
 * to, and every region's final vector covers it. A missing final state is a failure here too: an
 * acknowledged write that no final state holds is not known to have survived.
 */
import { covers } from '../../core/clock/version-vector.js';
import type { RunRecord } from '../history.js';
import { callsOf, fmtCall, isAsyncTable, writeAckOf } from './calls.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtDot, fmtVector } from './format.js';
import { LedgerModel } from './ledger-model.js';

export const noLostWritesName = 'no-lost-writes';

export function checkNoLostWrites(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  const model = new LedgerModel(run);
  let acked = 0;
  for (const call of callsOf(run.history)) {
    const c = call.invoke.call;
    const ack = writeAckOf(call);
    if (c.f === 'read' || ack === null || !isAsyncTable(run, c.table)) continue;
    acked++;
    f.examined();
    const what = `${fmtCall(call)} ${c.f} of ${c.table}/${c.key} acknowledged as ${fmtDot(ack.dot)}`;
    const op = model.op(ack.dot);
    if (op === undefined) {
      f.violation(`${what}: no region committed ${fmtDot(ack.dot)} (lost acknowledged write)`);
      continue;
    }
    if (op.table !== c.table || op.key !== c.key) f.violation(`${what}: but ${fmtDot(ack.dot)} in the ledger is on ${op.table}/${op.key}`);
    for (const final of run.finals) {
      if (!covers(final.vector, ack.dot)) f.violation(`${what}: region ${final.region}'s final vector ${fmtVector(final.vector)} does not cover it (lost acknowledged write)`);
    }
  }
  if (acked > 0 && run.finals.length === 0) f.violation(`${acked} acknowledged writes but no final state (heal did not finish): none is known to have survived`);
  return f.verdict(noLostWritesName);
}
