/**
 * Real processes on 127.0.0.1: the WAN emulator and one `terndb node` per region, started from a
 * generated configuration on free ports in a temporary directory. Every process started is
 * stopped in stop(), and also when the test process exits, even after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const bin = new URL('../../bin/terndb.js', import.meta.url).pathname;
const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of started) p.kill('SIGKILL');
});

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports, below the kernel's ephemeral range (32768 and up on Linux): a
 * port there can be taken by any outgoing connection of a test running alongside, between the
 * check here and the bind of the process that was to listen on it.
 */
export async function freePortBlock(count: number): Promise<number> {
  const low = 10_000;
  const high = 32_768 - count;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error('no block of free ports found');
}

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `terndb ...args` (the built bin/terndb.js) with `input` on stdin (closed at once when none). */
export function terndb(args: readonly string[], input = '', cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input);
  });
}

export interface ClusterOptions {
  regions?: string[];
  rttMs?: Record<string, number>;
  cluster?: string;
  tables?: Record<string, unknown>;
  wan?: boolean;
  /** Merged over the defaults ({tickIntervalMs: 10}). */
  settings?: Record<string, unknown>;
  /** The cluster file's retention section. */
  retention?: Record<string, unknown>;
  /** Extra environment per region's node (libfaketime, say). */
  env?: Record<string, Record<string, string>>;
  /** Mutual TLS between regions: a cluster CA and a certificate per node, made in `certs/` of the cluster's folder. */
  tls?: boolean;
  /** Authentication required: `auth.root` is the credential of a root token, kept in `rootToken`. */
  auth?: boolean;
  /** A `terndb router` in front of the regions (with TLS, its certificate in certs/router.crt), started after them: `routerUrl`. */
  router?: boolean;
}

export const defaultTables = {
  profiles: { mode: 'async', fields: { name: 'lww', visits: 'counter', tags: 'set', bio: 'merge:longest' } },
  carts: { mode: 'async', fields: { items: 'set', note: 'lww' }, onDeleteUpdate: 'update-wins' },
  docs: { mode: 'async', fields: { title: 'lww' }, onDeleteUpdate: 'delete-wins' },
  accounts: { mode: 'strong' },
};

