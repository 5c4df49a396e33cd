/**
 * `terndb bench failover`: how long failover inside the database takes, on real processes through
 * the WAN emulator (80/190/120 ms), with the default lease (4 s), renewal (1 s) and clock offset
 * (500 ms). Per round:
 * 1. ap-south is isolated: time until its guarded writes answer 503 FENCED (bound: lease − offset
 *    after its last renewal), and until its failover region (eu-west) accepts its rows (bound:
 *    lease + offset + one strong commit);
 * 2. us-east takes 10,000 writes ap-south misses; the partition heals: time until ap-south has
 *    applied them all (the catch-up transfer) and until it is write-ready again (target: transfer
 *    + 1 s);
 * 3. ap-south is restarted with nothing missed: time it spends in catching-up (target: one
 *    heartbeat round + 100 ms), and until write-ready.
 * Figures are printed (medians over rounds), never asserted.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freeBlock, start, stopAll, terndbBin, waitFor } from './processes.js';
import { percentile } from './load.js';

const regions = ['us-east', 'eu-west', 'ap-south'];
const missedWrites = 10_000;

interface Round {
  fencedMs: number;
  failoverMs: number;
  catchUpMs: number;
  writeReadyMs: number;
  restartCatchingUpMs: number;
  restartWriteReadyMs: number;
}

/** `count` distinct rows written with `inFlight` requests at a time. */
async function writeMany(prefix: string, count: number, inFlight: number): Promise<{ ok: number; errors: number }> {
  let next = 0;
  let ok = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        if ((await call(`${prefix}${i}`, 'PATCH', { set: { v: i } })).status === 200) ok++;
        else errors++;
      }
    }),
  );
  return { ok, errors };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The parts of an answer the benchmark looks at (the rest is cast where it is read). */
interface Answer {
  readonly error?: { readonly code?: string };
  readonly stage?: string;
}

