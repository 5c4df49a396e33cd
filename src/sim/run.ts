/**
 * A whole simulation: run the world from a seed, check the record with every checker, and say
 * how to replay it. The same seed and options always give the same trace hash.
 */
import type { Knobs } from '../core/replica/config.js';
import { runCheckers } from './check/index.js';
import { faultKinds, type FaultKind } from './faults.js';
import type { RunRecord, Verdict } from './history.js';
import { World, type SimStats } from './world.js';

export interface SimulationOptions {
  readonly seed: number;
  readonly regions?: number;
  readonly ops?: number;
  readonly faults?: readonly FaultKind[];
  readonly knobs?: Knobs;
  readonly bridgeThroughHeal?: boolean;
}

export interface SimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly traceHash: string;
  readonly verdicts: readonly Verdict[];
  readonly stats: SimStats;
  /** The command that replays this run exactly. */
  readonly replay: string;
  readonly record: RunRecord;
}

export const simDefaults = { regions: 3, ops: 2000 } as const;

/** Parses a --faults value: a comma list of kinds, `all`, or `none`. */
export function parseFaults(text: string): FaultKind[] | string {
  if (text === 'all') return [...faultKinds];
  if (text === 'none' || text === '') return [];
  const out: FaultKind[] = [];
  for (const part of text.split(',')) {
    const k = part.trim();
    if (!(faultKinds as readonly string[]).includes(k)) return `unknown fault '${k}' (known: ${faultKinds.join(', ')}, all, none)`;
    out.push(k as FaultKind);
  }
  return out;
}

export function replayCommand(o: SimulationOptions): string {
  const faults = o.faults ?? [];
  const f = faults.length === faultKinds.length ? 'all' : faults.length === 0 ? 'none' : faults.join(',');
  return `npx terndb sim --seed ${o.seed} --regions ${o.regions ?? simDefaults.regions} --ops ${o.ops ?? simDefaults.ops} --faults ${f}`;
}

export function runSimulation(o: SimulationOptions): SimulationResult {
  const world = new World({
    seed: o.seed,
    regions: o.regions ?? simDefaults.regions,
    ops: o.ops ?? simDefaults.ops,
    faults: new Set(o.faults ?? []),
    ...(o.knobs === undefined ? {} : { knobs: o.knobs }),
    ...(o.bridgeThroughHeal === undefined ? {} : { bridgeThroughHeal: o.bridgeThroughHeal }),
  });
  const { record, traceHash, stats } = world.run();
  const verdicts = runCheckers(record);
  return { seed: o.seed, ok: verdicts.every((v) => v.ok), traceHash, verdicts, stats, replay: replayCommand(o), record };
}
