/**
 * `terndb bench leader`: the first strong write after the strong group's leader is SIGKILLed,
 * Tern and etcd 3.4 side by side behind the same emulated WAN (80 / 190 / 120 ms), heartbeat
 * 100 ms, election timeout 1000 ms, both leaders in us-east. Per round and system: a writer in
 * eu-west writes every 10 ms (open loop), the leader's process is SIGKILLed, and the figure is the
 * time from the kill to the first write eu-west acknowledges once it no longer follows the dead
 * leader (so the dead leader did not commit it; its log position is also past the leader's commit
 * read just before the kill); a write in flight at the kill counts when it is acknowledged later.
 * Also: when eu-west learns of the new leader (polled every ~10 ms). Then the
 * member is restarted and the leader moved back. Systems alternate who goes first per round.
 * Figures are printed (medians, per-round ratios), never asserted.
 */
import { splitSessionToken } from '../core/strong/session-token.js';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { EtcdCluster, etcdUnavailable } from './etcd-cluster.js';
import { freeBlock, start, stopAll, terndbBin, waitFor } from './processes.js';
import { SteadyWriter, type WriteOutcome } from './steady-writer.js';
import { median } from './load.js';

const regions = ['us-east', 'eu-west', 'ap-south'];
const rtt: Record<string, number> = { 'us-east/eu-west': 80, 'us-east/ap-south': 190, 'eu-west/ap-south': 120 };
const heartbeatMs = 100;
const electionMs = 1000;
const bound = electionMs + 2 * Math.max(...Object.values(rtt));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One failover of one system: ms from the kill. */
interface Failover {
  firstWriteMs: number;
  /** When the first write was sent, relative to the kill (negative: in flight at the kill). */
  sentMs: number;
  electedMs: number;
}

/** What the bench needs of a system: the leader's commit, the kill, eu-west's view, writes, and the way back. */
interface System {
  readonly name: string;
  committed(): Promise<number>;
  kill(): Promise<void>;
  /** Whom eu-west follows: the killed leader, nobody (or unknown), or a new leader. */
  leaderAtWest(): Promise<'old' | 'none' | 'new'>;
  write(i: number, signal: AbortSignal): Promise<WriteOutcome>;
  recover(): Promise<void>;
}

async function json<T>(url: string, init?: RequestInit): Promise<T | null> {
  try {
    const r = await fetch(url, init);
    return r.ok ? ((await r.json()) as T) : null;
  } catch {
    return null;
  }
}

