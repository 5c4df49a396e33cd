/** A sweep worker: runs the seeds it is sent and answers with a summary of each. */
import { parentPort } from 'node:worker_threads';
import type { FaultKind } from './faults.js';
import { runSimulation } from './run.js';
import { runStrongSimulation } from './strong/run.js';
import { marksOf, type SeedOutcome, type SimWorld } from './sweep.js';

interface Job {
  world: SimWorld;
  seed: number;
  regions: number;
  ops: number;
  faults: FaultKind[];
}

parentPort?.on('message', (job: Job) => {
  const t0 = performance.now();
  const r = job.world === 'strong' ? runStrongSimulation(job) : runSimulation(job);
  const stats: Record<string, number> =
    'metrics' in r.stats ? { ...r.stats.metrics, crashes: r.stats.crashes, partitions: r.stats.partitions, infos: r.stats.infos } : { ...r.stats };
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
