/**
 * The workloads `terndb sim --world` offers, all run by the one simulated world (region/world.ts):
 * `async` is its async and guarded tables' clients (mix async), `strong` its strong tables'
 * clients (mix strong), `region` the clients `--mix` names (every kind by default). `--ops` keeps
 * the async workload's meaning of a size of run: the fault phase lasts as long as that many calls
 * take at the async clients' usual rate.
 */
import type { FaultKind } from './faults.js';
import type { RegionSimulationOptions } from './region/run.js';
import type { RegionMix } from './region/workload.js';

export type SimWorld = 'async' | 'strong' | 'region';
export const simWorlds: readonly SimWorld[] = ['async', 'strong', 'region'];

export const simDefaults = { regions: 3, ops: 2000, world: 'async' } as const;

/** Calls per simulated second the async workload was sized by (the retired async world's rate). */
export const asyncCallsPerSecond = 300;

/** The fault phase `--ops N` asks for in the async world: N calls at asyncCallsPerSecond, at least a second. */
export function asyncDurationMs(ops: number): number {
  return Math.max(1000, Math.round((ops / asyncCallsPerSecond) * 1000));
}

export interface WorldChoice {
  readonly world: SimWorld;
  readonly seed: number;
  readonly regions?: number;
  readonly faults?: readonly FaultKind[];
  /** async: sizes the fault phase (asyncDurationMs) unless durationMs is given; other worlds ignore it. */
  readonly ops?: number;
  readonly durationMs?: number;
  /** region only: which clients run (async and strong have theirs). */
  readonly mix?: RegionMix;
}

/** What one seed of a world choice runs: the region world's options. */
export function worldOptions(c: WorldChoice): RegionSimulationOptions {
  const mix: RegionMix | undefined = c.world === 'async' ? 'async' : c.world === 'strong' ? 'strong' : c.mix;
  const durationMs = c.durationMs ?? (c.world === 'async' ? asyncDurationMs(c.ops ?? simDefaults.ops) : undefined);
  return {
    seed: c.seed,
    ...(c.regions !== undefined ? { regions: c.regions } : {}),
    ...(c.faults !== undefined ? { faults: c.faults } : {}),
    ...(mix !== undefined ? { mix } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
  };
}
