/**
 * `terndb demo`: a local multi-region cluster in one command. It writes a cluster configuration,
 * starts the WAN emulator and one node process per region (round trips 80/190/120 ms between
 * us-east, eu-west and ap-south), waits until every region is ready, prints the endpoints and a
 * tour, and stops everything it started on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { isRegionId } from '../core/clock/version-vector.js';
import { intOption } from './options.js';

const knownRtt: Record<string, number> = { 'us-east/eu-west': 80, 'us-east/ap-south': 190, 'eu-west/ap-south': 120 };

export interface DemoLayout {
  readonly regions: readonly string[];
  readonly portBase: number;
  readonly dataDir: string;
}

/** The demo's cluster configuration (docs/api.md, `terndb demo`: region i's API on B+i, WAN control on B+50, the rest above B+100). */
export function demoConfig(layout: DemoLayout): Record<string, unknown> {
  const { regions, portBase: b } = layout;
  const rttMs: Record<string, number> = {};
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i] as string;
      const c = regions[j] as string;
      rttMs[`${a}/${c}`] = knownRtt[`${a}/${c}`] ?? knownRtt[`${c}/${a}`] ?? 100 + 20 * (j - i);
    }
  }
  return {
    cluster: 'demo',
    regions: regions.map((name, i) => ({
      name,
      node: { id: `${name}-1`, api: `127.0.0.1:${b + 1 + i}`, peer: `127.0.0.1:${b + 101 + i}`, data: `./${name}` },
    })),
    wan: { control: `127.0.0.1:${b + 50}`, rttMs, linkPortBase: b + 200 },
    router: { api: `127.0.0.1:${b}` },
    // The strong tables' Raft leader settles in the first region (nearest its peers in the demo).
    settings: { preferredLeader: regions[0] },
    tables: {
      profiles: { mode: 'async', fields: { name: 'lww', visits: 'counter', tags: 'set' } },
      carts: { mode: 'async', fields: { items: 'set', note: 'lww' }, onDeleteUpdate: 'update-wins' },
      accounts: { mode: 'strong', fields: { balance: 'counter' } },
    },
  };
}

function tour(regions: readonly string[], b: number): string {
  const api = (i: number) => `localhost:${b + 1 + i}`;
  const [r1, r2, r3] = [0, Math.min(1, regions.length - 1), Math.min(2, regions.length - 1)];
  const json = "-H 'content-type: application/json'";
  return `
Tour (copy and paste):

  # Write the same row in two regions at once: different fields, and a counter.
  curl -s -X PATCH ${api(r1)}/v1/tables/profiles/rows/ann ${json} -d '{"set":{"name":"Ann"},"incr":{"visits":1}}'
  curl -s -X PATCH ${api(r2)}/v1/tables/profiles/rows/ann ${json} -d '{"add":{"tags":["admin"]},"incr":{"visits":1}}'

  # A moment later every region holds both writes merged (visits: 2).
  curl -s ${api(r3)}/v1/tables/profiles/rows/ann

  # Now a real conflict: the same field, written in two regions at once.
  curl -s -X PATCH ${api(r1)}/v1/tables/profiles/rows/ann ${json} -d '{"set":{"name":"Ann B."}}' & \\
  curl -s -X PATCH ${api(r3)}/v1/tables/profiles/rows/ann ${json} -d '{"set":{"name":"Annie"}}'; wait

  # Every region agrees on the winner, and the conflict feed (same ids everywhere) shows the loser.
  curl -s ${api(r2)}/v1/tables/profiles/rows/ann
  curl -s ${api(r2)}/v1/conflicts

  # Cut ${regions[r3]} off, write on both sides, heal, and watch it converge.
  curl -s -X POST localhost:${b + 50}/v1/wan/partition -d '{"isolate":"${regions[r3]}"}'
  curl -s -X PATCH ${api(r3)}/v1/tables/profiles/rows/bob ${json} -d '{"incr":{"visits":5}}'
  curl -s -X PATCH ${api(r1)}/v1/tables/profiles/rows/bob ${json} -d '{"incr":{"visits":7}}'
  curl -s ${api(r1)}/v1/tables/profiles/rows/bob          # 7: the island's write cannot arrive
  curl -s -X POST localhost:${b + 50}/v1/wan/heal
  curl -s ${api(r1)}/v1/tables/profiles/rows/bob          # 12, in every region

  # A strong table: writes commit through a quorum (Raft), and a transaction commits only if its
  # compares hold. Open two accounts, then move 30 from alice to bob if alice has it.
  curl -s -X POST ${api(r2)}/v1/txn ${json} -d '{"compare":[{"table":"accounts","key":"alice","op":"missing"}],"success":[{"table":"accounts","key":"alice","set":{"balance":100}},{"table":"accounts","key":"bob","set":{"balance":0}}]}'
  curl -s -X POST ${api(r3)}/v1/txn ${json} -d '{"compare":[{"table":"accounts","key":"alice","field":"balance","op":">=","value":30}],"success":[{"table":"accounts","key":"alice","incr":{"balance":-30}},{"table":"accounts","key":"bob","incr":{"balance":30}}],"failure":[{"table":"accounts","key":"alice","get":true}]}'
  curl -s '${api(r1)}/v1/tables/accounts/rows/alice?consistency=strong'      # 70, from any region

  # Where each region stands (its raft part names the strong tables' leader), and its metrics.
  curl -s ${api(r1)}/v1/status
  curl -s ${api(r1)}/metrics | grep tern_replication
`;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('start a local multi-region cluster (WAN emulator + one node per region) and print a tour')
    .option('--regions <list>', 'comma-separated region names', 'us-east,eu-west,ap-south')
    .option('--data <dir>', 'where the nodes keep their data and logs', 'terndb-demo')
    .option('--port-base <port>', 'region i serves its API on port-base + i; the WAN control API is on port-base + 50', intOption('--port-base', 1024, 64_000), 7000)
    .addHelpText('after', '\nRuns until Ctrl-C, then stops every process it started. Data and logs stay in --data.')
    .action(async (flags: { regions: string; data: string; portBase: number }) => {
      const regions = flags.regions.split(',').map((r) => r.trim());
      if (regions.length < 1 || regions.some((r) => !isRegionId(r)) || new Set(regions).size !== regions.length) {
        process.stderr.write('terndb demo: --regions: give distinct region names of lowercase letters, digits and dashes\n');
        process.exitCode = 2;
        return;
      }
      const dataDir = path.resolve(flags.data);
      mkdirSync(dataDir, { recursive: true });
      const configPath = path.join(dataDir, 'cluster.yaml');
      writeFileSync(configPath, stringify(demoConfig({ regions, portBase: flags.portBase, dataDir })));
      process.exitCode = await runDemo(regions, flags.portBase, dataDir, configPath);
    });
}

