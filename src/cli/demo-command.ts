/**
 * `terndb demo`: a local multi-region cluster in one command. It checks every port it will use,
 * writes a cluster configuration, starts the WAN emulator and one node process per region (round
 * trips 80/190/120 ms between us-east, eu-west and ap-south), waits until every region is ready,
 * prints the endpoints and a tour, restarts a node that dies, and stops everything it started on
 * Ctrl-C. The parts live in src/cli/demo/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { isRegionId } from '../core/clock/version-vector.js';
import { intOption } from './options.js';
import { portProblems } from './ports.js';
import { demoConfig, demoPortUses, portHelp } from './demo/config.js';
import { regionsWithData, removeDemoFiles } from './demo/data-dir.js';
import { runDemo } from './demo/run.js';
import { ensureDemoSecrets } from './demo/secrets.js';
import { shown } from './demo/supervisor.js';

/** A dead node's restart waits this long: long enough to see it down, short enough to wait for. */
const restartDelayMs = 3_000;

interface DemoFlags {
  regions: string;
  data: string;
  portBase: number;
  fresh?: boolean;
  restart: boolean;
  insecure?: boolean;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('start a local multi-region cluster (WAN emulator + one node per region) and print a tour')
    .option('--regions <list>', 'comma-separated region names', 'us-east,eu-west,ap-south')
    .option('--data <dir>', 'where the nodes keep their data and logs, and cluster.yaml', 'terndb-demo')
    .option('--port-base <port>', 'the router serves on port-base and the n-th region its API on port-base + n (7001, 7002, ...); every port is listed below', intOption('--port-base', 1024, 64_000), 7000)
    .option('--fresh', "start empty: first delete the demo's own files in --data (region data folders, logs, cluster.yaml)")
    .option('--no-restart', 'leave a node that dies down (default: restart it after 3 s)')
    .option('--insecure', 'plaintext HTTP, plaintext links and no authentication (default: HTTPS APIs and mutual TLS between regions, a CA and certificates in --data/certs, and a root token in --data/root.token)')
    .addHelpText(
      'after',
      `${portHelp()}

Every port is checked before anything starts. Runs until Ctrl-C, then stops every process it
started. Data and logs stay in --data; the next run continues from them unless --fresh.`,
    )
    .action(async (flags: DemoFlags) => {
      const regions = flags.regions.split(',').map((r) => r.trim());
      if (regions.length < 1 || regions.some((r) => !isRegionId(r)) || new Set(regions).size !== regions.length) {
        process.stderr.write('terndb demo: --regions: give distinct region names of lowercase letters, digits and dashes\n');
        process.exitCode = 2;
        return;
      }
      const layout = { regions, portBase: flags.portBase };
      const dataDir = path.resolve(flags.data);
      // Before anything is written or started: a taken port must leave an earlier run's files as they were.
      const taken = await portProblems(demoPortUses(layout, dataDir));
      if (taken.length > 0) {
        for (const p of taken) process.stderr.write(`terndb demo: ${p}; pick another block with --port-base\n`);
        if (taken.some((p) => p.includes('cluster demo'))) process.stderr.write('terndb demo: an earlier demo still runs on these ports: stop it with Ctrl-C in its terminal, or pick another block\n');
        process.stderr.write('terndb demo: nothing was started (terndb demo --help lists every port the demo uses)\n');
        process.exitCode = 1;
        return;
      }
      if (flags.fresh === true) {
        const { removed, kept } = removeDemoFiles(dataDir, regions);
        if (removed.length > 0) process.stdout.write(`--fresh: removed the ${removed.length} files and folders of an earlier run (region data, logs, cluster.yaml) from ${shown(dataDir)}\n`);
        for (const k of kept) process.stdout.write(`--fresh: kept ${path.join(shown(dataDir), k)}: it holds files the demo did not write\n`);
      } else if (regionsWithData(dataDir, regions).length > 0) {
        process.stdout.write(`found data from an earlier run in ${shown(dataDir)}; the cluster continues from it (--fresh starts empty)\n`);
      }
      mkdirSync(dataDir, { recursive: true });
      const configPath = path.join(dataDir, 'cluster.yaml');
      // Secure unless asked otherwise: a CA, node certificates and a root token, made once and kept.
      const secrets = flags.insecure === true ? undefined : await ensureDemoSecrets(dataDir, regions);
      writeFileSync(configPath, stringify(demoConfig(layout, secrets)));
      const access = secrets === undefined ? null : { curlHome: secrets.curlHome, tokenFile: secrets.tokenFile, caFile: secrets.caFile };
      process.exitCode = await runDemo({ regions, portBase: flags.portBase, dataDir, configPath, restartDelayMs: flags.restart ? restartDelayMs : null, access });
    });
}
