/**
 * The coverage marks of one region-world run (sweep.ts lists them): how often the interesting
 * things happened. A green sweep in which no lease moved, no write was fenced and no node paused
 * would prove little.
 */
import type { RegionSimulationResult } from './run.js';

export function regionCoverage(r: Pick<RegionSimulationResult, 'stats' | 'record'>): Record<string, number> {
  const s = r.stats;
  let fencedRefusals = 0;
  let notReady = 0;
  for (const e of r.record.async.history) {
    if (e.type !== 'fail') continue;
    if (e.code === 'FENCED') fencedRefusals++;
    else if (e.code === 'NOT_READY') notReady++;
  }
  return {
    ...s.metrics,
    takeovers: s.takeovers,
    leaseGrants: s.leaseGrants,
    guardedAcks: s.guardedAcks,
    fencedRefusals,
    notReady,
    pauses: s.pauses,
    clockJumps: s.clockJumps,
    crashes: s.crashes,
    partitions: s.partitions,
    elections: s.elections,
    infos: s.infos,
  };
}
