/**
 * `terndb bench router`: what `terndb router` adds in front of the nearest region (issue 10).
 * One region node and one router (`--region us-east`) on 127.0.0.1, the same client (load.ts,
 * node:http with keep-alive) for both paths. Per round, direct and router alternate (who goes
 * first alternates between rounds) so the machine's noise falls on both:
 * 1. latency at a modest fixed rate (open loop): p50 / p99 of a row read and of a row write,
 *    direct to the node and through the router, and the added p50;
 * 2. throughput at saturation with the same number of requests in flight, direct and through the
 *    router, and the ratio.
 * The router gives every write without an Idempotency-Key one, so the node records it; a third arm
 * (direct, with a client key) separates that cost from the router's own. Figures are medians over
 * rounds (ratios and added p50: medians of the per-round values), printed, never asserted.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import path from 'node:path';
import { closedLoop, openLoop, median, percentile, type Target } from './load.js';
import { freeBlock, start, stopAll, terndbBin, waitFor } from './processes.js';

const region = 'us-east';
const rows = 1_000;
/** Requests per second in the latency part: far below what either path can serve. */
const rate = 200;
/** Requests in flight in the throughput part (as `bench node`). */
const inFlight = 64;


type Arm = 'direct' | 'keyed' | 'router';
const armName: Record<Arm, string> = { direct: 'direct', keyed: 'direct + key', router: 'router' };

const readTarget = (port: number): Target => ({ host: '127.0.0.1', port, method: 'GET', request: (i) => ({ path: `/v1/tables/profiles/rows/user-${i % rows}` }) });

/** A PATCH of one of the seeded rows; `keyed`: with a client Idempotency-Key, unique per request. */
function writeTarget(port: number, keyed: string | null): Target {
  return {
    host: '127.0.0.1',
    port,
    method: 'PATCH',
    request: (i) => ({
      path: `/v1/tables/profiles/rows/user-${i % rows}`,
      body: JSON.stringify(i % 2 === 0 ? { set: { name: `n${i}` } } : { incr: { visits: 1 } }),
      ...(keyed === null ? {} : { headers: { 'idempotency-key': `${keyed}-${i}` } }),
    }),
  };
}

interface Latency {
  p50: number;
  p99: number;
  n: number;
  errors: number;
}

interface Round {
  read: Record<'direct' | 'router', Latency>;
  write: Record<Arm, Latency>;
  readRps: Record<'direct' | 'router', number>;
  writeRps: Record<Arm, number>;
  errors: number;
}

