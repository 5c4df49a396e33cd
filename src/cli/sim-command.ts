/**
 * `terndb sim`: one seeded simulation, or a sweep over many seeds (`--seeds N`), with the
 * checkers' verdicts, the trace hash and, on failure, the command that replays the run. Every
 * `--world` is a workload of the one simulated world (src/sim/run.ts).
 */
import { Command, Option } from 'commander';
import { cpus } from 'node:os';
import { faultKinds, parseFaults } from '../sim/faults.js';
import { regionSimDefaults, runRegionSimulation, type RegionSimulationResult } from '../sim/region/run.js';
import { regionWorldTiming } from '../sim/region/world.js';
import { regionMixes, type RegionMix } from '../sim/region/workload.js';
import { asyncCallsPerSecond, simDefaults, simWorlds, worldOptions, type SimWorld } from '../sim/run.js';
import { runSweep } from '../sim/sweep.js';
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
  bridge?: boolean;
  election?: number;
}

/** One run: as JSON (without its record), or a summary line, every verdict, the trace and how to replay. */
function printRun(r: RegionSimulationResult, world: SimWorld, json: boolean): void {
  if (json) {
    const { record: _record, ...rest } = r;
    process.stdout.write(JSON.stringify(rest) + '\n');
    return;
  }
  process.stdout.write(summaryLine(r, world) + '\n');
  for (const v of r.verdicts) {
    process.stdout.write(`  ${v.ok ? 'ok  ' : 'FAIL'} ${v.checker.padEnd(18)} ${String(v.checked).padStart(6)} checked\n`);
    for (const line of v.violations) process.stdout.write(`         ${line.replace(/\n/g, '\n         ')}\n`);
  }
  process.stdout.write(`trace ${r.traceHash}\n`);
  if (!r.ok) process.stdout.write(`replay: ${r.replay}\n`);
}

/** The workload's own numbers first (strong: the strong calls), then the faults and the heal. */
function summaryLine(r: RegionSimulationResult, world: SimWorld): string {
  const s = r.stats;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const asyncCalls = `${s.invokes} async calls (${s.oks} ok, ${s.fails} fail, ${s.infos} unknown)`;
  const strongCalls = `${s.strongOps} strong calls (${s.strongOks} ok, ${s.strongInfos} unknown)`;
  const calls = world === 'async' ? asyncCalls : world === 'strong' ? strongCalls : `${asyncCalls}, ${strongCalls}`;
  return (
    `seed ${r.seed} (${world}): ${calls}, ${plural(s.crashes, 'crash', 'crashes')}, ${plural(s.partitions, 'partition', 'partitions')}, ${s.pauses} pauses, ${s.drains} drains, ` +
    `${s.clockJumps} clock jumps, ${s.elections} terms with a leader, ${s.leaseGrants} lease grants (${s.takeovers} takeovers), ${s.guardedAcks} guarded writes, ` +
    `${Math.round(s.simulatedMs / 1000)} s simulated, heal ${s.healMs} ms${s.converged ? '' : ' (DID NOT CONVERGE)'}`
  );
}

export function simCommand(): Command {
  return new Command('sim')
    .description('run a deterministic simulation of whole region cores (both engines) with seeded faults, then check it')
    .option('--seed <n>', 'the seed (first seed of a sweep)', intOption('--seed', 0, 2 ** 32 - 1), 1)
    .option('--seeds <n>', 'sweep: run this many seeds starting at --seed', intOption('--seeds', 1))
    .option('--regions <n>', 'regions to simulate', intOption('--regions', 1, 8), simDefaults.regions)
    .option('--ops <n>', `async world: the size of the run: a fault phase of ops / ${asyncCallsPerSecond} s (at least 1 s; how many calls fit in it depends on the faults; --duration overrides it)`, intOption('--ops', 1, 1_000_000), simDefaults.ops)
    .option('--faults <list>', `comma list of ${faultKinds.join(', ')}, or all, or none`, 'none')
    .addOption(new Option('--world <world>', 'the workload, always on whole region cores: async: clients of async and guarded tables; strong: clients of strong tables (registers, a bank); region: the clients --mix names').choices([...simWorlds]).default(simDefaults.world))
    .option('--duration <ms>', `length of the fault phase in simulated ms (strong and region: ${regionSimDefaults.durationMs}; async: from --ops)`, intOption('--duration', 500, 600_000))
    .addOption(new Option('--mix <mix>', 'region world: which clients run (all: async, guarded and strong tables; async: async and guarded tables; strong: strong tables)').choices([...regionMixes]).default(regionSimDefaults.mix))
    .option('--evict', 'one run: the eviction scenario (a region away past a short retention window is evicted, then rejoins from a snapshot)')
    .option('--bridge', 'one run: the async replication between the first and third regions stays cut from the heal on (only relay carries their ops across)')
    .option('--election <ms>', `one run: the strong group's election timeout in simulated ms (default ${regionWorldTiming.electionMs})`, intOption('--election', 100, 10_000))
    .option('--json', 'print one JSON object per run')
    .addOption(new Option('--workers <n>', 'sweep: worker threads').argParser(intOption('--workers', 1, 64)).default(Math.max(1, cpus().length)))
    .addHelpText('after', `
Every world is the same simulation of whole region cores (async replica, strong group member,
write leases, clock guard, stages) with every checker; --world picks which clients run.

Examples:
  terndb sim --seed 7 --faults all        one run of the async workload, every fault kind
  terndb sim --seeds 500 --faults all     a sweep over seeds 1..500
  terndb sim --world strong --seeds 200 --faults all
                                          strong tables: registers checked for linearizability, a bank
  terndb sim --world region --seeds 1000 --faults all
                                          async, guarded and strong tables in one run: every checker
                                          plus fencing, staged rejoin, failover survival and the clock
                                          guard; faults add process pauses longer than the write lease
                                          (--mix async|strong narrows the clients)
Exit code 1 when any checker finds a violation; the output names the command that replays it.`)
    .action(async (flags: SimFlags) => {
      const faults = parseFaults(flags.faults);
      if (typeof faults === 'string') {
        process.stderr.write(`terndb sim: --faults: ${faults}\n`);
        process.exitCode = 2;
        return;
      }
      const choice = { world: flags.world, regions: flags.regions, ops: flags.ops, faults, mix: flags.mix, ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}) };
      if (flags.seeds === undefined) {
        const r = runRegionSimulation({ ...worldOptions({ ...choice, seed: flags.seed }), ...(flags.evict === true ? { evict: true } : {}), ...(flags.bridge === true ? { bridgeThroughHeal: true } : {}), ...(flags.election !== undefined ? { strongElectionMs: flags.election } : {}) });
        printRun(r, flags.world, flags.json === true);
        process.exitCode = r.ok ? 0 : 1;
        return;
      }
      const summary = await runSweep({ ...choice, first: flags.seed, count: flags.seeds, workers: flags.workers ?? 1 }, {
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
