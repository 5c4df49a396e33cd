/**
 * Background /readyz probes that keep the health book fresh. Started by the client's first call
 * (lazily: a client that is never used sends nothing), every `intervalMs` after that; at most one
 * probe in flight per region; a region in backoff is not probed before its backoff ends. Its
 * timers are unref()ed, so a client never keeps a Node process alive; close() stops it and aborts
 * the probes in flight.
 */
import { unrefTimer, type ClientEnv } from './env.js';
import { parseReadyz, type HealthBook } from './health.js';

export class Prober {
  private started = false;
  private closed = false;
  private timer: unknown = null;
  private readonly inFlight = new Map<string, AbortController>();

  constructor(
    private readonly book: HealthBook,
    private readonly env: ClientEnv,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  /** Probing is on: started, not closed, and not disabled (`probeIntervalMs: 0`). */
  get active(): boolean {
    return this.started && !this.closed;
  }

  get enabled(): boolean {
    return this.intervalMs > 0 && !this.closed;
  }

  /** Starts probing (once): every region now, then every `intervalMs`. */
  start(): void {
    if (this.started || !this.enabled) return;
    this.started = true;
    this.tick();
  }

  /** Probes `url` now (unless one is in flight, or probing is off): its answer said something changed. */
  probeNow(url: string): void {
    if (this.active) this.probe(url);
  }

  /** Stops probing for good: no more timers, and the probes in flight are aborted. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) this.env.timers.clearTimeout(this.timer);
    this.timer = null;
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
  }

  /** How many probes are in flight (for tests). */
  get pending(): number {
    return this.inFlight.size;
  }

  private tick(): void {
    this.timer = null;
    if (this.closed) return;
    const now = this.env.now();
    for (const r of this.book.all()) if (r.backoffUntil <= now) this.probe(r.url);
    this.timer = unrefTimer(this.env.timers, () => this.tick(), this.intervalMs);
  }

  private probe(url: string): void {
    if (this.inFlight.has(url)) return;
    const controller = new AbortController();
    this.inFlight.set(url, controller);
    const timeout = unrefTimer(this.env.timers, () => controller.abort(), this.timeoutMs);
    const started = this.env.now();
    void (async () => {
      try {
        const res = await this.env.fetch(new URL('/readyz', url), { signal: controller.signal, headers: { accept: 'application/json' } });
        const body: unknown = await res.json().catch(() => null);
        if (this.closed) return;
        const region = res.headers.get('tern-region');
        if (region !== null) this.book.named(url, region);
        this.book.probed(url, parseReadyz(body), this.env.now() - started, this.env.now());
      } catch {
        if (!this.closed) this.book.failed(url, this.env.now());
      } finally {
        this.env.timers.clearTimeout(timeout);
        if (this.inFlight.get(url) === controller) this.inFlight.delete(url);
      }
    })();
  }
}
