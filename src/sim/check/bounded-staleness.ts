/**
 * Bounded staleness: an ok read with consistency 'bounded' and bound B, invoked at real time T,
 * reflects every write acknowledged at or before T − B. (The invoke time is the conservative
 * choice: the read may have been served as early as its invoke.) Reads whose window overlaps a
 * period when clocks were further apart than allowed are skipped and counted in a note.
 */
import { covers } from '../../core/clock/version-vector.js';
import type { Dot } from '../../core/clock/version-vector.js';
import type { RunRecord } from '../history.js';
import { callsOf, fmtCall, isAsyncTable, okTimeOf, readAckOf, readCallOf, writeAckOf, type Call } from './calls.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtDot, fmtVector } from './format.js';

export const boundedStalenessName = 'bounded-staleness';

interface AckedWrite {
  readonly call: Call;
  readonly dot: Dot;
  readonly okMs: number;
}

export function checkBoundedStaleness(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  const calls = callsOf(run.history);
  const writes = ackedWrites(run, calls);
  let skipped = 0;
  for (const call of calls) {
    const read = readCallOf(call);
    const ack = readAckOf(call);
    const servedMs = okTimeOf(call);
    if (read === null || ack === null || servedMs === null || read.consistency !== 'bounded' || read.maxStalenessMs === undefined) continue;
    if (!isAsyncTable(run, read.table)) continue;
    const horizonMs = call.invoke.timeMs - read.maxStalenessMs;
    if (run.clocks.offsetExceeded.some((w) => w.fromMs <= servedMs && w.toMs >= horizonMs)) {
      skipped++;
      continue;
    }
    f.examined();
    for (const w of writes) {
      if (w.okMs > horizonMs) break;
      if (covers(ack.vector, w.dot)) continue;
      f.violation(
        `${fmtCall(call)} bounded read (max ${read.maxStalenessMs} ms) of ${read.table}/${read.key} invoked at ${call.invoke.timeMs} ms misses write ${fmtDot(w.dot)} (op ${w.call.id}) acknowledged at ${w.okMs} ms; vector ${fmtVector(ack.vector)}`,
      );
    }
  }
  if (skipped > 0) f.note(`${skipped} bounded reads skipped: their window overlaps a period when clock offsets exceeded ${run.clocks.maxClockOffsetMs} ms`);
  return f.verdict(boundedStalenessName);
}

function ackedWrites(run: RunRecord, calls: readonly Call[]): AckedWrite[] {
  const out: AckedWrite[] = [];
  for (const call of calls) {
    const c = call.invoke.call;
    const ack = writeAckOf(call);
    const okMs = okTimeOf(call);
    if (c.f !== 'read' && ack !== null && okMs !== null && isAsyncTable(run, c.table)) out.push({ call, dot: ack.dot, okMs });
  }
  // By ok time, so each read stops at its horizon.
  return out.sort((a, b) => a.okMs - b.okMs);
}