async function until(what: string, timeoutMs: number, done: () => Promise<boolean>): Promise<void> {
  const t0 = performance.now();
  while (!(await done())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function measure(system: System): Promise<Failover> {
  const writer = new SteadyWriter((i, signal) => system.write(i, signal));
  writer.start();
  try {
    await sleep(1000);
    if (writer.successes.length === 0) throw new Error(`${system.name}: no write succeeded before the kill`);
    const committed = await system.committed();
    const t0 = performance.now();
    await system.kill();
    // Acknowledgements of what the dead leader committed still arrive for a while after the kill
    // (its last messages cross the WAN); they are not writes after the kill. Anything eu-west
    // acknowledges once it has stopped following the dead leader was committed by a new one.
    let stillFollowingAt = t0;
    let electedMs = NaN;
    await until(`${system.name}: a write after the kill`, 30_000, async () => {
      if (Number.isNaN(electedMs)) {
        const asked = performance.now();
        const view = await system.leaderAtWest();
        if (view === 'old') stillFollowingAt = asked;
        else if (view === 'new') electedMs = performance.now() - t0;
      }
      return writer.firstAfter(stillFollowingAt, committed) !== undefined && !Number.isNaN(electedMs);
    }).catch((e: Error) => {
      const after = writer.successes.filter((s) => s.doneMs >= t0);
      throw new Error(`${e.message} (leader's commit ${committed}; ${after.length} acknowledged after the kill, last at ${after.at(-1)?.position ?? '-'}; ${writer.failures} failed; new leader known ${electedMs.toFixed(0)} ms)`);
    });
    const first = writer.firstAfter(stillFollowingAt, committed)!;
    const early = writer.successes.filter((s) => s.doneMs >= t0 && s.doneMs < stillFollowingAt).length;
    if (early > 0) process.stderr.write(`  … ${system.name}: ${early} write(s) the dead leader had committed were acknowledged after the kill (not counted)\n`);
    return { firstWriteMs: first.doneMs - t0, sentMs: first.sentMs - t0, electedMs };
  } finally {
    writer.stop();
  }
}

export async function runLeaderBench(print: (line: string) => void, rounds = 3): Promise<void> {
  const progress = (line: string) => process.stderr.write(`  … ${line}\n`);
  const why = etcdUnavailable();
  if (why !== null) {
    print(`leader bench: not run: ${why}`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-bench-leader-'));
  const nodes = new Map<string, ChildProcess>();
  const others: ChildProcess[] = [];
  let etcd: EtcdCluster | null = null;
  const stopEverything = async () => {
    await etcd?.stop();
    await stopAll([...nodes.values(), ...others]);
    rmSync(dir, { recursive: true, force: true });
  };
  // Stop what we started on Ctrl-C or a kill too, not only on failure.
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nleader bench: ${signal}, stopping the nodes, the emulator and etcd\n`);
    void stopEverything().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  print(
    `leader bench: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start; WAN 80/190/120 ms, heartbeat ${heartbeatMs} ms, election ${electionMs} ms, leader us-east, writer in eu-west every 10 ms; ${rounds} interleaved rounds`,
  );
  try {
    const base = await freeBlock(200);
    const api = (r: string) => `http://127.0.0.1:${base + 1 + regions.indexOf(r)}`;
    const config = path.join(dir, 'cluster.json');
    writeFileSync(
      config,
      JSON.stringify({
        cluster: 'bench-leader',
        insecure: true,
        regions: regions.map((name, i) => ({ name, node: { id: name, api: `127.0.0.1:${base + 1 + i}`, peer: `127.0.0.1:${base + 60 + i}`, data: `./tern/${name}` } })),
        wan: { control: `127.0.0.1:${base + 50}`, rttMs: rtt, linkPortBase: base + 100 },
        tables: { ledger: { mode: 'strong' } },
        settings: { preferredLeader: 'us-east', raftHeartbeatMs: heartbeatMs, raftElectionMs: electionMs },
      }),
    );
    progress('starting the WAN emulator and three Tern nodes');
    others.push(start([terndbBin, 'wan', '--config', config], dir));
    await waitFor(`http://127.0.0.1:${base + 50}/v1/wan`);
    const startNode = (r: string) => nodes.set(r, start([terndbBin, 'node', '--config', config, '--node', r], dir));
    for (const r of regions) startNode(r);
    for (const r of regions) await waitFor(`${api(r)}/readyz`);
    type Raft = { raft: { leader: string | null; commitIndex: number } };
    const ternSettled = () => until('the strong group settling on us-east', 120_000, async () => (await Promise.all(regions.map((r) => json<Raft>(`${api(r)}/v1/status`)))).every((s) => s?.raft.leader === 'us-east'));
    progress('waiting for us-east to lead the strong group');
    await ternSettled();
    const tern: System = {
      name: 'Tern',
      committed: async () => {
        const c = (await json<Raft>(`${api('us-east')}/v1/status`))?.raft.commitIndex;
        if (typeof c !== 'number') throw new Error("Tern: us-east's status gave no commit index");
        return c;
      },
      kill: async () => {
        const p = nodes.get('us-east') as ChildProcess;
        nodes.delete('us-east');
        await new Promise<void>((r) => (p.once('exit', () => r()), p.kill('SIGKILL')));
      },
      leaderAtWest: async () => {
        const l = (await json<Raft>(`${api('eu-west')}/v1/status`))?.raft.leader;
        return l === 'us-east' ? 'old' : l === undefined || l === null ? 'none' : 'new';
      },
      write: async (i, signal) => {
        const r = await fetch(`${api('eu-west')}/v1/tables/ledger/rows/k${i % 1000}`, { method: 'PATCH', body: JSON.stringify({ set: { v: i } }), headers: { 'content-type': 'application/json' }, signal });
        await r.arrayBuffer();
        const token = splitSessionToken(r.headers.get('tern-session') ?? undefined);
        return { ok: r.status === 200, position: token.ok ? token.value.strong : 0 };
      },
      recover: async () => {
        startNode('us-east');
        await waitFor(`${api('us-east')}/readyz`);
        await ternSettled();
      },
    };

    progress('starting three etcd 3.4 members behind the emulated WAN');
    mkdirSync(path.join(dir, 'etcd'), { recursive: true });
    const rttMatrix = regions.map((a) => regions.map((b) => (a === b ? 0 : (rtt[`${a}/${b}`] ?? rtt[`${b}/${a}`] ?? 0))));
    const cluster = new EtcdCluster(path.join(dir, 'etcd'), rttMatrix, Array.from({ length: 6 }, (_, k) => base + 150 + k), heartbeatMs, electionMs);
    etcd = cluster;
    await cluster.start();
    await cluster.moveLeaderTo(0);
    const [east, west] = cluster.members as [(typeof cluster.members)[number], (typeof cluster.members)[number]];
    let killedId = '';
    const etcdSystem: System = {
      name: 'etcd',
      committed: async () => {
        const s = await cluster.status(east);
        killedId = s.id;
        return s.revision;
      },
      kill: () => cluster.kill(0),
      leaderAtWest: async () => {
        const s = await cluster.status(west).catch(() => null);
        return s === null || s.leader === '' || s.leader === '0' ? 'none' : s.leader === killedId ? 'old' : 'new';
      },
      write: async (i, signal) => {
        const body = JSON.stringify({ key: Buffer.from(`k${i % 1000}`).toString('base64'), value: Buffer.from(String(i)).toString('base64') });
        const r = await fetch(`${west.clientUrl}/v3/kv/put`, { method: 'POST', body, signal });
        const j = (await r.json().catch(() => null)) as { header?: { revision?: string } } | null;
        return { ok: r.ok && j?.header?.revision !== undefined, position: Number(j?.header?.revision ?? 0) };
      },
      recover: async () => {
        await cluster.restart(0);
        await cluster.moveLeaderTo(0);
      },
    };

    const results: Array<Record<'tern' | 'etcd', Failover>> = [];
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? [tern, etcdSystem] : [etcdSystem, tern];
      const got: Partial<Record<'tern' | 'etcd', Failover>> = {};
      for (const system of order) {
        progress(`round ${round} of ${rounds}: ${system.name}: writing from eu-west, SIGKILL of the leader in us-east`);
        const f = await measure(system);
        got[system === tern ? 'tern' : 'etcd'] = f;
        print(`  round ${round}, ${system.name.padEnd(4)}: first write ${f.firstWriteMs.toFixed(0)} ms after the kill (sent at ${f.sentMs >= 0 ? '+' : ''}${f.sentMs.toFixed(0)} ms), new leader known at eu-west ${f.electedMs.toFixed(0)} ms`);
        progress(`round ${round}: ${system.name}: restarting the killed member, moving the leader back to us-east`);
        await system.recover();
        await sleep(1000);
      }
      results.push(got as Record<'tern' | 'etcd', Failover>);
    }
    const med = (f: (r: (typeof results)[number]) => number) => median(results.map(f));
    const list = (f: (r: (typeof results)[number]) => number, digits = 0) => results.map((r) => f(r).toFixed(digits)).join(', ');
    print('');
    print(`| figure (median of ${rounds} rounds) | Tern | etcd 3.4 | Tern / etcd | bound or target |`);
    print('|---|---|---|---|---|');
    print(`| SIGKILL of the leader → first write acknowledged in eu-west | ${med((r) => r.tern.firstWriteMs).toFixed(0)} ms (rounds: ${list((r) => r.tern.firstWriteMs)}) | ${med((r) => r.etcd.firstWriteMs).toFixed(0)} ms (rounds: ${list((r) => r.etcd.firstWriteMs)}) | ${med((r) => r.tern.firstWriteMs / r.etcd.firstWriteMs).toFixed(3)} (rounds: ${list((r) => r.tern.firstWriteMs / r.etcd.firstWriteMs, 2)}) | ≤ election + 2 × largest RTT = ${bound} ms; ratio ≤ 1.2 |`);
    print(`| SIGKILL of the leader → eu-west knows the new leader | ${med((r) => r.tern.electedMs).toFixed(0)} ms (rounds: ${list((r) => r.tern.electedMs)}) | ${med((r) => r.etcd.electedMs).toFixed(0)} ms (rounds: ${list((r) => r.etcd.electedMs)}) | ${med((r) => r.tern.electedMs / r.etcd.electedMs).toFixed(3)} | |`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stopEverything();
  }
}
