/** A sweep worker: runs the seeds it is sent and answers with a summary of each. */
import { parentPort } from 'node:worker_threads';
import type { FaultKind } from './faults.js';
import { runSimulation } from './run.js';
import { coverageMarks, type SeedOutcome } from './sweep.js';

interface Job {
  seed: number;
  regions: number;
  ops: number;
  faults: FaultKind[];
}

parentPort?.on('message', (job: Job) => {
  const t0 = performance.now();
  const r = runSimulation(job);
  const stats: Record<string, number> = { ...r.stats.metrics, crashes: r.stats.crashes, partitions: r.stats.partitions, infos: r.stats.infos };
  const outcome: SeedOutcome = {
    seed: job.seed,
    ok: r.ok,
    traceHash: r.traceHash,
    runMs: performance.now() - t0,
    failures: r.verdicts.filter((v) => !v.ok).map((v) => `${v.checker}: ${v.violations[0] ?? ''}`),
    coverage: Object.fromEntries(coverageMarks.map((m) => [m, stats[m] ?? 0])),
  };
  parentPort?.postMessage(outcome);
});
