/**
 * The coverage marks of one run (sweep.ts lists them per workload): how often the interesting
 * things happened. A green sweep in which no lease moved, no write was fenced and no node paused
 * would prove little; nor one of the async workload without a conflict, or of the strong one
 * without an election.
 */
import type { SimWorld } from '../run.js';
import type { RegionSimulationResult } from './run.js';

type Run = Pick<RegionSimulationResult, 'stats' | 'record'>;

export function regionCoverage(r: Run): Record<string, number> {
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

/** The async workload's: the replicas' metrics, and calls of async clients left unknown. */
export function asyncCoverage(r: Run): Record<string, number> {
  const s = r.stats;
  return { ...s.metrics, crashes: s.crashes, partitions: s.partitions, infos: s.infos };
}

/** The strong workload's: the strong nodes' counters, and the strong clients' calls (not the async ones'). */
export function strongCoverage(r: Run): Record<string, number> {
  const s = r.stats;
  return { ...s.metrics, elections: s.elections, crashes: s.crashes, partitions: s.partitions, ops: s.strongOps, oks: s.strongOks, infos: s.strongInfos, idempotentReplays: s.strongReplays };
}

export function coverageOf(world: SimWorld, r: Run): Record<string, number> {
  return world === 'strong' ? strongCoverage(r) : world === 'region' ? regionCoverage(r) : asyncCoverage(r);
}
