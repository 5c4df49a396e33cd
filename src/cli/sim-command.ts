/**
 * `terndb sim`: one seeded simulation, or a sweep over many seeds (`--seeds N`), with the
 * checkers' verdicts, the trace hash and, on failure, the command that replays the run.
 */
import { Command, Option } from 'commander';
import { cpus } from 'node:os';
import { faultKinds } from '../sim/faults.js';
import { regionSimDefaults, runRegionSimulation, type RegionSimulationResult } from '../sim/region/run.js';
import { regionMixes, type RegionMix } from '../sim/region/workload.js';
import { parseFaults, runSimulation, simDefaults, type SimulationResult } from '../sim/run.js';
import type { Verdict } from '../sim/history.js';
import { runSweep, type SimWorld } from '../sim/sweep.js';
import { runStrongSimulation, type StrongSimulationResult } from '../sim/strong/run.js';
import { intOption } from './options.js';

interface SimFlags {
  seed: number;
  seeds?: number;
  regions: number;
  ops: number;
  faults: string;
  json?: boolean;
  workers?: number;
  world: SimWorld;
  duration?: number;
  mix: RegionMix;
  evict?: boolean;
}

interface PrintableRun {
  readonly ok: boolean;
  readonly traceHash: string;
  readonly replay: string;
  readonly verdicts: readonly Verdict[];
  readonly record: unknown;
}

/** One run: as JSON (without its record), or the world's summary line, every verdict, the trace and how to replay. */
function printResult(r: PrintableRun, json: boolean, summary: () => string): void {
  if (json) {
    const { record: _record, ...rest } = r;
    process.stdout.write(JSON.stringify(rest) + '\n');
    return;
  }
  process.stdout.write(summary() + '\n');
  for (const v of r.verdicts) {
    process.stdout.write(`  ${v.ok ? 'ok  ' : 'FAIL'} ${v.checker.padEnd(18)} ${String(v.checked).padStart(6)} checked\n`);
    for (const line of v.violations) process.stdout.write(`         ${line.replace(/\n/g, '\n         ')}\n`);
  }
  process.stdout.write(`trace ${r.traceHash}\n`);
  if (!r.ok) process.stdout.write(`replay: ${r.replay}\n`);
}

function printRegionRun(r: RegionSimulationResult, json: boolean): void {
  const s = r.stats;
  printResult(r, json, () =>
    `seed ${r.seed} (region): ${s.invokes} async calls (${s.oks} ok, ${s.fails} fail, ${s.infos} unknown), ${s.strongOps} strong calls (${s.strongOks} ok), ` +
    `${s.crashes} crashes, ${s.partitions} partitions, ${s.pauses} pauses, ${s.drains} drains, ${s.clockJumps} clock jumps, ${s.leaseGrants} lease grants (${s.takeovers} takeovers), ` +
    `${s.guardedAcks} guarded writes, ${Math.round(s.simulatedMs / 1000)} s simulated, heal ${s.healMs} ms${s.converged ? '' : ' (DID NOT CONVERGE)'}`);
}

function printStrongRun(r: StrongSimulationResult, json: boolean): void {
  const s = r.stats;
  printResult(r, json, () =>
    `seed ${r.seed} (strong): ${s.ops} calls (${s.oks} ok, ${s.fails} fail, ${s.infos} unknown), ${s.crashes} crashes, ${s.partitions} partitions, ` +
    `${s.elections} terms with a leader, ${s.leaseReads} lease reads, ${s.readIndexReads} read-index reads, ${s.forwarded} forwarded, ${s.snapshots} snapshots`);
}

function printRun(r: SimulationResult, json: boolean): void {
  const s = r.stats;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  printResult(r, json, () =>
    `seed ${r.seed}: ${s.invokes} calls (${s.oks} ok, ${s.fails} fail, ${s.infos} unknown), ${plural(s.crashes, 'crash', 'crashes')}, ${plural(s.partitions, 'partition', 'partitions')}, ` +
    `${Math.round(s.simulatedMs / 1000)} s simulated, heal ${s.healMs} ms${s.converged ? '' : ' (DID NOT CONVERGE)'}`);
}

