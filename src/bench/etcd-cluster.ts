/**
 * Three etcd 3.4 members behind the same emulated WAN as Tern, for the strong and leader benchmarks.
 *
 * etcd advertises one peer URL per member to every other member, but the emulated round trip
 * depends on who talks to whom. So each member runs in its own mount namespace (`unshare -m`)
 * with its own /etc/hosts: in member i's view, `etcd-j` resolves to 127.0.(10+i).(10+j), where a
 * delay proxy for the link i → j listens and forwards to member j. Every member sees the same
 * peer URLs (so the cluster's member ids agree) but each pair of members talks through its own
 * link with its own round trip. This needs root (for the bind mount) and Linux.
 *
 * The benchmark installs nothing: when etcd is absent it says how to install it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DelayPipe } from '../wan/delay-pipe.js';

export const etcdInstallHint = 'etcd was not found: install the Debian package etcd-server (apt-get install etcd-server, version 3.4) to run the comparison';

/** Why the etcd comparison cannot run here, or null when it can. */
export function etcdUnavailable(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  if (which.status !== 0) return etcdInstallHint;
  const version = spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  if (!/etcd Version: 3\.4\./.test(version)) return `the comparison is calibrated for etcd 3.4; found ${version.split('\n')[0] ?? 'an unknown version'}`;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'the etcd comparison gives each member its own /etc/hosts with unshare -m, which needs Linux and root';
  if (spawnSync('sh', ['-c', 'command -v unshare']).status !== 0) return 'unshare (util-linux) was not found';
  return null;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
}

export class EtcdCluster {
  readonly members: EtcdMember[] = [];
  readonly #procs: ChildProcess[] = [];
  readonly #servers: net.Server[] = [];
  readonly #sockets = new Set<net.Socket>();
  readonly #pipes = new Set<DelayPipe>();
  readonly #commands: string[] = [];

  /**
   * `rttMs[i][j]`: the round trip between members i and j. `ports`: two free ports per member
   * (client, peer). Settings match Tern's: heartbeat and election timeout in ms.
   */
  constructor(
    private readonly dir: string,
    private readonly rttMs: readonly (readonly number[])[],
    private readonly ports: readonly number[],
    private readonly heartbeatMs: number,
    private readonly electionMs: number,
  ) {}

  async start(): Promise<void> {
    const n = this.rttMs.length;
    const names = Array.from({ length: n }, (_, i) => `etcd-${i}`);
    const peerPort = (i: number) => this.ports[2 * i + 1] as number;
    const clientPort = (i: number) => this.ports[2 * i] as number;
    // The links: i → j listens on 127.0.(10+i).(10+j):2380 and forwards to member j.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const oneWay = ((this.rttMs[i]?.[j] ?? 0) as number) / 2;
        const server = net.createServer({ allowHalfOpen: true }, (client) => {
          const upstream = net.connect({ host: '127.0.0.1', port: peerPort(j), allowHalfOpen: true });
          for (const s of [client, upstream]) {
            s.setNoDelay(true);
            this.#sockets.add(s);
            s.on('close', () => this.#sockets.delete(s));
            s.on('error', () => {
              client.destroy();
              upstream.destroy();
            });
          }
          for (const p of [new DelayPipe(client, upstream, () => oneWay), new DelayPipe(upstream, client, () => oneWay)]) this.#pipes.add(p);
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(2380, `127.0.${10 + i}.${10 + j}`, () => resolve());
        });
        this.#servers.push(server);
      }
    }
    const cluster = names.map((name) => `${name}=http://${name}:2380`).join(',');
    for (let i = 0; i < n; i++) {
      const hosts = path.join(this.dir, `hosts-${i}`);
      writeFileSync(hosts, ['127.0.0.1 localhost', `127.0.0.1 ${names[i]}`, ...names.flatMap((other, j) => (j === i ? [] : [`127.0.${10 + i}.${10 + j} ${other}`]))].join('\n') + '\n');
      const data = path.join(this.dir, names[i] as string);
      mkdirSync(data, { recursive: true });
      const etcd = [
        'etcd',
        `--name ${names[i]}`,
        `--data-dir ${data}`,
        `--listen-peer-urls http://127.0.0.1:${peerPort(i)}`,
        `--initial-advertise-peer-urls http://${names[i]}:2380`,
        `--listen-client-urls http://127.0.0.1:${clientPort(i)}`,
        `--advertise-client-urls http://127.0.0.1:${clientPort(i)}`,
        `--initial-cluster ${cluster}`,
        '--initial-cluster-state new',
        '--initial-cluster-token tern-bench',
        `--heartbeat-interval ${this.heartbeatMs}`,
        `--election-timeout ${this.electionMs}`,
        '--log-level error',
      ].join(' ');
      // A restart runs the same command: with its data directory in place etcd ignores the
      // initial-cluster flags and rejoins as the member it was.
      this.#commands.push(`mount --bind ${hosts} /etc/hosts && exec ${etcd}`);
      this.#procs.push(this.#spawn(i));
      this.members.push({ name: names[i] as string, clientUrl: `http://127.0.0.1:${clientPort(i)}` });
    }
    for (const m of this.members) await waitForEtcd(m.clientUrl);
  }

  /** Member i's process: `unshare` execs sh, which execs etcd, so this pid is etcd's. */
  #spawn(i: number): ChildProcess {
    const proc = spawn('unshare', ['-m', 'sh', '-c', this.#commands[i] as string], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.on('data', () => undefined);
    return proc;
  }

  /** SIGKILLs member i and waits for it to be gone. */
  async kill(i: number): Promise<void> {
    const p = this.#procs[i] as ChildProcess;
    if (p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => (p.once('exit', () => r()), p.kill('SIGKILL')));
  }

  /** Starts member i again (after `kill`) on its data directory and waits until it is healthy. */
  async restart(i: number): Promise<void> {
    this.#procs[i] = this.#spawn(i);
    await waitForEtcd((this.members[i] as EtcdMember).clientUrl);
  }

  /** The member id (decimal string), the leader's id and the member's applied revision, as a member reports them. */
  async status(member: EtcdMember): Promise<{ id: string; leader: string; revision: number }> {
    const r = await fetch(`${member.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' });
    const j = (await r.json()) as { header?: { member_id?: string; revision?: string }; leader?: string };
    return { id: j.header?.member_id ?? '', leader: j.leader ?? '', revision: Number(j.header?.revision ?? 0) };
  }

  /** Moves leadership to member `i` (etcd's MoveLeader, asked of the current leader). */
  async moveLeaderTo(i: number): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const statuses = await Promise.all(this.members.map((m) => this.status(m)));
      const target = statuses[i]?.id as string;
      const leader = statuses[0]?.leader ?? '';
      if (leader === target && leader !== '') return;
      const at = statuses.findIndex((s) => s.id === leader);
      if (at >= 0) {
        await fetch(`${(this.members[at] as EtcdMember).clientUrl}/v3/maintenance/transfer-leadership`, { method: 'POST', body: JSON.stringify({ targetID: target }) }).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`etcd leadership did not move to ${this.members[i]?.name}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise<void>((r) => (p.once('exit', () => r()), p.kill('SIGTERM'))))));
    for (const p of this.#pipes) p.close();
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

async function waitForEtcd(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok && ((await r.json()) as { health?: string }).health === 'true') return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${url} did not become healthy`);
}
