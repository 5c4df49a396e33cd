/**
 * `terndb bench strong`: strong tables' numbers (issue 4), printed as a table.
 * 1. Strong write latency through the WAN emulator (80 / 190 / 120 ms), leader in us-east, one
 *    client per region at low load, against a floor measured in the same run: the round trip
 *    from the client's region to the leader, plus the leader's round trip to its nearest peer,
 *    plus one fsync.
 * 2. Lease reads at the leader.
 * 3. Side by side with etcd 3.4 behind the same emulated WAN, same heartbeat and election
 *    settings, 1 and 200 writers, in interleaved rounds (medians of the per-round figures).
 * 4. Saturation: writers doubled from 200 until neither system's throughput rises (3,200 at
 *    most), the peak of each side by side: CPU- and disk-bound, not round-trip-bound.
 * All processes share this machine; figures are medians and ratios from one run.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { encodeFrame, FrameReader } from '../server/transport/frames.js';
import { protocolVersion } from '../server/transport/peer-transport.js';
import { EtcdCluster, etcdUnavailable } from './etcd-cluster.js';
import { closedLoopLatency, inTurn, percentile, median, type LoadPart, type Target } from './load.js';
import { makeBenchCerts, type BenchCerts } from './certs.js';
import { freeBlock, start, stopAll, terndbBin, waitFor } from './processes.js';

const regions = ['us-east', 'eu-west', 'ap-south'];
const rtt: Record<string, number> = { 'us-east/eu-west': 80, 'us-east/ap-south': 190, 'eu-west/ap-south': 120 };
const heartbeatMs = 100;
const electionMs = 1000;


function configFor(dir: string, base: number, tls?: BenchCerts): string {
  const config = {
    cluster: 'bench-strong',
    ...(tls === undefined ? { insecure: true } : { tls: { ca: tls.ca } }),
    regions: regions.map((name, i) => ({ name, node: { id: name, api: `127.0.0.1:${base + 1 + i}`, peer: `127.0.0.1:${base + 60 + i}`, data: `./tern/${name}`, ...(tls !== undefined ? { tls: tls.nodes[name] } : {}) } })),
    wan: { control: `127.0.0.1:${base + 50}`, rttMs: rtt, linkPortBase: base + 100 },
    tables: { ledger: { mode: 'strong' } },
    settings: { preferredLeader: 'us-east', raftHeartbeatMs: heartbeatMs, raftElectionMs: electionMs },
  };
  const file = path.join(dir, 'cluster.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/**
 * One round trip through the emulator's link from→to, measured: a hello from another cluster
 * goes to the peer port behind the link and its refusal comes back.
 */
