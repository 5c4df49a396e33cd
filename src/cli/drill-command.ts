/** `terndb drill --demo`: failover under load, with its RTO and RPO measured (src/drill/). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DrillCluster } from '../drill/cluster.js';
import { formatDrill } from '../drill/report.js';
import { faultKinds, runDrill, type FaultKind } from '../drill/run.js';
import { demoPortUses } from './demo/config.js';
import { intOption } from './options.js';
import { portProblems } from './ports.js';

const regions = ['us-east', 'eu-west', 'ap-south'];

function faultList(value: string): FaultKind[] {
  const out = value.split(',').map((f) => f.trim());
  for (const f of out) if (!(faultKinds as readonly string[]).includes(f)) throw new InvalidArgumentError(`${JSON.stringify(f)} is not a fault (give some of ${faultKinds.join(', ')})`);
  return out as FaultKind[];
}

export function drillCommand(): Command {
  return new Command('drill')
    .description('failover under load on a cluster it starts: each fault, its RTO and RPO, measured')
    .option('--demo', 'start a three-region demo cluster (WAN emulator, router) for the drill; required in this build')
    .option('--faults <list>', `faults to run, in order, each cycle: ${faultKinds.join(', ')}`, faultList, [...faultKinds])
    .option('--cycles <n>', 'how many times to run the faults', intOption('--cycles', 1, 1000), 1)
    .option('--region <name>', 'the region to kill, isolate or drain (default: one that is not the strong leader)')
    .option('--load-seconds <s>', 'load before each fault', intOption('--load-seconds', 1, 600), 3)
    .option('--fault-seconds <s>', 'how long each fault lasts before recovery (longer than the write lease, 4 s in the demo, to see failover)', intOption('--fault-seconds', 1, 600), 6)
    .option('--workers <n>', 'concurrent clients', intOption('--workers', 1, 256), 6)
    .option('--port-base <port>', 'ports of the drill cluster, as terndb demo --port-base', intOption('--port-base', 1024, 64_000), 17000)
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nRTO: from the fault until the success rate through the router is back at 99 % over 1 s windows (async\nand strong separately). RPO: acknowledged writes missing after recovery and convergence.\n\nExample:\n  terndb drill --demo --cycles 2 --faults kill,isolate')
    .action(async (flags: { demo?: boolean; faults: FaultKind[]; cycles: number; region?: string; loadSeconds: number; faultSeconds: number; workers: number; portBase: number; json?: boolean }) => {
      if (flags.demo !== true) {
        process.stderr.write('terndb drill: give --demo (this build drills only a cluster it starts itself)\n');
        process.exitCode = 2;
        return;
      }
      if (flags.region !== undefined && !regions.includes(flags.region)) {
        process.stderr.write(`terndb drill: --region: must be one of ${regions.join(', ')}, not ${flags.region}\n`);
        process.exitCode = 2;
        return;
      }
      const taken = await portProblems(demoPortUses({ regions, portBase: flags.portBase }, tmpdir()));
      if (taken.length > 0) {
        for (const p of taken) process.stderr.write(`terndb drill: ${p}; pick another block with --port-base\n`);
        process.exitCode = 1;
        return;
      }
      const dir = mkdtempSync(path.join(tmpdir(), 'terndb-drill-'));
      const tty = process.stderr.isTTY === true;
      const progress = (line: string) => process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
      const cluster = new DrillCluster(dir, flags.portBase, regions);
      const stop = () => void cluster.stop().then(() => process.exit(130));
      process.once('SIGINT', stop);
      try {
        progress(`starting a three-region cluster in ${dir}…`);
        await cluster.start();
        const results = await runDrill({ cluster, faults: flags.faults, cycles: flags.cycles, region: flags.region ?? null, loadMs: flags.loadSeconds * 1000, faultMs: flags.faultSeconds * 1000, workers: flags.workers, progress });
        if (tty) process.stderr.write('\n');
        process.stdout.write(flags.json === true ? `${JSON.stringify(results)}\n` : formatDrill(results));
        const lost = results.some((r) => r.strongLost > 0 || r.asyncLost > 0 || r.counterShort > 0);
        if (lost) process.stderr.write('terndb drill: acknowledged writes are missing after convergence (see the table)\n');
        process.exitCode = lost ? 1 : 0;
      } catch (err) {
        process.stderr.write(`\nterndb drill: ${(err as Error).message} (logs in ${dir})\n`);
        process.exitCode = 1;
      } finally {
        process.off('SIGINT', stop);
        await cluster.stop();
        if (process.exitCode === 0) rmSync(dir, { recursive: true, force: true });
      }
    });
}
