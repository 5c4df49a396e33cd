/**
 * `terndb router`: one HTTP front for every region (docs/api.md, "Router"). It serves the same
 * paths as a node and sends each request to the best region for it: health from `/readyz`
 * probes, the client's (or its own) region first, the strong group's leader for strong requests,
 * then the nearest by probe round trip; reads and keyed writes move on to the next region after a
 * connection error, a 503 or a 504 (the router gives every write without an Idempotency-Key one,
 * so its own retries are one write). Routers share nothing: run one per region.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RegionHealth } from './health.js';
import { httpSend, readBody, type Send, type Upstream } from './forward.js';
import { nodeAuthHeader } from '../server/auth/node-secret.js';
import { afterAttempt, candidates, shapeOf, type Attempt } from './route.js';

export interface RouterOptions {
  readonly cluster: string;
  /** This router's own region: requests without a Tern-Client-Region header prefer it (null: none). */
  readonly region: string | null;
  readonly regions: ReadonlyArray<{ readonly name: string; readonly url: string }>;
  readonly strongTables: readonly string[];
  readonly probeIntervalMs: number;
  readonly failThreshold: number;
  /** One attempt at one region may take this long. */
  readonly attemptTimeoutMs: number;
  /** Requests in flight at once; more are refused 503 OVERLOADED. */
  readonly maxInflight: number;
  readonly log: Logger;
  /** For probes and the cluster's leader and tables (tests replace it). */
  readonly fetch?: typeof fetch;
  /** For forwarding requests (tests replace it). */
  readonly send?: Send;
  /**
   * A secure cluster: the router serves HTTPS with this certificate and key, and trusts `ca` (the
   * cluster CA) for the nodes' HTTPS (the default Send; probes use the process's fetch, which
   * `terndb router` makes trust it).
   */
  readonly tls?: { readonly key: string; readonly cert: string; readonly ca: string };
  /**
   * The cluster's node secret (Tern-Node-Auth), when it requires authentication: the router holds
   * the cluster file, and reads a node's status and table list with it, as another node would.
   * Clients' own requests are forwarded with their own Authorization, never with this.
   */
  readonly nodeAuth?: string | null;
}

/** Request bodies up to a node's own limit are forwarded (it answers 413 beyond). */
const bodyLimit = 2 * 1024 * 1024;
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);
/** Not forwarded from clients: a router's own proof of the cluster file (a client holding it could send it directly anyway). */
const notForwarded = new Set([...hopByHop, 'tern-client-region', nodeAuthHeader]);

function routerError(reply: FastifyReply, status: number, code: string, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(`${JSON.stringify({ error: { code, message, retryable: status >= 500, ...extra } })}\n`);
}

export class Router {
  readonly app: FastifyInstance;
  readonly regions: RegionHealth[];
  readonly registry = new Registry();
  #strong: Set<string>;
  #leader: string | null = null;
  #inflight = 0;
  /** Requests counted in #inflight, released when their answer has been sent. */
  readonly #counted = new WeakSet<FastifyRequest>();
  #timer: NodeJS.Timeout | null = null;
  /** Builds the default forwarding Send for a CA, again when SIGHUP brings another; null when a test gave its own Send. */
  readonly #sendFor: ((ca: string | undefined) => Send) | null;
  #probing = new Set<string>();
  #sweep = 0;
  readonly #fetch: typeof fetch;
  #send: Send;
  readonly #m: { requests: Counter<string>; retries: Counter<string>; duration: Histogram<string>; up: Gauge<string>; rtt: Gauge<string> };

