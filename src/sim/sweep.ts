/**
 * Many seeds, spread over worker threads. Each worker runs whole simulations and sends back a
 * small summary; failures carry the command that replays them.
 */
import { Worker } from 'node:worker_threads';
import type { FaultKind } from './faults.js';
import { regionReplayCommand } from './region/run.js';
import type { RegionMix } from './region/workload.js';
import { worldOptions, type SimWorld } from './run.js';

export interface SweepOptions {
  /** Which workload of the region world (run.ts): async, strong, or region (the clients `mix` names). */
  readonly world: SimWorld;
  readonly first: number;
  readonly count: number;
  readonly workers: number;
  readonly regions: number;
  readonly ops: number;
  readonly faults: readonly FaultKind[];
  /** The fault phase's length in simulated ms (async: instead of the one `ops` asks for). */
  readonly durationMs?: number;
  /** Region world: which clients run. */
  readonly mix?: RegionMix;
}

/** What a worker reports for one seed. */
export interface SeedOutcome {
  readonly seed: number;
  readonly ok: boolean;
  readonly traceHash: string;
  readonly runMs: number;
  readonly failures: readonly string[];
  readonly coverage: Readonly<Record<string, number>>;
}

export interface SweepSummary {
  readonly count: number;
  readonly passed: number;
  readonly failedSeeds: readonly number[];
  readonly elapsedMs: number;
  readonly medianRunMs: number;
  readonly workers: number;
  /** Summed across runs: how often the interesting things happened. */
  readonly coverage: Readonly<Record<string, number>>;
}

export interface SweepListener {
  progress(done: number, total: number, failed: number): void;
  failure(line: string): void;
}

/**
 * The coverage marks a sweep of the async workload reports: a green sweep where none of these
 * happened proves nothing. Not `hlcRefused`: in a region core the clock guard keeps a clock it does
 * not trust out of the HLC (replica/receive.ts), so no healthy region sends an op stamped from a
 * clock beyond the bound for another to refuse; the hlc checker still runs on every seed.
 */
export const coverageMarks = [
  'conflictsWriteWrite', 'conflictsDeleteUpdate', 'conflictsInsertInsert', 'writesKilledByTombstone', 'idempotentReplays',
  'idempotentCopies', 'opsBuffered', 'sessionUnavailable', 'staleRefusals', 'tombstonesPurged', 'crashes', 'partitions', 'infos',
] as const;

export const strongCoverageMarks = [
  'elections', 'leaseReads', 'readIndexReads', 'followerReads', 'forwarded', 'snapshots', 'idempotentReplays', 'quorumTimeouts', 'crashes', 'partitions', 'infos',
] as const;

/** The region workload's: the failover machinery and the faults that exercise it. */
export const regionCoverageMarks = [
  'takeovers', 'leaseGrants', 'guardedAcks', 'fencedRefusals', 'notReady', 'pauses', 'clockJumps', 'crashes', 'partitions', 'elections',
  'conflictsWriteWrite', 'idempotentReplays', 'leaseReads', 'readIndexReads', 'infos',
] as const;

export function marksOf(world: SimWorld): readonly string[] {
  return world === 'strong' ? strongCoverageMarks : world === 'region' ? regionCoverageMarks : coverageMarks;
}

/** The command that replays one seed of a sweep. */
export function sweepReplay(o: SweepOptions, seed: number): string {
  return regionReplayCommand(worldOptions({ ...o, seed }));
}

export async function runSweep(o: SweepOptions, listener: SweepListener): Promise<SweepSummary> {
  const started = performance.now();
  const seeds = Array.from({ length: o.count }, (_, i) => o.first + i);
  const outcomes: SeedOutcome[] = [];
  const coverage: Record<string, number> = Object.fromEntries(marksOf(o.world).map((m) => [m, 0]));
  const workers = Math.max(1, Math.min(o.workers, o.count));
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, () =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./sweep-worker.js', import.meta.url));
        const feed = () => {
          if (next >= seeds.length) {
            void worker.terminate().then(() => resolve());
            return;
          }
          const seed = seeds[next++] as number;
          worker.postMessage({ world: o.world, seed, regions: o.regions, ops: o.ops, faults: o.faults, durationMs: o.durationMs, mix: o.mix });
        };
        worker.on('message', (r: SeedOutcome) => {
          outcomes.push(r);
          for (const [k, v] of Object.entries(r.coverage)) coverage[k] = (coverage[k] ?? 0) + v;
          if (!r.ok) {
            listener.failure(`seed ${r.seed} FAILED: ${r.failures.join(' | ')}`);
            listener.failure(`  replay: ${sweepReplay(o, r.seed)}`);
          }
          listener.progress(outcomes.length, seeds.length, outcomes.filter((x) => !x.ok).length);
          feed();
        });
        worker.on('error', reject);
        feed();
      }),
    ),
  );
  const times = outcomes.map((x) => x.runMs).sort((a, b) => a - b);
  const failedSeeds = outcomes.filter((x) => !x.ok).map((x) => x.seed).sort((a, b) => a - b);
  return {
    count: o.count,
    passed: o.count - failedSeeds.length,
    failedSeeds,
    elapsedMs: Math.round(performance.now() - started),
    medianRunMs: Math.round(times[Math.floor(times.length / 2)] ?? 0),
    workers,
    coverage,
  };
}
