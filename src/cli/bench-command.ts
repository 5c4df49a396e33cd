/** `terndb bench NAME`: runs a named benchmark and prints its figures (docs/benchmarks.md). */
import { Command } from 'commander';
import { runCoreBench } from '../bench/core-bench.js';
import { runWindowsBench } from '../bench/windows-bench.js';
import { runNodeBench } from '../bench/node-bench.js';
import { runStrongBench } from '../bench/strong-bench.js';
import { runFailoverBench } from '../bench/failover-bench.js';
import { runRouterBench } from '../bench/router-bench.js';
import { runLeaderBench } from '../bench/leader-bench.js';
import { runSnapshotBench, snapshotBenchDefaults } from '../bench/snapshot-bench.js';
import { intOption } from './options.js';

export function benchCommand(): Command {
  const command = new Command('bench');
  return command
    .description('run a named benchmark and print its figures')
    .argument('<name>', 'core: remote-op apply rate of one replica on memory storage, and one write to a large set; windows: conflict windows after a long partition; node: a region node over HTTP (plaintext and TLS), replication lag, SQLite storage; strong: strong writes (plaintext and TLS) and lease reads through the WAN emulator, and etcd 3.4 side by side when installed, up to saturation; failover: isolation → fenced and → failover region accepting, heal → write-ready after 10,000 missed writes, restart → write-ready; router: terndb router against direct calls to its region, added p50 and throughput ratio; leader: SIGKILL of the strong leader → first write acknowledged, Tern and etcd 3.4 side by side (etcd required); snapshot: a region away past the retention window: the others\' log sizes against the window\'s bound, then its snapshot rejoin (MB/s, time to write-ready, peak RSS of donor and receiver)')
    .option('--ops <n>', 'ops per measured round', intOption('--ops', 1000), 200_000)
    .option('--rounds <n>', 'measured rounds (the median is reported; router, leader: default 3)', intOption('--rounds', 1, 100), 5)
    .option('--seconds <n>', 'node, strong, router: seconds per measurement', intOption('--seconds', 1, 600), 5)
    .option('--rows <n>', 'snapshot: rows written while the region is away', intOption('--rows', 1_000, 100_000_000), snapshotBenchDefaults.rows)
    .option('--rtt-ms <ms>', 'snapshot: round trip between the rejoining region and the others (the snapshot fetch pays it too)', intOption('--rtt-ms', 0, 10_000), snapshotBenchDefaults.rttMs)
    .option('--window-ms <ms>', 'snapshot: retention.logMs for the run', intOption('--window-ms', 1_000, 86_400_000), snapshotBenchDefaults.windowMs)
    .action(async (name: string, flags: { ops: number; rounds: number; seconds: number; rows: number; rttMs: number; windowMs: number }) => {
      const print = (line: string) => process.stdout.write(line + '\n');
      if (name === 'core') runCoreBench(flags, print);
      else if (name === 'windows') runWindowsBench([1_000, 2_000, 4_000], print);
      else if (name === 'node') await runNodeBench(print, flags.seconds);
      else if (name === 'strong') await runStrongBench(print, flags.seconds, Math.min(flags.rounds, 9));
      else if (name === 'failover') await runFailoverBench(print, Math.min(flags.rounds, 9));
      else if (name === 'router') await runRouterBench(print, flags.seconds, command.getOptionValueSource('rounds') === 'default' ? 3 : Math.min(flags.rounds, 9));
      else if (name === 'leader') await runLeaderBench(print, command.getOptionValueSource('rounds') === 'default' ? 3 : Math.min(flags.rounds, 9));
      else if (name === 'snapshot') await runSnapshotBench(print, { rows: flags.rows, rttMs: flags.rttMs, windowMs: flags.windowMs });
      else {
        process.stderr.write(`terndb bench: unknown benchmark '${name}' (known: core, windows, node, strong, failover, router, leader, snapshot)\n`);
        process.exitCode = 2;
      }
    });
}
