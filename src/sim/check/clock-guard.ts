/**
 * The clock-guard checker: a node whose wall clock is pushed beyond maxClockOffsetMs (a jump, and
 * back later) stops taking writes once it had a short grace to notice (a few clock probes), until
 * its clock is back. For each such jump of node X, over [jump + grace, back]:
 * - X's stage is only ever `catching-up` (its offsets forgotten, not yet measured again) or
 *   `fenced` for the clock (or X is down or paused);
 * - X acknowledges no write admitted then;
 * - no op X created then carries an HLC more than the bound ahead of true time (its skewed clock
 *   leaked into data).
 */
import type { ClockJump, RegionFacts, StageMark } from '../region/record.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { groupBy } from './group.js';

export const clockGuardName = 'clock-guard';

type ClockFacts = Pick<RegionFacts, 'maxClockOffsetMs' | 'clockGraceMs' | 'clockJumps' | 'stages' | 'served' | 'created'>;

const quietStages = new Set(['catching-up', 'down', 'paused']);

/** The node's stages over [from, to]: the one it was in at `from`, and every change until `to`. */
function stagesIn(marks: readonly StageMark[], from: number, to: number): StageMark[] {
  const out: StageMark[] = [];
  let before: StageMark | undefined;
  for (const m of marks) {
    if (m.timeMs <= from) before = m;
    else if (m.timeMs <= to) out.push(m);
  }
  return before === undefined ? out : [before, ...out];
}

function describe(j: ClockJump): string {
  return `${j.region}'s clock ${j.offsetMs > 0 ? '+' : ''}${Math.round(j.offsetMs)} ms off from ${j.fromMs.toFixed(0)} to ${j.toMs.toFixed(0)} ms`;
}

export function checkClockGuard(facts: ClockFacts): CheckerVerdict {
  const f = new Findings();
  const marksByRegion = groupBy(facts.stages, (m) => m.region);
  for (const j of facts.clockJumps) {
    const from = j.fromMs + facts.clockGraceMs;
    if (j.toMs <= from) continue;
    f.examined();
    for (const m of stagesIn(marksByRegion.get(j.region) ?? [], from, j.toMs)) {
      if (quietStages.has(m.stage) || (m.stage === 'fenced' && m.reason === 'clock')) continue;
      f.violation(`${describe(j)}: it was ${m.stage}${m.reason === null ? '' : ` (${m.reason})`} at ${Math.max(m.timeMs, from).toFixed(1)} ms, past the ${facts.clockGraceMs} ms grace`);
      break;
    }
    for (const s of facts.served) {
      if (s.region !== j.region || s.access !== 'write' || s.admittedMs < from || s.admittedMs > j.toMs) continue;
      f.violation(`${describe(j)}: it acknowledged a write (${s.what}) admitted at ${s.admittedMs.toFixed(1)} ms`);
    }
    for (const c of facts.created) {
      if (c.region !== j.region || c.timeMs < from || c.timeMs > j.toMs || Math.abs(c.hlcAheadMs) <= facts.maxClockOffsetMs) continue;
      f.violation(`${describe(j)}: op ${c.dot.origin}.${c.dot.seq} created at ${c.timeMs.toFixed(1)} ms carries an HLC ${Math.round(c.hlcAheadMs)} ms off true time`);
    }
  }
  return f.verdict(clockGuardName);
}
