/**
 * A fake world for the SDK's tests: a clock and timers the test moves by hand, and fake region
 * nodes behind fake URLs answering /readyz, /livez and row requests (no servers, no real time).
 */
import type { ClientTimers } from '../../src/client/index.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
  refed: boolean;
}

/** A hand-moved clock with timers; timer handles have unref() like Node's. */
export class FakeTime {
  t = 1_000_000;
  private seq = 0;
  private timers: Timer[] = [];
  readonly now = (): number => this.t;
  readonly timersApi: ClientTimers = {
    setTimeout: (fn, ms) => {
      const timer: Timer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn, refed: true };
      this.timers.push(timer);
      return {
        id: timer.id,
        unref() {
          timer.refed = false;
          return this;
        },
      };
    },
    clearTimeout: (handle) => {
      const id = (handle as { id?: number } | null)?.id;
      this.timers = this.timers.filter((x) => x.id !== id);
    },
  };

  /** Timers not yet fired: [ms from now, kept referenced?]. */
  pending(): Array<{ inMs: number; refed: boolean }> {
    return this.timers.map((x) => ({ inMs: x.at - this.t, refed: x.refed }));
  }

  /** Moves the clock `ms` on, firing the timers due on the way (and letting promises run between). */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    while (true) {
      await flush();
      const due = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = target;
    await flush();
  }

  /** Waits `ms` on this clock (for fake nodes' latency). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timersApi.setTimeout(resolve, ms));
  }

  /** Moves the clock in steps of `stepMs` until `p` settles (at most `maxMs`), and returns it. */
  async settle<T>(p: Promise<T>, stepMs = 1, maxMs = 120_000): Promise<T> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await flush();
    for (let waited = 0; !done && waited < maxMs; waited += stepMs) await this.advance(stepMs);
    return p;
  }
}

/** Lets every pending promise chain (fetch, Response.json) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

export type Stage = 'catching-up' | 'read-ready' | 'write-ready' | 'fenced';

export interface FakeNode {
  region: string;
  cluster?: string;
  stage?: Stage;
  reason?: string | null;
  /** Round trip: every request waits this long on the fake clock before it is answered (or refused). */
  latencyMs?: number;
  /** Connection refused. */
  down?: boolean;
  /** Answers row requests instead of the default (a 200 row, or the stage's 503); undefined: the default. */
  answer?: (req: Seen) => Response | undefined;
}

export interface Seen {
  readonly origin: string;
  readonly path: string;
  readonly method: string;
  readonly key: string | null;
  readonly at: number;
  readonly signal: AbortSignal | null;
}

export function json(status: number, body: unknown, region: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'tern-region': region, ...headers } });
}

export function errorBody(code: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message: code.toLowerCase(), retryable: true, ...extra } };
}

/** Fake nodes by origin (`http://a.test`); the fetch to give connect(). */
export function fakeNodes(time: FakeTime, nodes: Record<string, FakeNode>) {
  const seen: Seen[] = [];
  const fetch = (async (input: URL | string | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const node = nodes[url.origin];
    if (node === undefined) throw new TypeError(`fetch failed: no ${url.origin}`);
    const req: Seen = { origin: url.origin, path: url.pathname + url.search, method: init?.method ?? 'GET', key: new Headers(init?.headers).get('idempotency-key'), at: time.t, signal: init?.signal ?? null };
    seen.push(req);
    if ((node.latencyMs ?? 0) > 0) await time.sleep(node.latencyMs as number);
    if (node.down === true) throw new TypeError('fetch failed: connect ECONNREFUSED');
    const stage = node.stage ?? 'write-ready';
    const reason = node.reason ?? (stage === 'write-ready' ? null : stage === 'fenced' ? 'lease' : 'lag');
    const cluster = node.cluster ?? 'tern';
    if (url.pathname === '/readyz') return json(stage === 'write-ready' ? 200 : 503, { cluster, region: node.region, node: `${node.region}-1`, stage, reason, lagMs: 0, stalenessMs: 0 }, node.region);
    if (url.pathname === '/livez') return json(200, { status: 'ok', cluster, region: node.region, node: `${node.region}-1` }, node.region);
    const custom = node.answer?.(req);
    if (custom !== undefined) return custom;
    const writing = req.method !== 'GET';
    if (stage === 'catching-up' || (writing && stage === 'read-ready')) return json(503, errorBody('NOT_READY', { reason }), node.region);
    if (writing && stage === 'fenced' && reason === 'clock') return json(503, errorBody('FENCED', { reason }), node.region);
    return json(200, { key: 'k', fields: { from: node.region }, version: '1' }, node.region);
  }) as typeof globalThis.fetch;
  /** The row requests (not /readyz, /livez) each origin got, in order. */
  const calls = () => seen.filter((s) => s.path !== '/readyz' && s.path !== '/livez');
  const probes = () => seen.filter((s) => s.path === '/readyz');
  return { fetch, seen, calls, probes };
}
