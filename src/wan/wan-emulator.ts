/**
 * The WAN emulator: a user-space TCP proxy on every directed link between regions. Link (i → j)
 * listens on linkPortBase + i·n + j and forwards to region j's peer address, delaying bytes by
 * half the pair's round trip in each direction. It knows nothing of Tern's protocol, so it can sit
 * in front of any system. A control API partitions, heals and changes round trips live; a cut
 * link drops its connections and refuses new ones.
 */
import http from 'node:http';
import net from 'node:net';
import type { Logger } from 'pino';
import { pairKey, wanLinkPort, type ClusterConfig, type HostPort } from '../server/config.js';
import { DelayPipe } from './delay-pipe.js';

interface Link {
  readonly from: string;
  readonly to: string;
  readonly listen: HostPort;
  readonly target: HostPort;
  readonly server: net.Server;
  readonly sockets: Set<net.Socket>;
  readonly pipes: Set<DelayPipe>;
  cut: boolean;
  connections: number;
}

export class WanEmulator {
  readonly #config: ClusterConfig;
  readonly #log: Logger;
  readonly #links: Link[] = [];
  readonly #rtt = new Map<string, number>();
  #control: http.Server | null = null;

  constructor(config: ClusterConfig, log: Logger) {
    if (config.wan === null) throw new Error('the configuration has no wan section: nothing to emulate');
    this.#config = config;
    this.#log = log;
    for (const [k, v] of Object.entries(config.wan.rttMs)) this.#rtt.set(k, v);
  }

  /** Where the control API listens, once running (its host is wan.control's, 127.0.0.1 when that gives a port alone). */
  controlAddress(): { readonly address: string; readonly port: number } | null {
    const a = this.#control?.address();
    return a === null || a === undefined || typeof a === 'string' ? null : { address: a.address, port: a.port };
  }

  rttMs(a: string, b: string): number {
    return this.#rtt.get(pairKey(a, b)) ?? 0;
  }

  async run(): Promise<void> {
    const wan = this.#config.wan;
    if (wan === null) return;
    const regions = this.#config.regions;
    const n = regions.length;
    for (const [i, from] of regions.entries()) {
      for (const [j, to] of regions.entries()) {
        if (i === j) continue;
        const link: Link = {
          from: from.name,
          to: to.name,
          listen: { host: wan.control.host, port: wanLinkPort(wan, n, i, j) },
          target: to.node.peer,
          server: net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(link, socket)),
          sockets: new Set(),
          pipes: new Set(),
          cut: false,
          connections: 0,
        };
        await new Promise<void>((resolve, reject) => {
          link.server.once('error', reject);
          link.server.listen(link.listen.port, link.listen.host, () => resolve());
        });
        this.#links.push(link);
      }
    }
    this.#control = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      const c = this.#control as http.Server;
      c.once('error', reject);
      c.listen(wan.control.port, wan.control.host, () => resolve());
    });
    this.#log.info({ control: `http://${wan.control.host}:${wan.control.port}`, links: this.#links.length }, 'wan emulator ready');
  }

  #accept(link: Link, client: net.Socket): void {
    if (link.cut) {
      client.destroy();
      return;
    }
    link.connections++;
    // Half-open: when one side ends, the other keeps receiving what is still delayed in flight,
    // then is ended in turn (DelayPipe forwards the end after the delay).
    const upstream = net.connect({ host: link.target.host, port: link.target.port, allowHalfOpen: true });
    let closed = 0;
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      link.sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => {
        link.sockets.delete(s);
        if (++closed === 2) pipes.forEach((p) => (p.close(), link.pipes.delete(p)));
      });
    }
    const oneWay = () => this.rttMs(link.from, link.to) / 2;
    const pipes = [new DelayPipe(client, upstream, oneWay), new DelayPipe(upstream, client, oneWay)];
    for (const p of pipes) link.pipes.add(p);
  }

  /** Cuts every link between different groups; links inside a group keep working. */
  partition(groups: readonly (readonly string[])[]): void {
    const groupOf = (r: string) => groups.findIndex((g) => g.includes(r));
    for (const link of this.#links) {
      const a = groupOf(link.from);
      const b = groupOf(link.to);
      if (a !== -1 && b !== -1 && a !== b) this.#cut(link);
    }
  }

  #cut(link: Link): void {
    link.cut = true;
    for (const p of link.pipes) p.close();
    for (const s of link.sockets) s.destroy();
  }

  heal(): void {
    for (const link of this.#links) link.cut = false;
  }

  describe(): { links: Array<{ from: string; to: string; listen: string; rttMs: number; state: string; connections: number }> } {
    return {
      links: this.#links.map((l) => ({ from: l.from, to: l.to, listen: `${l.listen.host}:${l.listen.port}`, rttMs: this.rttMs(l.from, l.to), state: l.cut ? 'cut' : 'up', connections: l.sockets.size / 2 })),
    };
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`); // a newline, so curl output does not run into the prompt
    };
    const bad = (message: string, field = 'body') => send(400, { error: { code: 'BAD_REQUEST', message: `${field}: ${message}`, field, retryable: false } });
    let body: unknown = null;
    if (req.method === 'POST' || req.method === 'PUT') {
      let text = '';
      for await (const chunk of req) {
        text += String(chunk);
        if (text.length > 64 * 1024) return bad('larger than 64 KiB');
      }
      try {
        body = text === '' ? {} : JSON.parse(text);
      } catch {
        return bad('malformed JSON');
      }
    }
    const regions = this.#config.regions.map((r) => r.name);
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (req.method === 'GET' && req.url === '/v1/wan') return send(200, this.describe());
    if (req.method === 'POST' && req.url === '/v1/wan/heal') {
      this.heal();
      this.#log.info('healed every link');
      return send(200, this.describe());
    }
    if (req.method === 'POST' && req.url === '/v1/wan/partition') {
      let groups: string[][];
      if (typeof b['isolate'] === 'string') {
        const r = b['isolate'];
        if (!regions.includes(r)) return bad(`unknown region ${r} (regions: ${regions.join(', ')})`, 'isolate');
        groups = [[r], regions.filter((x) => x !== r)];
      } else if (Array.isArray(b['groups']) && b['groups'].every((g) => Array.isArray(g) && g.every((r) => typeof r === 'string' && regions.includes(r)))) {
        groups = b['groups'] as string[][];
      } else return bad('give {"isolate": region} or {"groups": [[regions], [regions]]} with regions of the cluster');
      this.partition(groups);
      this.#log.info({ groups }, 'partitioned');
      return send(200, this.describe());
    }
    if (req.method === 'PUT' && req.url === '/v1/wan/rtt') {
      for (const [k, v] of Object.entries(b)) {
        const [x, y] = k.split('/');
        if (x === undefined || y === undefined || !regions.includes(x) || !regions.includes(y) || x === y) return bad(`unknown region pair ${k}`, k);
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 60_000) return bad('a round trip is 0 to 60000 ms', k);
      }
      for (const [k, v] of Object.entries(b)) {
        const [x, y] = k.split('/') as [string, string];
        this.#rtt.set(pairKey(x, y), v as number);
      }
      this.#log.info({ rttMs: b }, 'round trips changed');
      return send(200, this.describe());
    }
    return send(404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}`, retryable: false } });
  }

  async stop(): Promise<void> {
    for (const link of this.#links) {
      this.#cut(link);
      await new Promise<void>((resolve) => link.server.close(() => resolve()));
    }
    await new Promise<void>((resolve) => (this.#control === null ? resolve() : this.#control.close(() => resolve())));
  }
}
