/** `terndb bench NAME`: runs a named benchmark and prints its figures (docs/benchmarks.md). */
import { Command } from 'commander';
import { runCoreBench } from '../bench/core-bench.js';
import { intOption } from './options.js';

export function benchCommand(): Command {
  return new Command('bench')
    .description('run a named benchmark and print its figures')
    .argument('<name>', 'core: remote-op apply rate of one replica on memory storage')
    .option('--ops <n>', 'ops per measured round', intOption('--ops', 1000), 200_000)
    .option('--rounds <n>', 'measured rounds (the median is reported)', intOption('--rounds', 1, 100), 5)
    .action((name: string, flags: { ops: number; rounds: number }) => {
      if (name !== 'core') {
        process.stderr.write(`terndb bench: unknown benchmark '${name}' (known: core)\n`);
        process.exitCode = 2;
        return;
      }
      runCoreBench(flags, (line) => process.stdout.write(line + '\n'));
    });
}
