/**
 * HLC monotonicity: each region's clock never goes backwards (across crashes too); each origin
 * stamps its ops with strictly increasing HLCs in seq order; and an op's HLC exceeds the HLC of
 * every op it depends on (a → b implies hlc(a) < hlc(b), which LWW relies on).
 */
import { compareHlc, formatHlc } from '../../core/clock/hlc.js';
import type { RunRecord } from '../history.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtDot } from './format.js';
import { LedgerModel } from './ledger-model.js';
import { groupBy } from './group.js';
import type { Op } from '../../core/model/op.js';

export const hlcName = 'hlc';

export function checkHlc(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  checkTraces(run, f);
  checkOrigins(run, f);
  checkDeps(run, f);
  return f.verdict(hlcName);
}

function checkTraces(run: RunRecord, f: Findings): void {
  for (const region of Object.keys(run.hlcTrace).sort()) {
    const trace = run.hlcTrace[region] ?? [];
    f.examined(trace.length);
    for (let i = 1; i < trace.length; i++) {
      const prev = trace[i - 1];
      const cur = trace[i];
      if (prev && cur && compareHlc(cur, prev) < 0) f.violation(`region ${region}: HLC went backwards at step ${i}: ${formatHlc(prev)} then ${formatHlc(cur)}`);
    }
  }
}

function checkOrigins(run: RunRecord, f: Findings): void {
  for (const [origin, ops] of groupBy(run.ledger, (op) => op.dot.origin)) {
    const sorted = [...ops].sort((a, b) => a.dot.seq - b.dot.seq);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as Op;
      const cur = sorted[i] as Op;
      if (compareHlc(cur.hlc, prev.hlc) <= 0) f.violation(`origin ${origin}: op ${fmtDot(cur.dot)} has HLC ${formatHlc(cur.hlc)}, not above ${formatHlc(prev.hlc)} of ${fmtDot(prev.dot)}`);
    }
  }
}

function checkDeps(run: RunRecord, f: Findings): void {
  const model = new LedgerModel(run);
  for (const op of run.ledger) {
    f.examined();
    for (const [origin, seq] of Object.entries(op.deps)) {
      const dep = seq > 0 ? model.op({ origin, seq }) : undefined;
      if (dep !== undefined && compareHlc(op.hlc, dep.hlc) <= 0) {
        f.violation(`op ${fmtDot(op.dot)} has HLC ${formatHlc(op.hlc)}, not above ${formatHlc(dep.hlc)} of ${fmtDot(dep.dot)}, which it depends on`);
      }
    }
  }
}