export class ProcessCluster {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'tern-cluster-'));
  readonly regions: string[];
  readonly procs = new Map<string, ChildProcess>();
  base = 0;
  configPath = '';
  /** The root user's token when the cluster requires authentication (`auth: true`). */
  rootToken = '';
  #rootCredential: { salt: string; hash: string } | null = null;
  #wan: ChildProcess | null = null;
  #router: ChildProcess | null = null;

  constructor(private readonly o: ClusterOptions = {}) {
    this.regions = o.regions ?? ['us-east', 'eu-west', 'ap-south'];
  }

  apiPort(region: string): number {
    return this.base + 1 + this.regions.indexOf(region);
  }

  get controlPort(): number {
    return this.base + 50;
  }

  get routerUrl(): string {
    return `${this.o.tls === true ? 'https' : 'http'}://127.0.0.1:${this.base + 90}`;
  }

  async start(): Promise<void> {
    const n = this.regions.length;
    this.base = await freePortBlock(100 + n * n + 1);
    const rtt = this.o.rttMs ?? { 'us-east/eu-west': 80, 'us-east/ap-south': 190, 'eu-west/ap-south': 120 };
    const cluster = this.o.cluster ?? 'test';
    if (this.o.tls === true) await this.#makeCerts(cluster);
    const tls = (name: string) => (this.o.tls === true ? { tls: { cert: `certs/${name}-1.crt`, key: `certs/${name}-1.key` } } : {});
    if (this.o.auth === true) {
      const { makeToken } = await import('../../src/server/auth/tokens.js');
      const made = await makeToken('root');
      this.rootToken = made.token;
      this.#rootCredential = made.credential;
    }
    const config = {
      cluster,
      ...(this.#rootCredential !== null ? { auth: { root: this.#rootCredential } } : {}),
      ...(this.o.tls === true ? { tls: { ca: 'certs/ca.crt' } } : { insecure: true }),
      regions: this.regions.map((name, i) => ({
        name,
        node: { id: `${name}-1`, api: `127.0.0.1:${this.base + 1 + i}`, peer: `127.0.0.1:${this.base + 60 + i}`, data: `./data/${name}`, ...tls(name) },
      })),
      ...(this.o.wan === false ? {} : { wan: { control: `127.0.0.1:${this.controlPort}`, rttMs: rtt, linkPortBase: this.base + 100 } }),
      tables: this.o.tables ?? defaultTables,
      settings: { tickIntervalMs: 10, ...this.o.settings },
      ...(this.o.retention !== undefined ? { retention: this.o.retention } : {}),
      ...(this.o.router === true ? { router: { api: `127.0.0.1:${this.base + 90}`, probeIntervalMs: 100, ...(this.o.tls === true ? { tls: { cert: 'certs/router.crt', key: 'certs/router.key' } } : {}) } } : {}),
    };
    this.configPath = path.join(this.dir, 'cluster.json');
    writeFileSync(this.configPath, JSON.stringify(config, null, 2));
    if (this.o.wan !== false) {
      this.#wan = this.#spawn('wan', ['wan', '--config', this.configPath]);
      await this.waitFor(`http://127.0.0.1:${this.controlPort}/v1/wan`);
    }
    await Promise.all(this.regions.map((r) => this.startNode(r, this.o.env?.[r])));
    if (this.o.router === true) {
      this.#router = this.#spawn('router', ['router', '--config', this.configPath]);
      await this.waitFor(`${this.routerUrl}/v1/router/status`);
    }
  }

  /** The cluster CA (certs/ca.crt, ca.key) and a certificate per node (certs/<node>.crt, .key). */
  async #makeCerts(cluster: string): Promise<void> {
    // Loaded only here: the certificate library is heavy, and most clusters run without TLS.
    const { createCa, issueNodeCert, issueRouterCert } = await import('../../src/security/certs.js');
    const dir = path.join(this.dir, 'certs');
    mkdirSync(dir, { recursive: true });
    const ca = await createCa({ cluster, validDays: 3 });
    writeFileSync(path.join(dir, 'ca.crt'), ca.certPem);
    // The nodes' APIs serve HTTPS under this CA: this process's fetches trust it.
    const { trustCa } = await import('../../src/server/trust-ca.js');
    await trustCa(ca.certPem);
    writeFileSync(path.join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    for (const region of this.regions) {
      const c = await issueNodeCert({ ca, cluster, region, node: `${region}-1`, hosts: ['127.0.0.1', 'localhost'], validDays: 2 });
      writeFileSync(path.join(dir, `${region}-1.crt`), c.certPem);
      writeFileSync(path.join(dir, `${region}-1.key`), c.keyPem, { mode: 0o600 });
    }
    const r = await issueRouterCert({ ca, cluster, name: 'router', hosts: ['127.0.0.1'], validDays: 2 });
    writeFileSync(path.join(dir, 'router.crt'), r.certPem);
    writeFileSync(path.join(dir, 'router.key'), r.keyPem, { mode: 0o600 });
  }

  #spawn(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [bin, ...args], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const log = createWriteStream(path.join(this.dir, `${name}.log`), { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    started.add(child);
    child.on('exit', () => started.delete(child));
    return child;
  }

  /** Starts a region's node (with extra environment, for libfaketime) and waits until it is write-ready. */
  async startNode(region: string, env: Record<string, string> = {}): Promise<void> {
    this.procs.set(region, this.#spawn(region, ['node', '--config', this.configPath, '--node', region], env));
    await this.waitFor(`${this.url(region)}/readyz`);
  }

  /** Starts a region's node without waiting for anything (it may be meant to die: a crash hook). */
  launchNode(region: string, env: Record<string, string> = {}): ChildProcess {
    const child = this.#spawn(region, ['node', '--config', this.configPath, '--node', region], env);
    this.procs.set(region, child);
    return child;
  }

  /** Sends a signal (SIGSTOP, SIGCONT) to a region's node. */
  signal(region: string, signal: NodeJS.Signals): void {
    this.procs.get(region)?.kill(signal);
  }

  /** The node's log so far, one parsed pino line per entry. */
  logLines(region: string): Array<Record<string, unknown>> {
    const text = readFileSync(path.join(this.dir, `${region}.log`), 'utf8');
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  url(region: string): string {
    return `${this.o.tls === true ? 'https' : 'http'}://127.0.0.1:${this.apiPort(region)}`;
  }

  async waitFor(url: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(url);
        if (r.ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms; logs in ${this.dir}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Polls `get` until `ok` holds of what it returns (every 50 ms, for at most `ms`); the timeout names the last value and the logs. */
  async until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await get();
      if (ok(v)) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}; logs in ${this.dir}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A region's node's resident memory in MB (VmRSS of /proc/<pid>/status). */
  rssMb(region: string): number {
    const pid = this.procs.get(region)?.pid;
    if (pid === undefined) throw new Error(`${region}'s node is not running`);
    const line = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (line === null) throw new Error(`no VmRSS for ${pid}`);
    return Number(line[1]) / 1024;
  }

  /** Kills a node (SIGKILL by default) and waits for it to exit. */
  async kill(region: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(region);
    if (p === undefined || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
      // A stopped process (SIGSTOP) handles SIGTERM only once it runs again.
      p.kill('SIGCONT');
    });
  }

  async http(region: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const r = await fetch(`${this.url(region)}${route}`, init);
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (metrics)
    }
    return { status: r.status, body: parsed, headers: r.headers };
  }

  async wan(method: string, route: string, body?: unknown): Promise<unknown> {
    const r = await fetch(`http://127.0.0.1:${this.controlPort}${route}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return r.json();
  }

  /** Polls until `check` passes or the timeout expires (then throws with the last value). */
  async eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T = await read();
    while (!check(last)) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 50));
      last = await read();
    }
    return last;
  }

  async stop(): Promise<void> {
    const router = this.#router;
    if (router !== null && router.exitCode === null) await new Promise<void>((resolve) => (router.once('exit', () => resolve()), router.kill('SIGTERM')));
    await Promise.all([...this.procs.keys()].map((r) => this.kill(r, 'SIGTERM')));
    if (this.#wan !== null && this.#wan.exitCode === null) {
      const w = this.#wan;
      await new Promise<void>((resolve) => {
        w.once('exit', () => resolve());
        w.kill('SIGTERM');
      });
    }
    if (process.env['TERN_KEEP_TEST_DIRS'] === undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Tables with every kind of guarded write (and a free one and a strong one), for the failover and drain tests. */
export const failoverTables = {
  free: { mode: 'async', fields: { n: 'counter', v: 'lww' } },
  strict: { mode: 'async', whenIsolated: 'reject', fields: { v: 'lww' } },
  homed: { mode: 'async', ownership: 'home', home: { field: 'home' } },
  owned: { mode: 'async', ownership: 'home-with-failover', home: { field: 'home' } },
  accounts: { mode: 'strong' },
};
