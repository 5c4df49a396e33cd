/**
 * Session guarantees, per process (a client with its own session), for ok reads at 'session' or
 * 'causal' consistency: the read's vector is at least the session token the client sent
 * (token-carried read-your-writes), covers every write the process had acknowledged before it
 * (read-your-writes), and is at least the vector of its previous such reads (monotonic reads).
 */
import { covers, dominates, type Dot, type VersionVector } from '../../core/clock/version-vector.js';
import type { RunRecord } from '../history.js';
import { callsOf, fmtCall, isAsyncTable, readAckOf, readCallOf, writeAckOf, type Call } from './calls.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtDot, fmtVector } from './format.js';
import { groupBy } from './group.js';

export const sessionsName = 'sessions';

interface Seen<T> {
  readonly call: Call;
  readonly value: T;
}

export function checkSessions(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  for (const calls of groupBy(callsOf(run.history), (c) => c.invoke.process).values()) checkProcess(run, calls, f);
  return f.verdict(sessionsName);
}

function checkProcess(run: RunRecord, calls: readonly Call[], f: Findings): void {
  const writes: Seen<Dot>[] = [];
  const reads: Seen<VersionVector>[] = [];
  // Only what completed before this call began counts as "earlier" (history positions are real time).
  const before = <T>(list: readonly Seen<T>[], call: Call): Seen<T>[] => list.filter((s) => s.call.completedAt < call.invokeAt);
  for (const call of calls) {
    const c = call.invoke.call;
    const wack = writeAckOf(call);
    if (c.f !== 'read' && wack !== null && isAsyncTable(run, c.table)) writes.push({ call, value: wack.dot });
    const read = readCallOf(call);
    const ack = readAckOf(call);
    if (read === null || ack === null || (read.consistency !== 'session' && read.consistency !== 'causal') || !isAsyncTable(run, read.table)) continue;
    f.examined();
    const what = `${fmtCall(call)} ${read.consistency} read of ${read.table}/${read.key} at vector ${fmtVector(ack.vector)}`;
    if (!dominates(ack.vector, call.invoke.session)) f.violation(`${what} is below the session token it sent ${fmtVector(call.invoke.session)}`);
    for (const w of before(writes, call)) {
      if (!covers(ack.vector, w.value)) f.violation(`${what} misses the process's own earlier write ${fmtDot(w.value)} (op ${w.call.id}): read-your-writes`);
    }
    for (const r of before(reads, call)) {
      if (!dominates(ack.vector, r.value)) f.violation(`${what} is not at least the vector ${fmtVector(r.value)} of its earlier read op ${r.call.id}: monotonic reads`);
    }
    reads.push({ call, value: ack.vector });
  }
}