  constructor(private readonly o: RouterOptions) {
    this.#fetch = o.fetch ?? fetch;
    this.#sendFor = o.send === undefined ? (ca) => httpSend(Math.max(16, Math.min(1024, o.maxInflight)), ca) : null;
    this.#send = this.#sendFor?.(o.tls?.ca) ?? (o.send as Send);
    this.regions = o.regions.map((r) => new RegionHealth(r.name, r.url.replace(/\/$/, ''), o.failThreshold));
    this.#strong = new Set(o.strongTables);
    this.#m = {
      requests: new Counter({ name: 'tern_router_requests_total', help: 'Requests answered, by the region that answered (none: no region could) and status.', labelNames: ['region', 'status'], registers: [this.registry] }),
      retries: new Counter({ name: 'tern_router_retries_total', help: 'Attempts sent on to another region, by the region that failed.', labelNames: ['region'], registers: [this.registry] }),
      duration: new Histogram({ name: 'tern_router_request_duration_seconds', help: 'Time to answer a request, all attempts included.', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] }),
      up: new Gauge({ name: 'tern_router_region_serving', help: '1 when the region is sent writes, 0.5 reads only, 0 nothing.', labelNames: ['region'], registers: [this.registry] }),
      rtt: new Gauge({ name: 'tern_router_probe_rtt_seconds', help: 'Smoothed /readyz round trip.', labelNames: ['region'], registers: [this.registry] }),
    };
    this.app = Fastify({ ...(o.tls !== undefined ? { https: { key: o.tls.key, cert: o.tls.cert } } : {}), bodyLimit, logger: false, return503OnClosing: true, connectionTimeout: 60_000, requestTimeout: 60_000 });
    // Bodies pass through as they came.
    this.app.removeAllContentTypeParsers();
    this.app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    this.app.get('/v1/router/status', async () => this.status());
    this.app.get('/metrics', async (_req, reply) => {
      for (const r of this.regions) {
        this.#m.up.set({ region: r.region }, r.serves(true) ? 1 : r.serves(false) ? 0.5 : 0);
        if (r.rttMs !== null) this.#m.rtt.set({ region: r.region }, r.rttMs / 1000);
      }
      return reply.header('content-type', this.registry.contentType).send(await this.registry.metrics());
    });
    this.app.all('/*', (req, reply) => this.#route(req, reply));
    this.app.addHook('onResponse', async (req, reply) => {
      if (!this.#counted.delete(req)) return;
      this.#inflight--;
      this.#m.duration.observe(reply.elapsedTime / 1000);
    });
  }

  status(): Record<string, unknown> {
    return { cluster: this.o.cluster, region: this.o.region, leader: this.#leader, inflight: this.#inflight, regions: this.regions.map((r) => r.view()) };
  }

  async listen(host: string, port: number): Promise<void> {
    // Knowing every region's stage before the first request: otherwise nothing could be served.
    await this.probeAll();
    await this.app.listen({ host, port });
    this.#timer = setInterval(() => void this.probeAll(), this.o.probeIntervalMs);
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    await this.app.close();
  }

  /** One probe of every region (at most one in flight per region); every few rounds the leader and the strong tables too. */
  async probeAll(): Promise<void> {
    this.#sweep++;
    await Promise.all(this.regions.map((r) => this.#probe(r)));
    if (this.#sweep % 4 === 1) await this.#learnCluster();
  }

  async #probe(r: RegionHealth): Promise<void> {
    if (this.#probing.has(r.region)) return;
    this.#probing.add(r.region);
    const t0 = performance.now();
    try {
      const res = await this.#fetch(`${r.url}/readyz`, { signal: AbortSignal.timeout(Math.max(200, Math.min(this.o.probeIntervalMs * 2, 2_000))) });
      const body = (await res.json().catch(() => null)) as { cluster?: unknown } | null;
      if (body !== null && typeof body.cluster === 'string' && body.cluster !== this.o.cluster) {
        this.#failed(r, `its /readyz names cluster ${body.cluster}, not ${this.o.cluster}`);
        return;
      }
      const change = r.probeAnswered(body, performance.now() - t0, Date.now());
      if (change !== null) this.o.log.info({ region: r.region, stage: r.view().stage, reason: r.view().reason }, change === 'readmitted' ? `region ${r.region} answers again: readmitted` : `region ${r.region} is ${r.view().stage}`);
    } catch (err) {
      this.#failed(r, (err as Error).message);
    } finally {
      this.#probing.delete(r.region);
    }
  }

  #failed(r: RegionHealth, why: string): void {
    if (r.failed(Date.now()) === 'drained') this.o.log.warn({ region: r.region, why }, `region ${r.region} drained after ${this.o.failThreshold} failures in a row`);
  }

  /** The strong group's leader (from a serving region's /v1/status) and which tables are strong. */
  async #learnCluster(): Promise<void> {
    const r = candidates(this.regions, { write: false, strong: false }, this.o.region, null)[0];
    if (r === undefined) return;
    const headers: Record<string, string> = typeof this.o.nodeAuth === 'string' ? { [nodeAuthHeader]: this.o.nodeAuth } : {};
    try {
      const [status, tables] = await Promise.all([
        this.#fetch(`${r.url}/v1/status`, { headers, signal: AbortSignal.timeout(2_000) }).then((x) => x.json() as Promise<{ raft?: { leader?: unknown } }>),
        this.#fetch(`${r.url}/v1/tables`, { headers, signal: AbortSignal.timeout(2_000) }).then((x) => x.json() as Promise<{ tables?: Record<string, { mode?: unknown }> }>),
      ]);
      const leader = typeof status.raft?.leader === 'string' ? status.raft.leader : null;
      if (leader !== this.#leader) this.o.log.info({ leader }, `strong group leader: ${leader ?? 'unknown'}`);
      this.#leader = leader;
      if (tables.tables !== undefined) this.#strong = new Set(Object.entries(tables.tables).filter(([, p]) => p.mode === 'strong').map(([t]) => t));
    } catch {
      // Next round; probes say whether the region is down.
    }
  }

  async #route(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const clientRegion = req.headers['tern-client-region'];
    if (clientRegion !== undefined && (typeof clientRegion !== 'string' || !this.regions.some((r) => r.region === clientRegion))) {
      return routerError(reply, 400, 'BAD_REQUEST', `Tern-Client-Region: ${JSON.stringify(clientRegion)} is not a region of cluster ${this.o.cluster} (regions: ${this.regions.map((r) => r.region).join(', ')})`, { field: 'Tern-Client-Region' });
    }
    if (this.#inflight >= this.o.maxInflight) return routerError(reply, 503, 'OVERLOADED', `the router has ${this.o.maxInflight} requests in flight; retry with backoff`);
    // In flight until the answer has been sent whole (a streamed one included): onResponse below.
    this.#inflight++;
    this.#counted.add(req);
    const shape = shapeOf(req.method, req.url, this.#strong);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !notForwarded.has(k)) headers[k] = v;
    let added: string | null = null;
    if (shape.write && headers['idempotency-key'] === undefined) {
      added = randomUUID();
      headers['idempotency-key'] = added;
    }
    const keyed = headers['idempotency-key'] !== undefined;
    const body = req.body instanceof Buffer && req.body.length > 0 ? req.body : undefined;
    if (added !== null) reply.header('tern-router-idempotency-key', added);
    const tried = new Set<string>();
    let followedHome = false;
    let queue = candidates(this.regions, shape, clientRegion ?? this.o.region, this.#leader);
    // The last answer that could not be sent on, kept to pass back if no region does better.
    let last: { status: number; headers: Upstream['headers']; payload: Buffer; region: string } | null = null;
    const why: string[] = [];
    while (queue.length > 0) {
      const r = queue.shift() as RegionHealth;
      if (tried.has(r.region)) continue;
      tried.add(r.region);
      r.requests++;
      let up: Upstream;
      try {
        up = await this.#send(`${r.url}${req.url}`, { method: req.method, headers, body, timeoutMs: this.o.attemptTimeoutMs });
      } catch (e) {
        r.errors++;
        this.#failed(r, (e as Error).message);
        why.push(`${r.region}: ${(e as Error).name === 'TimeoutError' ? `no answer within ${this.o.attemptTimeoutMs} ms` : 'unreachable'}`);
        // A keyed write may have reached it: the answer sent must not claim otherwise.
        last = null;
        if (afterAttempt({ kind: 'unreachable' }, keyed, shape.write) === 'done') break;
        this.#m.retries.inc({ region: r.region });
        continue;
      }
      if (up.status >= 500) r.errors++;
      // Only answers that may send the request elsewhere are read here; the rest stream through.
      if (up.status !== 503 && up.status !== 504 && up.status !== 507 && up.status !== 421) return this.#pass(reply, r.region, up.status, up.headers, up.body);
      const payload = await readBody(up.body);
      const err = (safeJson(payload) as { error?: { code?: unknown; home?: unknown } } | null)?.error;
      const attempt: Attempt = { kind: 'answer', status: up.status, code: typeof err?.code === 'string' ? err.code : null, home: typeof err?.home === 'string' ? err.home : null };
      last = { status: up.status, headers: up.headers, payload, region: r.region };
      const next = afterAttempt(attempt, keyed, shape.write);
      if (next === 'done') break;
      if (next === 'home') {
        const home = followedHome ? undefined : this.regions.find((x) => x.region === attempt.home && !tried.has(x.region) && !x.drained);
        followedHome = true;
        if (home === undefined) break;
        queue = [home, ...queue];
        continue;
      }
      this.#m.retries.inc({ region: r.region });
      why.push(`${r.region}: ${attempt.status}${attempt.code !== null ? ` ${attempt.code}` : ''}`);
    }
    if (last !== null) return this.#pass(reply, last.region, last.status, last.headers, last.payload);
    this.#m.requests.inc({ region: 'none', status: '503' });
    reply.header('retry-after', '1');
    const tried_ = why.length > 0 ? `; tried ${why.join(', ')}` : '';
    return routerError(reply, 503, 'NOT_READY', `no region can serve this request now${tried_}; regions: ${this.regions.map((r) => `${r.region} ${r.drained ? 'drained' : (r.view().stage ?? 'unknown')}`).join(', ')}${shape.write ? (tried.size > 0 ? '. It may have been applied: retry with the same Idempotency-Key' : '. Nothing was sent') : ''}`, { reason: 'router', ...(shape.write && tried.size > 0 ? { mayHaveCommitted: true } : {}) });
  }

  /**
   * New TLS files (SIGHUP): new client connections get the certificate, and requests are forwarded
   * over new connections trusting the CA (a move to a new CA must not leave forwarding on the old).
   */
  setTls(tls: { readonly key: string; readonly cert: string; readonly ca: string }): void {
    (this.app.server as unknown as { setSecureContext(o: { key: string; cert: string }): void }).setSecureContext({ key: tls.key, cert: tls.cert });
    if (this.#sendFor !== null) this.#send = this.#sendFor(tls.ca);
  }

  /** Sends a region's answer on: its status, its headers (hop-by-hop ones aside), its body. */
  #pass(reply: FastifyReply, region: string, status: number, headers: Upstream['headers'], body: Buffer | Upstream['body']): FastifyReply {
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && !hopByHop.has(k)) reply.header(k, v);
    this.#m.requests.inc({ region, status: String(status) });
    return reply.code(status).send(body);
  }
}

function safeJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return null;
  }
}
