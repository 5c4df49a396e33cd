/**
 * The drill's load: workers sending a steady mix through the router, as clients in every region
 * would (each names a region with Tern-Client-Region, in turn): async rows written once each (their
 * presence is the RPO check), counter increments, writes racing on shared rows (conflicts), and
 * strong rows. Every write carries its own Idempotency-Key and is recorded with its answer.
 */
import type { Kind, Sent } from './measure.js';

export interface Acked {
  readonly key: string;
  readonly atMs: number;
  /** The region that answered (Tern-Region). */
  readonly region: string;
}

export interface LoadRecord {
  readonly sent: Sent[];
  /** Async rows acknowledged (table profiles), strong rows acknowledged (table accounts). */
  readonly asyncRows: Acked[];
  readonly strongRows: Acked[];
  /** Acknowledged increments per counter row. */
  readonly counters: Map<string, number>;
}

export interface LoadOptions {
  readonly routerUrl: string;
  readonly regions: readonly string[];
  /** Row keys start with this (one prefix per fault of a drill: its rows are checked by prefix). */
  readonly prefix: string;
  readonly workers: number;
  /** ms since the drill started. */
  readonly now: () => number;
}

const attemptTimeoutMs = 5_000;

export class Load {
  readonly record: LoadRecord = { sent: [], asyncRows: [], strongRows: [], counters: new Map() };
  #stop = false;
  #running: Array<Promise<void>> = [];
  #seq = 0;

  constructor(private readonly o: LoadOptions) {}

  start(): void {
    this.#running = Array.from({ length: this.o.workers }, (_, w) => this.#worker(w));
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#running);
  }

  async #worker(w: number): Promise<void> {
    for (let i = 0; !this.#stop; i++) {
      const n = this.#seq++;
      const region = this.o.regions[n % this.o.regions.length] as string;
      const op = n % 10;
      const p = this.o.prefix;
      if (op < 5) await this.#send(n, 'async', 'PUT', `/v1/tables/profiles/rows/${p}d${n}`, { fields: { name: `w${w}` } }, region, (r) => this.record.asyncRows.push(r));
      else if (op < 7) {
        const key = `${p}ctr${w}`;
        await this.#send(n, 'async', 'PATCH', `/v1/tables/profiles/rows/${key}`, { incr: { visits: 1 } }, region, () => this.record.counters.set(key, (this.record.counters.get(key) ?? 0) + 1));
      } else if (op < 8) await this.#send(n, 'async', 'PATCH', `/v1/tables/profiles/rows/${p}hot${n % 3}`, { set: { name: `w${w}-${i}` } }, region, () => undefined);
      else await this.#send(n, 'strong', 'PUT', `/v1/tables/accounts/rows/${p}s${n}`, { fields: { balance: 1 } }, region, (r) => this.record.strongRows.push(r));
    }
  }

  /** `n`: the write's number in this load, which makes its Idempotency-Key its own. */
  async #send(n: number, kind: Kind, method: string, path: string, body: unknown, region: string, onAck: (a: Acked) => void): Promise<void> {
    const atMs = this.o.now();
    const key = path.split('/').pop() as string;
    try {
      const res = await fetch(`${this.o.routerUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'idempotency-key': `${this.o.prefix}-${n}`, 'tern-client-region': region },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(attemptTimeoutMs),
      });
      const answer = (await res.json().catch(() => null)) as { error?: { code?: unknown } } | null;
      this.record.sent.push({ kind, atMs, doneMs: this.o.now(), status: res.status, code: res.ok ? null : typeof answer?.error?.code === 'string' ? answer.error.code : null });
      if (res.ok) onAck({ key, atMs: this.o.now(), region: res.headers.get('tern-region') ?? '?' });
    } catch {
      this.record.sent.push({ kind, atMs, doneMs: this.o.now(), status: 0, code: 'UNREACHABLE' });
      // Without an answer the write may or may not have happened: it is neither counted nor expected.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
