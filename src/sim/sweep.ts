/**
 * Many seeds, spread over worker threads. Each worker runs whole simulations and sends back a
 * small summary; failures carry the command that replays them.
 */
import { Worker } from 'node:worker_threads';
import type { FaultKind } from './faults.js';
import { replayCommand } from './run.js';
import { strongReplayCommand } from './strong/run.js';

export type SimWorld = 'async' | 'strong';

export interface SweepOptions {
  /** async: the replicas of async tables; strong: the Raft group of strong tables. */
  readonly world: SimWorld;
  readonly first: number;
  readonly count: number;
  readonly workers: number;
  readonly regions: number;
  readonly ops: number;
  readonly faults: readonly FaultKind[];
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

/** The coverage marks a sweep reports: a green sweep where none of these happened proves nothing. */
export const coverageMarks = [
  'conflictsWriteWrite', 'conflictsDeleteUpdate', 'conflictsInsertInsert', 'writesKilledByTombstone', 'idempotentReplays',
  'idempotentCopies', 'hlcRefused', 'opsBuffered', 'sessionUnavailable', 'staleRefusals', 'tombstonesPurged', 'crashes', 'partitions', 'infos',
] as const;

export const strongCoverageMarks = [
  'elections', 'leaseReads', 'readIndexReads', 'followerReads', 'forwarded', 'snapshots', 'idempotentReplays', 'quorumTimeouts', 'crashes', 'partitions', 'infos',
] as const;

export function marksOf(world: SimWorld): readonly string[] {
  return world === 'strong' ? strongCoverageMarks : coverageMarks;
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
          worker.postMessage({ world: o.world, seed, regions: o.regions, ops: o.ops, faults: o.faults });
        };
        worker.on('message', (r: SeedOutcome) => {
          outcomes.push(r);
          for (const [k, v] of Object.entries(r.coverage)) coverage[k] = (coverage[k] ?? 0) + v;
          if (!r.ok) {
            listener.failure(`seed ${r.seed} FAILED: ${r.failures.join(' | ')}`);
            const replay = o.world === 'strong' ? strongReplayCommand({ seed: r.seed, regions: o.regions, faults: o.faults }) : replayCommand({ seed: r.seed, regions: o.regions, ops: o.ops, faults: o.faults });
            listener.failure(`  replay: ${replay}`);
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
