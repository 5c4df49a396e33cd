/**
 * One simulation of the strong group: run the world from a seed, then check linearizability of
 * the registers, the bank's invariants, what bounded and session reads promise, Raft's election
 * safety and that every node ends in the same state. The same seed always gives the same trace hash.
 */
import { checkBank } from '../check/bank.js';
import { Findings } from '../check/findings.js';
import { checkFollowerReads } from '../check/follower-reads.js';
import { checkLinearizable } from '../check/linearizability.js';
import { faultKinds, type FaultKind } from '../faults.js';
import type { Verdict } from '../history.js';
import { StrongWorld, type StrongRunRecord, type StrongSimStats } from './world.js';
import type { StrongKnobs } from '../../core/strong/strong-node.js';

export interface StrongSimulationOptions {
  readonly seed: number;
  readonly regions?: number;
  readonly faults?: readonly FaultKind[];
  readonly durationMs?: number;
  readonly knobs?: StrongKnobs;
}

export interface StrongSimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly traceHash: string;
  readonly verdicts: readonly Verdict[];
  readonly stats: StrongSimStats;
  readonly replay: string;
  readonly record: StrongRunRecord;
}


export function checkLinearizableRegisters(record: StrongRunRecord): Verdict {
  const f = new Findings();
  const result = checkLinearizable(record.lin, { budgetMsPerKey: 10_000 });
  for (const k of result.keys) {
    f.examined(k.ops);
    if (k.verdict === 'violation') f.violation(`key ${k.key} is not linearizable:\n${(k.counterexample ?? []).join('\n')}`);
    else if (k.verdict === 'unknown') f.note(`key ${k.key}: the search ran out of time (unknown)`);
  }
  return f.verdict('linearizable');
}

export function checkElectionSafety(record: StrongRunRecord): Verdict {
  const f = new Findings();
  for (const [term, leaders] of Object.entries(record.leadersByTerm)) {
    f.examined();
    if (leaders.length > 1) f.violation(`term ${term} had ${leaders.length} leaders: ${leaders.join(', ')}`);
  }
  return f.verdict('election-safety');
}

export function checkSameFinalState(record: StrongRunRecord): Verdict {
  const f = new Findings();
  const states = Object.entries(record.finalStates).filter((e): e is [string, string] => e[1] !== null);
  if (states.length < Object.keys(record.finalStates).length) f.violation(`some nodes were down at the end: ${Object.keys(record.finalStates).join(', ')}`);
  const [first] = states;
  for (const [region, s] of states) {
    f.examined();
    if (first !== undefined && s !== first[1]) f.violation(`${region} ends in another state than ${first[0]} (${s.length} vs ${first[1].length} bytes of state)`);
  }
  // Different states at different applied indexes is a group that did not finish catching up
  // (liveness), not necessarily a divergence: say where each node stood.
  if (f.count > 0) f.violation(`at the end: ${Object.entries(record.finalRaft).map(([r, s]) => `${r} ${s}`).join('; ')}`);
  return f.verdict('same-final-state');
}

export function strongReplayCommand(o: StrongSimulationOptions): string {
  const faults = o.faults ?? [];
  const f = faults.length === faultKinds.length ? 'all' : faults.length === 0 ? 'none' : faults.join(',');
  return `npx terndb sim --world strong --seed ${o.seed} --regions ${o.regions ?? 3} --faults ${f}${o.durationMs !== undefined ? ` --duration ${o.durationMs}` : ''}`;
}

export function runStrongSimulation(o: StrongSimulationOptions): StrongSimulationResult {
  const world = new StrongWorld({
    seed: o.seed,
    faults: new Set(o.faults ?? []),
    ...(o.regions !== undefined ? { regions: o.regions } : {}),
    ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
    ...(o.knobs !== undefined ? { knobs: o.knobs } : {}),
  });
  const { record, traceHash, stats } = world.run();
  const verdicts: Verdict[] = [];
  for (const check of [checkLinearizableRegisters, (r: StrongRunRecord) => checkBank(r.bank), (r: StrongRunRecord) => checkFollowerReads(r.followerReads), checkElectionSafety, checkSameFinalState]) {
    try {
      verdicts.push(check(record));
    } catch (err) {
      verdicts.push({ checker: check.name, ok: false, checked: 0, violations: [`checker crashed: ${err instanceof Error ? err.message : String(err)}`] });
    }
  }
  return { seed: o.seed, ok: verdicts.every((v) => v.ok), traceHash, verdicts, stats, replay: strongReplayCommand(o), record };
}