export async function runRouterBench(print: (line: string) => void, seconds = 5, rounds = 3): Promise<void> {
  const progress = (line: string) => process.stderr.write(`  … ${line}\n`);
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-bench-router-'));
  const children: ChildProcess[] = [];
  // Stop what we started on Ctrl-C or a kill too, not only on failure.
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nrouter bench: ${signal}, stopping the node and the router\n`);
    void stopAll(children).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const ms = seconds * 1000;
  print(
    `router bench: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start; ${seconds} s per measurement, ${rounds} interleaved rounds; client, node and router share the machine`,
  );
  try {
    const base = await freeBlock(100);
    const nodePort = base + 1;
    const routerPort = base + 10;
    const config = path.join(dir, 'cluster.json');
    writeFileSync(
      config,
      JSON.stringify({
        cluster: 'bench-router',
        insecure: true,
        regions: [{ name: region, node: { id: region, api: `127.0.0.1:${nodePort}`, peer: `127.0.0.1:${base + 60}`, data: `./${region}` } }],
        tables: { profiles: { fields: { name: 'lww', visits: 'counter' } } },
      }),
    );
    progress(`starting one region node (${region}) and terndb router --region ${region} in front of it`);
    children.push(start([terndbBin, 'node', '--config', config, '--node', region], dir));
    await waitFor(`http://127.0.0.1:${nodePort}/readyz`);
    children.push(start([terndbBin, 'router', '--config', config, '--api', `127.0.0.1:${routerPort}`, '--region', region], dir));
    await waitFor(`http://127.0.0.1:${routerPort}/v1/router/status`);
    for (let i = 0; ; i++) {
      const s = (await (await fetch(`http://127.0.0.1:${routerPort}/v1/router/status`)).json()) as { regions: Array<{ region: string; stage: string | null }> };
      if (s.regions.find((r) => r.region === region)?.stage === 'write-ready') break;
      if (i > 100) throw new Error(`the router does not see ${region} write-ready: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    progress(`seeding ${rows} rows, warming up both paths`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < rows) {
          const i = next++;
          const r = await fetch(`http://127.0.0.1:${nodePort}/v1/tables/profiles/rows/user-${i}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ set: { name: 'seed' } }) });
          if (r.status !== 200) throw new Error(`seeding row user-${i} answered ${r.status}: ${await r.text()}`);
          await r.arrayBuffer().catch(() => undefined);
        }
      }),
    );
    const run = Date.now().toString(36);
    const port: Record<Arm, number> = { direct: nodePort, keyed: nodePort, router: routerPort };
    const write = (arm: Arm, tag: string) => writeTarget(port[arm], arm === 'keyed' ? `bench-${run}-${tag}` : null);
    for (const p of [nodePort, routerPort]) {
      await closedLoop(readTarget(p), inFlight, 1_000);
      await closedLoop(writeTarget(p, null), inFlight, 1_000);
    }
    const check = await fetch(`http://127.0.0.1:${routerPort}/v1/tables/profiles/rows/user-1`);
    if (check.status !== 200 || check.headers.get('tern-region') !== region) throw new Error(`a read through the router answered ${check.status} from ${check.headers.get('tern-region') ?? 'no region'}`);

    const results: Round[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Odd rounds measure direct first, even rounds the router first.
      const order = <T extends Arm>(arms: T[]): T[] => (round % 2 === 1 ? arms : [...arms].reverse());
      const lat = async (t: Target): Promise<Latency> => {
        const r = await openLoop(t, rate, ms);
        return { p50: percentile(r.latenciesMs, 50), p99: percentile(r.latenciesMs, 99), n: r.latenciesMs.length, errors: r.errors };
      };
      progress(`round ${round} of ${rounds}: latency at ${rate}/s, reads then writes (${order<Arm>(['direct', 'keyed', 'router']).map((a) => armName[a]).join(', ')})`);
      const read = {} as Round['read'];
      for (const arm of order<'direct' | 'router'>(['direct', 'router'])) read[arm] = await lat(readTarget(port[arm]));
      const writeLat = {} as Round['write'];
      for (const arm of order<Arm>(['direct', 'keyed', 'router'])) writeLat[arm] = await lat(write(arm, `l${round}`));
      progress(`round ${round} of ${rounds}: throughput with ${inFlight} in flight, reads then writes`);
      const readRps = {} as Round['readRps'];
      const writeRps = {} as Round['writeRps'];
      let errors = Object.values(read).reduce((a, l) => a + l.errors, 0) + Object.values(writeLat).reduce((a, l) => a + l.errors, 0);
      for (const arm of order<'direct' | 'router'>(['direct', 'router'])) {
        const r = await closedLoop(readTarget(port[arm]), inFlight, ms);
        readRps[arm] = r.rps;
        errors += r.errors;
      }
      for (const arm of order<Arm>(['direct', 'keyed', 'router'])) {
        const r = await closedLoop(write(arm, `t${round}`), inFlight, ms);
        writeRps[arm] = r.rps;
        errors += r.errors;
      }
      results.push({ read, write: writeLat, readRps, writeRps, errors });
      progress(
        `round ${round}: read p50 ${read.direct.p50.toFixed(2)} → ${read.router.p50.toFixed(2)} ms, write p50 ${writeLat.direct.p50.toFixed(2)} → ${writeLat.router.p50.toFixed(2)} ms; read ${Math.round(readRps.direct)} → ${Math.round(readRps.router)}/s, write ${Math.round(writeRps.direct)} → ${Math.round(writeRps.router)}/s`,
      );
    }

    const m = (f: (r: Round) => number, digits: number) => median(results.map(f)).toFixed(digits);
    const each = (f: (r: Round) => number, digits: number) => `rounds: ${results.map((r) => f(r).toFixed(digits)).join(', ')}`;
    const pair = (f: (r: Round) => Latency) => `${m((r) => f(r).p50, 2)} / ${m((r) => f(r).p99, 2)} ms`;
    const n = (f: (r: Round) => Latency) => results.reduce((a, r) => a + f(r).n, 0);
    print('');
    print(`| measurement (median of ${rounds} rounds) | direct to the node | through the router | router − direct, router / direct | target |`);
    print('|---|---|---|---|---|');
    print(`| read at ${rate}/s: p50 / p99 (${n((r) => r.read.direct)} / ${n((r) => r.read.router)} reads) | ${pair((r) => r.read.direct)} | ${pair((r) => r.read.router)} | added p50 ${m((r) => r.read.router.p50 - r.read.direct.p50, 2)} ms (${each((r) => r.read.router.p50 - r.read.direct.p50, 2)}) | added p50 ≤ 0.3 ms |`);
    print(`| write (PATCH) at ${rate}/s: p50 / p99 (${n((r) => r.write.direct)} / ${n((r) => r.write.router)} writes) | ${pair((r) => r.write.direct)} | ${pair((r) => r.write.router)} | added p50 ${m((r) => r.write.router.p50 - r.write.direct.p50, 2)} ms (${each((r) => r.write.router.p50 - r.write.direct.p50, 2)}) | added p50 ≤ 0.3 ms |`);
    print(`| write at ${rate}/s with a client Idempotency-Key, direct: p50 / p99 | ${pair((r) => r.write.keyed)} | | router − keyed direct: added p50 ${m((r) => r.write.router.p50 - r.write.keyed.p50, 2)} ms | |`);
    print(`| read throughput, ${inFlight} in flight | ${m((r) => r.readRps.direct, 0)} req/s | ${m((r) => r.readRps.router, 0)} req/s | ratio ${m((r) => r.readRps.router / r.readRps.direct, 3)} (${each((r) => r.readRps.router / r.readRps.direct, 2)}) | ≥ 0.8 × |`);
    print(`| write throughput, ${inFlight} in flight | ${m((r) => r.writeRps.direct, 0)} req/s | ${m((r) => r.writeRps.router, 0)} req/s | ratio ${m((r) => r.writeRps.router / r.writeRps.direct, 3)} (${each((r) => r.writeRps.router / r.writeRps.direct, 2)}) | ≥ 0.8 × |`);
    print(`| write throughput with a client Idempotency-Key, direct | ${m((r) => r.writeRps.keyed, 0)} req/s | | router / keyed direct: ratio ${m((r) => r.writeRps.router / r.writeRps.keyed, 3)} | |`);
    print(`| errors (non-2xx or failed requests), all rounds | | | ${results.reduce((a, r) => a + r.errors, 0)} | |`);
    print(`load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`);
  } finally {
    await stopAll(children);
    rmSync(dir, { recursive: true, force: true });
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