async function waitReady(url: string, child: ChildProcess, name: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}; see ${logFile}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready after 30 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runDemo(regions: readonly string[], b: number, dataDir: string, configPath: string): Promise<number> {
  const bin = fileURLToPath(new URL('../../bin/terndb.js', import.meta.url));
  const children: Array<{ name: string; child: ChildProcess; log: string }> = [];
  const start = (name: string, args: string[]) => {
    const log = path.join(dataDir, `${name}.log`);
    const out = createWriteStream(log, { flags: 'a' });
    const child = spawn(process.execPath, ['--max-semi-space-size=64', bin, ...args], { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    children.push({ name, child, log });
    return { child, log };
  };
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    await Promise.all(
      children.map(({ child }) =>
        child.exitCode !== null
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
              child.once('exit', () => {
                clearTimeout(force);
                resolve();
              });
              child.kill('SIGTERM');
            }),
      ),
    );
  };
  process.stdout.write(`Starting a ${regions.length}-region Tern cluster in ${dataDir}\n`);
  try {
    const wan = start('wan', ['wan', '--config', configPath]);
    await waitReady(`http://127.0.0.1:${b + 50}/v1/wan`, wan.child, 'the WAN emulator', wan.log);
    process.stdout.write(`  wan emulator     http://localhost:${b + 50}/v1/wan\n`);
    await Promise.all(
      regions.map(async (region, i) => {
        const node = start(region, ['node', '--config', configPath, '--node', region]);
        await waitReady(`http://127.0.0.1:${b + 1 + i}/readyz`, node.child, `region ${region}`, node.log);
        process.stdout.write(`  ${region.padEnd(16)} http://localhost:${b + 1 + i}   (log: ${path.relative(process.cwd(), node.log)})\n`);
      }),
    );
  } catch (err) {
    process.stderr.write(`terndb demo: ${(err as Error).message}\n`);
    await stopAll();
    return 1;
  }
  process.stdout.write(tour(regions, b));
  process.stdout.write('\nRunning. Press Ctrl-C to stop every process.\n');
  return new Promise<number>((resolve) => {
    const finish = (code: number) => void stopAll().then(() => resolve(code));
    for (const { name, child, log } of children) {
      child.once('exit', (code) => {
        if (stopping) return;
        process.stderr.write(`terndb demo: ${name} exited unexpectedly (code ${code}); see ${log}. Stopping the rest.\n`);
        finish(1);
      });
    }
    const onSignal = () => {
      process.stdout.write('\nStopping…\n');
      finish(0);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
