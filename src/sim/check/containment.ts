/**
 * The fault-containment checker (a fault stays where it happened: docs/internals/failover.md,
 * "Readiness is about oneself"). A region leaves `write-ready` only for its own reasons: its lease,
 * its clock, its own catch-up after a restart or a heal, a drain. So a region with no fault of its
 * own (record.ts, `Affliction`: down, paused, cut off, its clock set, or no quorum of live regions
 * with good clocks within reach) must never be demoted to a stage that refuses writes for its data
 * or its clock (`catching-up`, `read-ready`, `fenced (clock)`) because another region crashed,
 * paused, was cut off or had a bad clock, except while it catches up after a fault of its own
 * (`excusedUntil`). Judged over the fault phase, from the moment the region was first write-ready
 * (starting up is its own catch-up). `fenced (lease)` is not judged here: a lease needs a quorum of
 * the strong group, which message loss can legitimately delay.
 */
import type { Affliction, RegionFacts, StageMark } from '../region/record.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { groupBy } from './group.js';

export const containmentName = 'fault-containment';

type ContainmentFacts = Pick<RegionFacts, 'regions' | 'stages' | 'afflictions' | 'settleMs' | 'faultsEndMs'>;

function demoted(m: StageMark): boolean {
  return m.stage === 'catching-up' || m.stage === 'read-ready' || (m.stage === 'fenced' && m.reason === 'clock');
}

/**
 * Until when a fault of the region's own excuses its demotions: its catch-up after the fault ends
 * when it has been write-ready for `settleMs` without a break (however long others' faults made
 * the catch-up take: a region that restarted cannot know what it missed from regions that were
 * paused or cut off meanwhile), and lasts at least `settleMs` after the fault.
 */
function excusedUntil(a: Affliction, marks: readonly StageMark[], settleMs: number, endMs: number): number {
  let upSince: number | null = null;
  for (const m of marks) {
    if (m.timeMs <= a.toMs) {
      upSince = m.stage === 'write-ready' ? a.toMs : null;
      continue;
    }
    if (upSince !== null && m.timeMs - upSince >= settleMs) break;
    upSince = m.stage === 'write-ready' ? (upSince ?? m.timeMs) : null;
  }
  return Math.max(a.toMs + settleMs, upSince ?? endMs);
}

export function checkContainment(facts: ContainmentFacts): CheckerVerdict {
  const f = new Findings();
  const marksByRegion = groupBy(facts.stages, (m) => m.region);
  const afflictionsByRegion = groupBy(facts.afflictions, (a) => a.region);
  for (const region of facts.regions) {
    const marks = marksByRegion.get(region) ?? [];
    const excuses = (afflictionsByRegion.get(region) ?? []).map((a) => ({ fromMs: a.fromMs, toMs: excusedUntil(a, marks, facts.settleMs, facts.faultsEndMs) }));
    const firstReady = marks.findIndex((m) => m.stage === 'write-ready');
    if (firstReady < 0) continue;
    for (let i = firstReady + 1; i < marks.length; i++) {
      const m = marks[i] as StageMark;
      if (m.timeMs >= facts.faultsEndMs) break;
      f.examined();
      if (!demoted(m)) continue;
      // The demotion lasts until the next mark (or the end of the fault phase); judge every moment
      // of it that no fault of its own excuses.
      const until = Math.min((marks[i + 1] as StageMark | undefined)?.timeMs ?? facts.faultsEndMs, facts.faultsEndMs);
      let at = m.timeMs;
      for (let e = excuses.find((x) => x.fromMs <= at && x.toMs > at); e !== undefined && at < until; e = excuses.find((x) => x.fromMs <= at && x.toMs > at)) at = e.toMs;
      if (at >= until) continue;
      const since = Math.max(0, ...excuses.filter((x) => x.toMs <= at).map((x) => x.toMs));
      f.violation(`${region} was ${m.stage}${m.reason === null ? '' : ` (${m.reason})`} at ${at.toFixed(1)} ms with no fault of its own since ${since.toFixed(0)} ms (another region's fault demoted it)`);
    }
  }
  return f.verdict(containmentName);
}