export function simCommand(): Command {
  return new Command('sim')
    .description('run a deterministic simulation of the real replica core with seeded faults, then check it')
    .option('--seed <n>', 'the seed (first seed of a sweep)', intOption('--seed', 0, 2 ** 32 - 1), 1)
    .option('--seeds <n>', 'sweep: run this many seeds starting at --seed', intOption('--seeds', 1))
    .option('--regions <n>', 'regions to simulate', intOption('--regions', 1, 8), simDefaults.regions)
    .option('--ops <n>', 'client calls in the fault phase', intOption('--ops', 1, 1_000_000), simDefaults.ops)
    .option('--faults <list>', `comma list of ${faultKinds.join(', ')}, or all, or none`, 'none')
    .addOption(new Option('--world <world>', 'async: replicas of async tables; strong: the Raft group of strong tables; region: whole region cores (both engines, write leases, clock guard, stages) with every checker').choices(['async', 'strong', 'region']).default('async'))
    .option('--duration <ms>', `strong and region worlds: length of the fault phase in simulated ms (region: ${regionSimDefaults.durationMs})`, intOption('--duration', 500, 600_000))
    .addOption(new Option('--mix <mix>', 'region world: which clients run (all: async, guarded and strong tables; async: async and guarded tables; strong: strong tables)').choices([...regionMixes]).default(regionSimDefaults.mix))
    .option('--evict', 'region world, one run: the eviction scenario (a region away past a short retention window is evicted, then rejoins from a snapshot)')
    .option('--json', 'print one JSON object per run')
    .addOption(new Option('--workers <n>', 'sweep: worker threads').argParser(intOption('--workers', 1, 64)).default(Math.max(1, cpus().length)))
    .addHelpText('after', `
Examples:
  terndb sim --seed 7 --faults all        one run, every fault kind
  terndb sim --seeds 500 --faults all     a sweep over seeds 1..500
  terndb sim --world strong --seeds 200 --faults all
                                          the Raft group: registers checked for linearizability, a bank
  terndb sim --world region --seeds 1000 --faults all
                                          whole region cores: async, guarded and strong tables in one run,
                                          every checker of both worlds plus fencing, staged rejoin,
                                          failover survival and the clock guard; faults add process
                                          pauses longer than the write lease (--mix async|strong
                                          narrows the clients)
Exit code 1 when any checker finds a violation; the output names the command that replays it.`)
    .action(async (flags: SimFlags) => {
      const faults = parseFaults(flags.faults);
      if (typeof faults === 'string') {
        process.stderr.write(`terndb sim: --faults: ${faults}\n`);
        process.exitCode = 2;
        return;
      }
      const base = { regions: flags.regions, ops: flags.ops, faults };
      const duration = flags.duration !== undefined ? { durationMs: flags.duration } : {};
      if (flags.seeds === undefined && flags.world === 'region') {
        const r = runRegionSimulation({ seed: flags.seed, regions: flags.regions, faults, mix: flags.mix, ...duration, ...(flags.evict === true ? { evict: true } : {}) });
        printRegionRun(r, flags.json === true);
        process.exitCode = r.ok ? 0 : 1;
        return;
      }
      if (flags.seeds === undefined && flags.world === 'strong') {
        const r = runStrongSimulation({ seed: flags.seed, regions: flags.regions, faults, ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}) });
        printStrongRun(r, flags.json === true);
        process.exitCode = r.ok ? 0 : 1;
        return;
      }
      if (flags.seeds === undefined) {
        const r = runSimulation({ seed: flags.seed, ...base });
        printRun(r, flags.json === true);
        process.exitCode = r.ok ? 0 : 1;
        return;
      }
      const summary = await runSweep({ world: flags.world, first: flags.seed, count: flags.seeds, workers: flags.workers ?? 1, ...base, ...duration, ...(flags.world === 'region' ? { mix: flags.mix } : {}) }, {
        progress: (done, total, failed) => {
          if (process.stderr.isTTY) process.stderr.write(`\r  ${done}/${total} seeds, ${failed} failed`);
        },
        failure: (line) => process.stdout.write((process.stderr.isTTY ? '\n' : '') + line + '\n'),
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      if (flags.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else {
        process.stdout.write(`${summary.passed}/${summary.count} seeds passed in ${(summary.elapsedMs / 1000).toFixed(1)} s ` +
          `(median ${summary.medianRunMs} ms per run, ${summary.workers} workers)\n`);
        process.stdout.write(`coverage: ${Object.entries(summary.coverage).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
      }
      process.exitCode = summary.passed === summary.count ? 0 : 1;
    });
}