async function call(url: string, method = 'GET', body?: unknown): Promise<{ status: number; body: Answer | null }> {
  try {
    const r = await fetch(url, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    const text = await r.text();
    return { status: r.status, body: text === '' ? null : (JSON.parse(text) as Answer) };
  } catch {
    return { status: 0, body: null };
  }
}

/** Polls every `everyMs` until `done` holds; returns the ms it took from `since`. */
async function until(since: number, everyMs: number, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<number> {
  for (;;) {
    if (await done()) return performance.now() - since;
    if (performance.now() - since > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

export async function runFailoverBench(print: (line: string) => void, rounds: number): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-bench-failover-'));
  const base = await freeBlock(120);
  const api = (r: string) => `http://127.0.0.1:${base + 1 + regions.indexOf(r)}`;
  const control = `http://127.0.0.1:${base + 50}`;
  const file = path.join(dir, 'cluster.json');
  writeFileSync(
    file,
    JSON.stringify({
      cluster: 'bench-failover',
      insecure: true,
      regions: regions.map((name, i) => ({ name, node: { id: name, api: `127.0.0.1:${base + 1 + i}`, peer: `127.0.0.1:${base + 60 + i}`, data: `./${name}` } })),
      wan: { control: `127.0.0.1:${base + 50}`, rttMs: { 'us-east/eu-west': 80, 'us-east/ap-south': 190, 'eu-west/ap-south': 120 }, linkPortBase: base + 100 },
      tables: {
        free: { fields: { v: 'lww' } },
        strict: { whenIsolated: 'reject', fields: { v: 'lww' } },
        owned: { ownership: 'home-with-failover', home: { field: 'home' } },
      },
    }),
  );
  const nodes = new Map<string, ChildProcess>();
  const wan = start([terndbBin, 'wan', '--config', file], dir);
  const startNode = (r: string) => nodes.set(r, start([terndbBin, 'node', '--config', file, '--node', r], dir));
  try {
    await waitFor(`${control}/v1/wan`);
    for (const r of regions) startNode(r);
    for (const r of regions) await waitFor(`${api(r)}/readyz`);
    print(`failover: 3 regions through the WAN emulator (80/190/120 ms), lease 4000 ms, renew 1000 ms, maxClockOffsetMs 500; ${rounds} round(s)`);
    const results: Round[] = [];
    for (let round = 0; round < rounds; round++) {
      const key = `o${round}`;
      if ((await call(`${api('ap-south')}/v1/tables/owned/rows/${key}`, 'PATCH', { set: { home: 'ap-south', v: 0 } })).status !== 200) throw new Error('ap-south did not take a write to its own row');
      await until(performance.now(), 20, async () => (await call(`${api('eu-west')}/v1/tables/owned/rows/${key}`)).status === 200);

      // 1. Isolation.
      const t0 = performance.now();
      await call(`${control}/v1/wan/partition`, 'POST', { isolate: 'ap-south' });
      const fencedMs = await until(t0, 10, async () => (await call(`${api('ap-south')}/v1/tables/strict/rows/s`, 'PATCH', { set: { v: round } })).body?.error?.code === 'FENCED');
      const failoverMs = await until(t0, 10, async () => (await call(`${api('eu-west')}/v1/tables/owned/rows/${key}`, 'PATCH', { set: { v: 1 } })).status === 200);
      print(`  round ${round + 1}: isolation → guarded writes refused ${fencedMs.toFixed(0)} ms, failover region accepting ${failoverMs.toFixed(0)} ms`);

      // 2. Writes the island misses, then the heal.
      const load = await writeMany(`${api('us-east')}/v1/tables/free/rows/r${round}-`, missedWrites, 32);
      const target = ((await call(`${api('us-east')}/v1/status`)).body as unknown as { vector: Record<string, number> }).vector['us-east'] ?? 0;
      const tHeal = performance.now();
      await call(`${control}/v1/wan/heal`, 'POST');
      let catchUpMs = NaN;
      const writeReadyMs = await until(tHeal, 10, async () => {
        const s = (await call(`${api('ap-south')}/v1/status`)).body as unknown as { stage: string; vector: Record<string, number> } | null;
        if (s === null) return false;
        if (Number.isNaN(catchUpMs) && (s.vector['us-east'] ?? 0) >= target) catchUpMs = performance.now() - tHeal;
        return s.stage === 'write-ready' && !Number.isNaN(catchUpMs);
      });
      print(`  round ${round + 1}: ${load.ok} writes missed (${load.errors} failed); heal → all applied ${catchUpMs.toFixed(0)} ms, write-ready ${writeReadyMs.toFixed(0)} ms`);

      // 3. A restart with nothing missed (after ap-south has its lease back).
      await until(performance.now(), 20, async () => {
        const s = (await call(`${api('ap-south')}/v1/status`)).body as unknown as { leases: Array<{ region: string; holder: string | null }> } | null;
        return s?.leases.find((l) => l.region === 'ap-south')?.holder === 'ap-south';
      });
      await stopAll([nodes.get('ap-south') as ChildProcess]);
      const tStart = performance.now();
      startNode('ap-south');
      let firstAnswer = NaN;
      let leftCatchingUp = NaN;
      const restartWriteReadyMs = await until(tStart, 5, async () => {
        const r = await call(`${api('ap-south')}/readyz`);
        if (r.status === 0) return false;
        const now = performance.now() - tStart;
        if (Number.isNaN(firstAnswer)) firstAnswer = now;
        if (Number.isNaN(leftCatchingUp) && r.body?.stage !== 'catching-up') leftCatchingUp = now;
        return r.body?.stage === 'write-ready';
      });
      const restartCatchingUpMs = leftCatchingUp - firstAnswer;
      print(`  round ${round + 1}: restart → answering ${firstAnswer.toFixed(0)} ms, in catching-up ${restartCatchingUpMs.toFixed(0)} ms, write-ready ${restartWriteReadyMs.toFixed(0)} ms after the process started`);
      results.push({ fencedMs, failoverMs, catchUpMs, writeReadyMs, restartCatchingUpMs, restartWriteReadyMs });
    }
    const med = (f: (r: Round) => number) => percentile(results.map(f).sort((a, b) => a - b), 50).toFixed(0).padStart(7);
    print('');
    print('figure (median over rounds)                                   ms   bound or target');
    print(`isolation → guarded writes refused                       ${med((r) => r.fencedMs)}   ≤ lease − offset = 3500`);
    print(`isolation → failover region accepting the home's rows    ${med((r) => r.failoverMs)}   ≤ lease + offset + one strong commit ≈ 4500 + commit`);
    print(`heal → ${missedWrites} missed writes applied (catch-up transfer)  ${med((r) => r.catchUpMs)}`);
    print(`heal → write-ready                                       ${med((r) => r.writeReadyMs)}   ≤ transfer + 1000`);
    print(`heal → write-ready, beyond the transfer                  ${med((r) => r.writeReadyMs - r.catchUpMs)}   ≤ 1000`);
    print(`restart, nothing missed: time in catching-up             ${med((r) => r.restartCatchingUpMs)}   ≤ heartbeat round + 100`);
    print(`restart, nothing missed: process start → write-ready     ${med((r) => r.restartWriteReadyMs)}`);
  } finally {
    await stopAll([...nodes.values(), wan]);
    rmSync(dir, { recursive: true, force: true });
  }
}
