/** A sweep worker: runs the seeds it is sent (each in the region world) and answers with a summary of each. */
import { parentPort } from 'node:worker_threads';
import type { FaultKind } from './faults.js';
import { coverageOf } from './region/coverage.js';
import { runRegionSimulation } from './region/run.js';
import type { RegionMix } from './region/workload.js';
import { worldOptions, type SimWorld } from './run.js';
import { marksOf, type SeedOutcome } from './sweep.js';

interface Job {
  world: SimWorld;
  seed: number;
  regions: number;
  ops: number;
  faults: FaultKind[];
  durationMs?: number;
  mix?: RegionMix;
}

parentPort?.on('message', (job: Job) => {
  const t0 = performance.now();
  const r = runRegionSimulation(worldOptions(job));
  const stats = coverageOf(job.world, r);
  const outcome: SeedOutcome = {
    seed: job.seed,
    ok: r.ok,
    traceHash: r.traceHash,
    runMs: performance.now() - t0,
    failures: r.verdicts.filter((v) => !v.ok).map((v) => `${v.checker}: ${v.violations[0] ?? ''}`),
    coverage: Object.fromEntries(marksOf(job.world).map((m) => [m, stats[m] ?? 0])),
  };
  parentPort?.postMessage(outcome);
});