async function probeRtt(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const reader = new FrameReader(64 * 1024);
    let t0 = 0;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      t0 = performance.now();
      socket.write(encodeFrame({ t: 'hello', cluster: 'rtt-probe', region: 'probe', node: 'probe', protocol: protocolVersion }));
    });
    socket.on('data', (chunk: Buffer) => {
      if (reader.push(chunk).length > 0) {
        resolve(performance.now() - t0);
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}

/** Median time of a 4 KiB write plus fdatasync in `dir` (what one commit costs this disk). */
function probeFsync(dir: string): number {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 7);
  const times: number[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      writeSync(fd, block, 0, block.length, (i % 16) * 4096);
      fdatasyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
  }
  return median(times);
}

const ternWrite = (port: number, ca?: string): Target => ({ host: '127.0.0.1', port, method: 'PATCH', request: (i) => ({ path: `/v1/tables/ledger/rows/k${i % 1000}`, body: JSON.stringify({ set: { v: i } }) }), ...(ca !== undefined ? { ca } : {}) });
const etcdWrite = (port: number): Target => ({
  host: '127.0.0.1',
  port,
  method: 'POST',
  request: (i) => ({ path: '/v3/kv/put', body: JSON.stringify({ key: Buffer.from(`k${i % 1000}`).toString('base64'), value: Buffer.from(String(i)).toString('base64') }) }),
});

/** `writers` clients spread over the regions (the first region gets the remainder first). */
function spread(writers: number, target: (region: number) => Target): LoadPart[] {
  if (writers === 1) return [{ target: target(0), inFlight: 1, label: regions[0] as string }];
  return regions.map((label, i) => ({ target: target(i), inFlight: Math.floor(writers / regions.length) + (i < writers % regions.length ? 1 : 0), label }));
}

export async function runStrongBench(print: (line: string) => void, seconds = 5, rounds = 3): Promise<void> {
  const progress = (line: string) => process.stderr.write(`  … ${line}\n`);
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-bench-strong-'));
  const children: ChildProcess[] = [];
  let etcd: EtcdCluster | null = null;
  print(`strong bench: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, ${seconds} s per measurement, ${rounds} interleaved rounds; clients, nodes, emulator and etcd share the machine`);
  try {
    const base = await freeBlock(200);
    const config = configFor(dir, base);
    progress('starting the WAN emulator and three Tern nodes');
    children.push(start([terndbBin, 'wan', '--config', config], dir));
    await waitFor(`http://127.0.0.1:${base + 50}/v1/wan`);
    for (const r of regions) children.push(start([terndbBin, 'node', '--config', config, '--node', r], dir));
    for (let i = 1; i <= 3; i++) await waitFor(`http://127.0.0.1:${base + i}/readyz`);
    progress('waiting for us-east to lead the strong group');
    for (let i = 0; ; i++) {
      const statuses = await Promise.all([1, 2, 3].map(async (k) => ((await (await fetch(`http://127.0.0.1:${base + k}/v1/status`)).json()) as { raft: { leader: string | null } }).raft.leader));
      if (statuses.every((l) => l === 'us-east')) break;
      if (i > 300) throw new Error(`the strong group did not settle on us-east: ${statuses.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Floors, measured: round trips through the emulator's links, and one fsync of this disk.
    progress('measuring round trips through the emulator and the fsync time');
    const n = regions.length;
    const measured: number[][] = regions.map(() => regions.map(() => 0));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const samples: number[] = [];
        for (let k = 0; k < 5; k++) samples.push(await probeRtt(base + 100 + i * n + j));
        (measured[i] as number[])[j] = median(samples);
      }
    }
    const fsyncDir = path.join(dir, 'tern', 'us-east');
    mkdirSync(fsyncDir, { recursive: true });
    const fsyncMs = probeFsync(fsyncDir);
    const leader = 0;
    const nearest = Math.min(...regions.map((_, j) => (j === leader ? Infinity : (measured[leader] as number[])[j] as number)));
    const floor = (r: number): number => (r === leader ? 0 : ((measured[r] as number[])[leader] as number)) + nearest + fsyncMs;

    // 1. One client per region, low load.
    progress('strong writes: one client per region');
    await closedLoopLatency(spread(3, (i) => ternWrite(base + 1 + i)), 1000); // warm-up
    const low = await closedLoopLatency(spread(3, (i) => ternWrite(base + 1 + i)), seconds * 2000);
    print('');
    print('| measurement | value | target |');
    print('|---|---|---|');
    print(`| fsync (4 KiB write + fdatasync, median of 50) | ${fsyncMs.toFixed(2)} ms | |`);
    print(`| measured round trips us-east/eu-west, us-east/ap-south, eu-west/ap-south | ${(measured[0]?.[1] ?? 0).toFixed(1)} / ${(measured[0]?.[2] ?? 0).toFixed(1)} / ${(measured[1]?.[2] ?? 0).toFixed(1)} ms | (80 / 190 / 120 configured) |`);
    regions.forEach((region, r) => {
      const l = low.latenciesMs[region] ?? [];
      const f = floor(r);
      const p50 = percentile(l, 50);
      const p99 = percentile(l, 99);
      print(`| strong write from ${region} (${l.length} writes): p50 / p99; floor ${f.toFixed(1)} ms | ${p50.toFixed(1)} / ${p99.toFixed(1)} ms = ${(p50 / f).toFixed(3)} / ${(p99 / f).toFixed(3)} × floor | p50 ≤ 1.15 × floor + 1 ms (${(1.15 * f + 1).toFixed(1)}), p99 ≤ 1.5 × floor (${(1.5 * f).toFixed(1)}) |`);
    });

    // 1b. The same writes with TLS, side by side with plaintext: a second cluster in its own folder
    // and port block (mutual TLS between its regions, HTTPS on its APIs), measured in interleaved
    // rounds (links and client connections are long-lived, so handshakes are not on the write
    // path; what TLS adds is encrypting each request, append and answer).
    progress('starting a second cluster with TLS (mutual between its regions, HTTPS to clients)');
    const tlsDir = path.join(dir, 'tls');
    mkdirSync(tlsDir, { recursive: true });
    const tlsBase = await freeBlock(200);
    const certs = await makeBenchCerts(tlsDir, 'bench-strong', Object.fromEntries(regions.map((r) => [r, r])));
    const tlsConfig = configFor(tlsDir, tlsBase, certs);
    children.push(start([terndbBin, 'wan', '--config', tlsConfig], tlsDir));
    await waitFor(`http://127.0.0.1:${tlsBase + 50}/v1/wan`);
    for (const r of regions) children.push(start([terndbBin, 'node', '--config', tlsConfig, '--node', r], tlsDir));
    for (let i = 1; i <= 3; i++) await waitFor(`https://127.0.0.1:${tlsBase + i}/readyz`);
    for (let i = 0; ; i++) {
      const leaders = await Promise.all([1, 2, 3].map(async (k) => ((await (await fetch(`https://127.0.0.1:${tlsBase + k}/v1/status`)).json()) as { raft: { leader: string | null } }).raft.leader));
      if (leaders.every((l) => l === 'us-east')) break;
      if (i > 300) throw new Error(`the TLS cluster's strong group did not settle on us-east: ${leaders.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await closedLoopLatency(spread(3, (i) => ternWrite(tlsBase + 1 + i, certs.caPem)), 1000); // warm-up
    const tlsRatios: number[] = [];
    const p50s: Array<{ plain: number; tls: number }> = [];
    for (let round = 1; round <= rounds; round++) {
      progress(`TLS round ${round} of ${rounds}: plaintext and mutual TLS, one client per region`);
      const measure = async (at: number) => {
        const r = await closedLoopLatency(spread(3, (i) => ternWrite(at + 1 + i, at === tlsBase ? certs.caPem : undefined)), seconds * 1000);
        return percentile(Object.values(r.latenciesMs).flat().sort((a, b) => a - b), 50);
      };
      const [plain, secure] = await inTurn(round % 2 === 1, () => measure(base), () => measure(tlsBase));
      p50s.push({ plain, tls: secure });
      tlsRatios.push(secure / plain);
    }
    print(
      `| strong write p50, all regions, TLS (mutual between regions, HTTPS from the client) / plaintext (median of ${rounds} interleaved rounds) | ${median(p50s.map((p) => p.tls)).toFixed(1)} / ${median(p50s.map((p) => p.plain)).toFixed(1)} ms = ${median(tlsRatios).toFixed(3)} | ≤ 1.02 |`,
    );

    // 2. Lease reads at the leader.
    progress('lease reads at the leader');
    const readTarget: Target = { host: '127.0.0.1', port: base + 1, method: 'GET', request: () => ({ path: '/v1/tables/ledger/rows/k1' }) };
    await closedLoopLatency([{ target: readTarget, inFlight: 1, label: 'read' }], 500);
    const reads = await closedLoopLatency([{ target: readTarget, inFlight: 1, label: 'read' }], seconds * 1000);
    const rl = reads.latenciesMs['read'] ?? [];
    print(`| strong (lease) read at the leader, one client (${rl.length} reads): p50 / p99 | ${percentile(rl, 50).toFixed(2)} / ${percentile(rl, 99).toFixed(2)} ms | p99 ≤ 2 ms |`);

    // 3. etcd side by side.
    const why = etcdUnavailable();
    if (why !== null) {
      print(`| etcd comparison | not run: ${why} | |`);
      return;
    }
    progress('starting three etcd 3.4 members behind the emulated WAN');
    const etcdPorts = Array.from({ length: 2 * n }, (_, k) => base + 150 + k);
    const rttMatrix = regions.map((a) => regions.map((b) => (a === b ? 0 : (rtt[`${a}/${b}`] ?? rtt[`${b}/${a}`] ?? 0))));
    etcd = new EtcdCluster(path.join(dir, 'etcd'), rttMatrix, etcdPorts, heartbeatMs, electionMs);
    mkdirSync(path.join(dir, 'etcd'), { recursive: true });
    await etcd.start();
    await etcd.moveLeaderTo(0);
    const etcdTarget = (i: number) => etcdWrite(etcdPorts[2 * i] as number);
    await closedLoopLatency(spread(3, etcdTarget), 1000); // warm-up
    /** `writers` clients on Tern, then on etcd (or the other way round, `ternFirst` false). */
    const bothWith = (writers: number, ternFirst: boolean) =>
      inTurn(
        ternFirst,
        () => closedLoopLatency(spread(writers, (i) => ternWrite(base + 1 + i)), seconds * 1000),
        () => closedLoopLatency(spread(writers, etcdTarget), seconds * 1000),
      );
    const results: Array<{ tern1: number; etcd1: number; tern200: number; etcd200: number; ternRps: number; etcdRps: number; ternErr: number; etcdErr: number }> = [];
    for (let round = 1; round <= rounds; round++) {
      progress(`interleaved round ${round} of ${rounds}: Tern and etcd with 1, then 200 writers`);
      const [t1, e1] = await bothWith(1, round % 2 === 1);
      const [t200, e200] = await bothWith(200, round % 2 === 1);
      const all = (r: { latenciesMs: Record<string, number[]> }) => Object.values(r.latenciesMs).flat().sort((a, b) => a - b);
      results.push({
        tern1: percentile(all(t1), 50),
        etcd1: percentile(all(e1), 50),
        tern200: percentile(all(t200), 50),
        etcd200: percentile(all(e200), 50),
        ternRps: t200.rps,
        etcdRps: e200.rps,
        ternErr: t1.errors + t200.errors,
        etcdErr: e1.errors + e200.errors,
      });
    }
    const m = (f: (r: (typeof results)[number]) => number) => median(results.map(f));
    // The ratio is the median of the per-round ratios (each round measures both on the same
    // machine minutes apart); the rounds' ratios are listed so the spread shows.
    const ratio = (f: (r: (typeof results)[number]) => number) => `ratio ${m(f).toFixed(3)} (rounds: ${results.map((r) => f(r).toFixed(2)).join(', ')})`;
    print(`| 1 writer in us-east: p50 Tern / etcd (medians of ${rounds} rounds) | ${m((r) => r.tern1).toFixed(1)} / ${m((r) => r.etcd1).toFixed(1)} ms, ${ratio((r) => r.tern1 / r.etcd1)} | ratio ≤ 1.1 |`);
    print(`| 200 writers over three regions: p50 Tern / etcd | ${m((r) => r.tern200).toFixed(1)} / ${m((r) => r.etcd200).toFixed(1)} ms, ${ratio((r) => r.tern200 / r.etcd200)} | ratio ≤ 1.1 |`);
    print(`| 200 writers: throughput Tern / etcd | ${Math.round(m((r) => r.ternRps))} / ${Math.round(m((r) => r.etcdRps))} writes/s, ${ratio((r) => r.ternRps / r.etcdRps)} | ratio ≥ 1 |`);
    print(`| errors during the comparison, Tern / etcd | ${results.reduce((a, r) => a + r.ternErr, 0)} / ${results.reduce((a, r) => a + r.etcdErr, 0)} | |`);

    // 4. Saturation: writers doubled from 200 until neither system's throughput rises by 5 % more
    // (or 3,200 writers), each level measured for both, who goes first alternating. The peak of each
    // is what its CPU and disk allow on this machine, not what the round trips allow.
    const peak = { tern: 0, etcd: 0, ternAt: 0, etcdAt: 0 };
    const levels: string[] = [];
    for (let writers = 200, k = 0; writers <= 3200; writers *= 2, k++) {
      progress(`saturation: ${writers} writers, Tern and etcd`);
      const [t, e] = await bothWith(writers, k % 2 === 0);
      levels.push(`${writers}: ${Math.round(t.rps)} / ${Math.round(e.rps)}`);
      const rose = t.rps > peak.tern * 1.05 || e.rps > peak.etcd * 1.05;
      if (t.rps > peak.tern) Object.assign(peak, { tern: t.rps, ternAt: writers });
      if (e.rps > peak.etcd) Object.assign(peak, { etcd: e.rps, etcdAt: writers });
      if (!rose) break;
    }
    print(`| saturation: peak throughput Tern / etcd (writers doubled from 200 until neither rose 5 %; per level Tern / etcd writes/s: ${levels.join(', ')}) | ${Math.round(peak.tern)} (at ${peak.ternAt}) / ${Math.round(peak.etcd)} (at ${peak.etcdAt}) writes/s = ${(peak.tern / peak.etcd).toFixed(2)} | ≥ 1.5 |`);
  } finally {
    await etcd?.stop();
    await stopAll(children);
    rmSync(dir, { recursive: true, force: true });
  }
}
