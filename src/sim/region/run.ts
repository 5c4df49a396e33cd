/**
 * One simulation of the region world (the simulator's one world): run it from a seed, then check
 * the record with every async checker (over the async and guarded tables), every strong checker
 * (over the strong tables), and the region checkers (fencing, staged rejoin, failover survival,
 * clock guard). The same seed and options always give the same trace hash.
 */
import { checkBank } from '../check/bank.js';
import { checkClockGuard, clockGuardName } from '../check/clock-guard.js';
import { checkContainment, containmentName } from '../check/containment.js';
import { checkFenceVerdicts, fenceVerdictsName } from '../check/fence-verdicts.js';
import { checkFailover, failoverName } from '../check/failover.js';
import { checkFencing, fencingName } from '../check/fencing.js';
import { checkFollowerReads } from '../check/follower-reads.js';
import { runCheckers } from '../check/index.js';
import { checkStages, stagesName } from '../check/stages.js';
import { checkLogBound, logBoundName } from '../check/log-bound.js';
import { faultsText, type FaultKind } from '../faults.js';
import type { Verdict } from '../history.js';
import { checkElectionSafety, checkLinearizableRegisters, checkSameFinalState } from '../strong/checks.js';
import type { RegionRunRecord } from './record.js';
import { RegionWorld, type RegionKnobs, type RegionSimStats } from './world.js';
import type { RegionMix } from './workload.js';

export interface RegionSimulationOptions {
  readonly seed: number;
  readonly regions?: number;
  readonly faults?: readonly FaultKind[];
  readonly mix?: RegionMix;
  readonly durationMs?: number;
  readonly knobs?: RegionKnobs;
  /** The eviction scenario (world.ts evictionScenario). */
  readonly evict?: boolean;
  /** Keep one link cut through the heal phase (world.ts RegionSimOptions.bridgeThroughHeal). */
  readonly bridgeThroughHeal?: boolean;
  /** The strong group's election timeout (world.ts RegionSimOptions.strongElectionMs). */
  readonly strongElectionMs?: number;
}

export interface RegionSimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly traceHash: string;
  readonly verdicts: readonly Verdict[];
  readonly stats: RegionSimStats;
  readonly replay: string;
  readonly record: RegionRunRecord;
}

export const regionSimDefaults = { regions: 3, durationMs: 6000, mix: 'all' } as const;

export function regionReplayCommand(o: RegionSimulationOptions): string {
  const f = faultsText(o.faults ?? []);
  const mix = o.mix ?? regionSimDefaults.mix;
  return `npx terndb sim --world region --seed ${o.seed} --regions ${o.regions ?? regionSimDefaults.regions} --faults ${f}${mix === 'all' ? '' : ` --mix ${mix}`}${o.durationMs !== undefined ? ` --duration ${o.durationMs}` : ''}${o.evict === true ? ' --evict' : ''}${o.bridgeThroughHeal === true ? ' --bridge' : ''}${o.strongElectionMs !== undefined ? ` --election ${o.strongElectionMs}` : ''}`;
}

type RegionCheck = { readonly name: string; readonly check: (r: RegionRunRecord) => Verdict };

const strongAndRegionCheckers: readonly RegionCheck[] = [
  { name: 'linearizable', check: (r) => checkLinearizableRegisters(r.strong) },
  { name: 'bank', check: (r) => checkBank(r.strong.bank) },
  { name: 'follower-reads', check: (r) => checkFollowerReads(r.strong.followerReads) },
  { name: 'election-safety', check: (r) => checkElectionSafety(r.strong) },
  { name: 'same-final-state', check: (r) => checkSameFinalState(r.strong) },
  { name: fencingName, check: (r) => checkFencing(r.facts) },
  { name: stagesName, check: (r) => checkStages(r.facts) },
  { name: failoverName, check: (r) => checkFailover(r.async) },
  { name: clockGuardName, check: (r) => checkClockGuard(r.facts) },
  { name: containmentName, check: (r) => checkContainment(r.facts) },
  { name: fenceVerdictsName, check: (r) => checkFenceVerdicts(r.facts, r.async.ledger, r.async.finals) },
  { name: logBoundName, check: (r) => checkLogBound(r) },
];

/** `mix` async has no strong clients: the bank was never set up, so the bank checker has nothing to judge. */
export function checkRegionRun(record: RegionRunRecord, mix: RegionMix = 'all'): Verdict[] {
  const verdicts = runCheckers(record.async);
  for (const { name, check } of strongAndRegionCheckers) {
    if (mix === 'async' && name === 'bank') continue;
    try {
      verdicts.push(check(record));
    } catch (err) {
      verdicts.push({ checker: name, ok: false, checked: 0, violations: [`checker ${name} crashed: ${err instanceof Error ? err.message : String(err)}`] });
    }
  }
  return verdicts;
}

export function runRegionSimulation(o: RegionSimulationOptions): RegionSimulationResult {
  const world = new RegionWorld({
    seed: o.seed,
    faults: new Set(o.faults ?? []),
    ...(o.regions !== undefined ? { regions: o.regions } : {}),
    ...(o.mix !== undefined ? { mix: o.mix } : {}),
    ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
    ...(o.knobs !== undefined ? { knobs: o.knobs } : {}),
    ...(o.evict === true ? { evict: true } : {}),
    ...(o.bridgeThroughHeal === true ? { bridgeThroughHeal: true } : {}),
    ...(o.strongElectionMs !== undefined ? { strongElectionMs: o.strongElectionMs } : {}),
  });
  const { record, traceHash, stats } = world.run();
  const verdicts = checkRegionRun(record, o.mix ?? regionSimDefaults.mix);
  return { seed: o.seed, ok: verdicts.every((v) => v.ok), traceHash, verdicts, stats, replay: regionReplayCommand(o), record };
}
