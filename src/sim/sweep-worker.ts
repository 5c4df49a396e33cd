/** A sweep worker: runs the seeds it is sent and answers with a summary of each. */
import { parentPort } from 'node:worker_threads';
import type { FaultKind } from './faults.js';
import { regionCoverage } from './region/coverage.js';
import { runRegionSimulation } from './region/run.js';
import type { RegionMix } from './region/workload.js';
import { runSimulation } from './run.js';
import { runStrongSimulation } from './strong/run.js';
import { marksOf, type SeedOutcome, type SimWorld } from './sweep.js';

interface Job {
  world: SimWorld;
  seed: number;
  regions: number;
  ops: number;
  faults: FaultKind[];
  durationMs?: number;
  mix?: RegionMix;
}

function run(job: Job): { ok: boolean; traceHash: string; verdicts: ReadonlyArray<{ ok: boolean; checker: string; violations: readonly string[] }>; stats: Record<string, number> } {
  const duration = job.durationMs !== undefined ? { durationMs: job.durationMs } : {};
  if (job.world === 'region') {
    const r = runRegionSimulation({ seed: job.seed, regions: job.regions, faults: job.faults, ...duration, ...(job.mix !== undefined ? { mix: job.mix } : {}) });
    return { ...r, stats: regionCoverage(r) };
  }
  if (job.world === 'strong') {
    const r = runStrongSimulation({ seed: job.seed, regions: job.regions, faults: job.faults, ...duration });
    return { ...r, stats: { ...r.stats } };
  }
  const r = runSimulation(job);
  return { ...r, stats: { ...r.stats.metrics, crashes: r.stats.crashes, partitions: r.stats.partitions, infos: r.stats.infos } };
}

parentPort?.on('message', (job: Job) => {
  const t0 = performance.now();
  const r = run(job);
  const stats = r.stats;
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
