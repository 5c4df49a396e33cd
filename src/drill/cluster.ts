/**
 * The cluster `terndb drill --demo` runs on: the demo's configuration (three regions behind the
 * WAN emulator, a router on the base port) in a directory of its own, started, faulted and
 * stopped by the drill. Every process it starts is stopped by stop(), also after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { demoCluster, demoConfig, demoLinkPorts, demoNodeId, demoPorts } from '../cli/demo/config.js';
import { waitNodeReady, waitRouterReady, waitWanReady } from '../cli/demo/readiness.js';
import { stopChild } from '../cli/demo/supervisor.js';

const bin = fileURLToPath(new URL('../../bin/terndb.js', import.meta.url));
const startTimeoutMs = 90_000;

export class DrillCluster {
  readonly configPath: string;
  readonly #procs = new Map<string, ChildProcess>();

  constructor(
    readonly dir: string,
    readonly portBase: number,
    readonly regions: readonly string[],
  ) {
    mkdirSync(dir, { recursive: true });
    this.configPath = path.join(dir, 'cluster.yaml');
  }

  url(region: string): string {
    return `http://127.0.0.1:${this.portBase + demoPorts.api(this.regions.indexOf(region))}`;
  }

  get routerUrl(): string {
    return `http://127.0.0.1:${this.portBase + demoPorts.router}`;
  }

  get wanUrl(): string {
    return `http://127.0.0.1:${this.portBase + demoPorts.wanControl}`;
  }

  #spawn(name: string, args: readonly string[]): ChildProcess {
    const log = createWriteStream(path.join(this.dir, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--max-semi-space-size=64', bin, ...args], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.#procs.set(name, child);
    return child;
  }

  #gone(name: string): () => string | null {
    return () => {
      const c = this.#procs.get(name);
      return c === undefined || (c.exitCode === null && c.signalCode === null) ? null : `${name} exited (${c.exitCode ?? c.signalCode}); see ${path.join(this.dir, `${name}.log`)}`;
    };
  }

  async start(): Promise<void> {
    writeFileSync(this.configPath, stringify(demoConfig({ regions: this.regions, portBase: this.portBase })));
    this.#spawn('wan', ['wan', '--config', this.configPath]);
    const links = demoLinkPorts({ regions: this.regions, portBase: this.portBase }, this.dir);
    await waitWanReady(`${this.wanUrl}/v1/wan`, 'the WAN emulator', links, { gone: this.#gone('wan'), timeoutMs: startTimeoutMs });
    await Promise.all(this.regions.map((r) => this.startNode(r, true)));
    this.#spawn('router', ['router', '--config', this.configPath]);
    await waitRouterReady(`${this.routerUrl}/v1/router/status`, 'the router', demoCluster, { gone: this.#gone('router'), timeoutMs: startTimeoutMs });
  }

  /** Starts a region's node; with `ready`, waits until it is write-ready. */
  async startNode(region: string, ready: boolean): Promise<void> {
    this.#spawn(region, ['node', '--config', this.configPath, '--node', region]);
    if (ready) await waitNodeReady({ url: `${this.url(region)}/readyz`, cluster: demoCluster, node: demoNodeId(region), where: `${region}'s API` }, { gone: this.#gone(region), timeoutMs: startTimeoutMs });
  }

  /** SIGKILL, and waits until the process is gone. */
  async kill(region: string): Promise<void> {
    const c = this.#procs.get(region);
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }

  async wan(route: string, body?: unknown): Promise<void> {
    const r = await fetch(`${this.wanUrl}${route}`, { method: 'POST', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (!r.ok) throw new Error(`the WAN emulator answered ${r.status} to ${route}`);
  }

  /** A drain or undrain of `region`, asked of another region (with retries while the strong group settles). */
  async admin(kind: 'drain' | 'undrain', region: string): Promise<void> {
    const at = this.regions.find((r) => r !== region) ?? region;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await fetch(`${this.url(at)}/v1/admin/${kind}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ region, force: true }) }).catch(() => null);
      if (r?.ok === true) return;
      if (Date.now() > deadline) throw new Error(`${kind} of ${region} did not succeed within 30 s (last answer ${r?.status ?? 'none'})`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  /** The strong group's leader, as a serving region sees it (null when unknown). */
  async leader(): Promise<string | null> {
    for (const r of this.regions) {
      const s = (await fetch(`${this.url(r)}/v1/status`).then((x) => x.json() as Promise<{ raft?: { leader?: unknown } }>).catch(() => null)) ?? null;
      if (typeof s?.raft?.leader === 'string') return s.raft.leader;
    }
    return null;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#procs.values()].map(stopChild));
  }
}
