/**
 * Bounded history (docs/internals/replication.md, "Bounded history"): while a region is away, the
 * others' logs hold no more than what they wrote in the last retention window, plus the time an
 * eviction takes to be decided and collected (`slackMs`), plus a constant. Without eviction a log
 * holds everything written since the region left, and grows past this bound in a long absence.
 * Reads the eviction scenario's samples (region/world.ts): members' `logBytes` over time, and what
 * the members created, cumulatively, in the same measure (approxOpBytes).
 */
import type { RegionRunRecord } from '../region/record.js';
import { Findings, type CheckerVerdict } from './findings.js';

export const logBoundName = 'log-bound';

/** Deciding an eviction (a proposal, every member's acknowledgement) and collecting below the new stable point. */
export const evictionSlackMs = 1_000;
/** Ops in flight, unstable ones, and rounding: a constant allowance. */
const marginBytes = 64 * 1024;

/** What the members created in (fromMs, toMs], by the samples of the cumulative total. */
function createdBetween(created: ReadonlyArray<readonly [number, number]>, fromMs: number, toMs: number): number {
  const at = (t: number): number => {
    let v = 0;
    for (const [ms, bytes] of created) {
      if (ms > t) break;
      v = bytes;
    }
    return v;
  };
  return at(toMs) - at(fromMs);
}

export function checkLogBound(record: Pick<RegionRunRecord, 'eviction'>): CheckerVerdict {
  const f = new Findings();
  const e = record.eviction;
  if (e === undefined) return f.verdict(logBoundName);
  if (!e.evicted) {
    // Only a majority of members, together and settled, for the window and the time to decide it, can evict the region.
    const neededMs = e.windowMs + (e.settleMs ?? 0) + evictionSlackMs;
    const quorumMs = e.membersQuorumMs ?? e.absentUntilMs - e.absentFromMs;
    if (quorumMs >= neededMs) f.violation(`region ${e.region} was away for ${e.absentUntilMs - e.absentFromMs} ms, past the ${e.windowMs} ms window, and was never evicted (the members kept a majority together for ${quorumMs} ms of it)`);
    else f.note(`region ${e.region} was away for ${e.absentUntilMs - e.absentFromMs} ms and never evicted: the members kept a majority together for at most ${quorumMs} ms of it (faults), less than the ${neededMs} ms needed to judge it gone and evict it`);
  }
  let worst: { atMs: number; region: string; logBytes: number; bound: number } | null = null;
  for (const s of e.samples) {
    f.examined();
    const bound = createdBetween(e.created, s.atMs - e.windowMs - evictionSlackMs, s.atMs) + marginBytes;
    if (s.logBytes > bound && (worst === null || s.logBytes - bound > worst.logBytes - worst.bound)) worst = { ...s, bound };
  }
  if (worst !== null) {
    f.violation(`region ${worst.region}'s logs held ${worst.logBytes} bytes at ${worst.atMs} ms with ${e.region} away since ${e.absentFromMs} ms: more than the ${worst.bound} bytes written in the last ${e.windowMs} ms window (+${evictionSlackMs} ms to evict, +${marginBytes} bytes)`);
  }
  return f.verdict(logBoundName);
}
