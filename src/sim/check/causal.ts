/**
 * Causal consistency. Every read, of any table, must have been served from a causally closed
 * state: its vector must include the dependencies of every op it includes (no effect without its
 * cause). On the `comments` table, data-level: a row whose fields include a string `parent` is a
 * reply to the row with that key. A read that shows a reply must have applied the parent's
 * creation (the reply's author saw it), and a process that saw a reply and then reads the parent
 * (causal or session) must find it, unless the parent was deleted.
 */
import { rowChangingOps } from './ledger-model.js';
import { covers, type VersionVector } from '../../core/clock/version-vector.js';
import type { RunRecord } from '../history.js';
import { callsOf, fmtCall, readAckOf, readCallOf, type Call } from './calls.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtDot, fmtVector } from './format.js';
import { happenedBefore, opOrder } from './reference.js';
import { groupBy } from './group.js';
import type { Op } from '../../core/model/op.js';
import type { RowView } from '../../core/model/row-view.js';

export const causalName = 'causal';
export const commentsTable = 'comments';

export function checkCausal(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  checkClosedVectors(run, f);
  if (run.tables[commentsTable] === undefined) return f.verdict(causalName);
  const ops = rowChangingOps(run).filter((o) => o.table === commentsTable);
  const calls = callsOf(run.history);
  for (const call of calls) {
    const ack = readAckOf(call);
    const read = readCallOf(call);
    const parent = parentOf(ack?.row ?? null);
    if (read?.table !== commentsTable || ack === null || parent === null) continue;
    f.examined();
    checkParentApplied(ops, call, read.key, parent, ack.vector, f);
  }
  for (const calls2 of byProcess(calls).values()) checkNextRead(ops, calls2, f);
  return f.verdict(causalName);
}

/**
 * Every read's vector is causally closed: the last op it includes from each origin has all its
 * dependencies included too (ops of one origin depend on their predecessors, so the last suffices).
 */
function checkClosedVectors(run: RunRecord, f: Findings): void {
  const byDot = new Map(rowChangingOps(run).map((o) => [`${o.dot.origin}:${o.dot.seq}`, o]));
  for (const call of callsOf(run.history)) {
    const ack = readAckOf(call);
    if (ack === null) continue;
    f.examined();
    for (const [origin, seq] of Object.entries(ack.vector)) {
      const last = byDot.get(`${origin}:${seq}`);
      if (last === undefined) continue; // the reads checker reports vectors covering unknown ops
      const missing = Object.entries(last.deps).find(([o, s]) => (ack.vector[o] ?? 0) < s);
      if (missing !== undefined) {
        f.violation(`${fmtCall(call)} was served at ${fmtVector(ack.vector)}, which includes ${fmtDot(last.dot)} but not its cause ${missing[0]}:${missing[1]}`);
        break;
      }
    }
  }
}

function parentOf(row: RowView | null): string | null {
  const p = row?.fields['parent'];
  return typeof p === 'string' ? p : null;
}

function byProcess(calls: readonly Call[]): Map<number, Call[]> {
  return groupBy(
    calls.filter((c) => c.invoke.call.f === 'read'),
    (c) => c.invoke.process,
  );
}

/**
 * The parent write the read must have applied: the first (least HLC) write of the parent key
 * among those the reply's applied `parent`-setting ops depend on — what its author saw. If the
 * author saw none, the parent key's first write overall.
 */
function requiredParentWrite(ops: readonly Op[], replyKey: string, parent: string, vector: VersionVector): Op | undefined {
  const parentWrites = ops.filter((o) => o.key === parent && o.kind === 'write').sort((a, b) => opOrder(a, b));
  const replyOps = ops.filter((o) => o.key === replyKey && covers(vector, o.dot) && o.changes['parent']?.k === 'set');
  const seen = parentWrites.filter((p) => replyOps.some((r) => happenedBefore(p, r)));
  return seen[0] ?? parentWrites[0];
}

function checkParentApplied(ops: readonly Op[], call: Call, replyKey: string, parent: string, vector: VersionVector, f: Findings): void {
  const what = `${fmtCall(call)} read reply ${commentsTable}/${replyKey} (parent ${parent}) at vector ${fmtVector(vector)}`;
  const required = requiredParentWrite(ops, replyKey, parent, vector);
  if (required === undefined) f.violation(`${what}, but no region ever wrote the parent ${commentsTable}/${parent}`);
  else if (!covers(vector, required.dot)) f.violation(`${what} without its comment: the parent's write ${fmtDot(required.dot)} is not applied`);
}

/** A process that saw a reply and next reads its parent (causal or session) must see the parent. */
function checkNextRead(ops: readonly Op[], reads: readonly Call[], f: Findings): void {
  for (let i = 0; i + 1 < reads.length; i++) {
    const first = reads[i] as Call;
    const next = reads[i + 1] as Call;
    const parent = parentOf(readAckOf(first)?.row ?? null);
    const nextRead = readCallOf(next);
    const nextAck = readAckOf(next);
    if (readCallOf(first)?.table !== commentsTable || parent === null || nextRead === null || nextAck === null) continue;
    if (nextRead.table !== commentsTable || nextRead.key !== parent || (nextRead.consistency !== 'causal' && nextRead.consistency !== 'session')) continue;
    if (ops.some((o) => o.key === parent && o.kind === 'delete')) continue;
    f.examined();
    if (nextAck.row === null) f.violation(`${fmtCall(next)} ${nextRead.consistency} read of ${commentsTable}/${parent} found nothing after the process saw its reply in op ${first.id}`);
  }
}
