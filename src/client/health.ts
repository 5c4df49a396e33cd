/**
 * The client's health book: what it knows of each configured region URL. Filled by /readyz
 * probes (probe.ts) and by the answers and failures of requests (call.ts); read by choose.ts.
 * Time comes in as arguments (the client's injected clock): nothing here reads a clock.
 */
import { backoffMs, type BackoffPolicy } from './backoff.js';

export type Stage = 'catching-up' | 'read-ready' | 'write-ready' | 'fenced';
const STAGES: ReadonlySet<string> = new Set(['catching-up', 'read-ready', 'write-ready', 'fenced']);

/** What a call needs of a region's stage (docs/api.md, "Stages"). */
export type Access = 'read' | 'bounded-read' | 'write' | 'table';

/** Weight of a new round-trip sample in the moving average. */
export const RTT_ALPHA = 0.3;

/** What the client knows of one region URL (a copy: `client.health()`). */
export interface RegionHealth {
  readonly url: string;
  /** The region's name, from /readyz, /livez or an answer's Tern-Region header; null until one came. */
  readonly region: string | null;
  /** The cluster its /readyz or /livez named; null until one answered. */
  readonly cluster: string | null;
  /** The stage and reason of its last /readyz answer; null before one (or when the answer was not a /readyz body). */
  readonly stage: Stage | null;
  readonly reason: string | null;
  /** When (client clock, ms) the last /readyz answer came; null before one. */
  readonly checkedAt: number | null;
  /** Moving average (weight RTT_ALPHA) of the round trips measured to it, in ms; null until one was. */
  readonly rttMs: number | null;
  /** Consecutive failures (unreachable, timed out, or a 5xx without an error body); 0 after any answer. */
  readonly failures: number;
  /** Not tried before this time (client clock, ms) unless every region is in backoff; 0 when none. */
  readonly backoffUntil: number;
  /** Retry-After: writes (and table changes) are not sent before `writesHeldUntil`, nothing before `heldUntil`. */
  readonly writesHeldUntil: number;
  readonly heldUntil: number;
  /** It named another cluster than the client's (the `cluster` option, else the first named): never sent anything. */
  readonly foreign: boolean;
}

type Entry = { -readonly [K in keyof RegionHealth]: RegionHealth[K] } & { readonly index: number };

/** The fields of a /readyz body the client uses; null when the body is not one. */
export interface Readyz {
  readonly cluster: string | null;
  readonly region: string | null;
  readonly stage: Stage;
  readonly reason: string | null;
}

export function parseReadyz(body: unknown): Readyz | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.stage !== 'string' || !STAGES.has(b.stage)) return null;
  return {
    stage: b.stage as Stage,
    reason: typeof b.reason === 'string' ? b.reason : null,
    cluster: typeof b.cluster === 'string' ? b.cluster : null,
    region: typeof b.region === 'string' ? b.region : null,
  };
}

export class HealthBook {
  private readonly entries: Entry[];
  private readonly byUrl = new Map<string, Entry>();
  private cluster: string | null;

  constructor(
    urls: readonly string[],
    private readonly policy: BackoffPolicy,
    private readonly random: () => number,
    cluster?: string,
  ) {
    this.cluster = cluster ?? null;
    // A URL given twice is one region.
    this.entries = [...new Set(urls)].map((url, index) => ({ url, index, region: null, cluster: null, stage: null, reason: null, checkedAt: null, rttMs: null, failures: 0, backoffUntil: 0, writesHeldUntil: 0, heldUntil: 0, foreign: false }));
    for (const e of this.entries) this.byUrl.set(e.url, e);
  }

  /** Every configured URL, in the order given. */
  all(): ReadonlyArray<RegionHealth & { readonly index: number }> {
    return this.entries;
  }

  snapshot(): RegionHealth[] {
    return this.entries.map(({ index: _index, ...e }) => ({ ...e }));
  }

  get(url: string): RegionHealth | undefined {
    return this.byUrl.get(url);
  }

  /** The expected cluster name: the `cluster` option, else the first one a region named. */
  expectedCluster(): string | null {
    return this.cluster;
  }

  /** The configured URL that serves region `name`, as far as answers said. */
  urlOf(name: string): string | undefined {
    for (const e of this.entries) if (e.region === name && !e.foreign) return e.url;
    return undefined;
  }

  /** The region named itself (Tern-Region header, /livez or /readyz body). */
  named(url: string, region: string): void {
    const e = this.byUrl.get(url);
    if (e !== undefined) e.region = region;
  }

  /** The region named its cluster (/livez or /readyz). */
  sawCluster(url: string, cluster: string): void {
    const e = this.byUrl.get(url);
    if (e === undefined) return;
    if (this.cluster === null) this.cluster = cluster;
    e.cluster = cluster;
    e.foreign = cluster !== this.cluster;
  }

  /** A /readyz probe came back after `rttMs`; `body` is null when the answer was not a /readyz body. */
  probed(url: string, body: Readyz | null, rttMs: number, now: number): void {
    const e = this.byUrl.get(url);
    if (e === undefined) return;
    // Something answered that is not a node's /readyz (a proxy's error page): not a healthy region.
    if (body === null) {
      e.stage = null;
      e.reason = null;
      this.failed(url, now);
      return;
    }
    this.sample(e, rttMs);
    this.reachable(e);
    e.checkedAt = now;
    e.stage = body.stage;
    e.reason = body.reason;
    if (body.region !== null) e.region = body.region;
    if (body.cluster !== null) this.sawCluster(url, body.cluster);
  }

  /** A request got an answer (any HTTP status) after `rttMs`; null when its time is not a distance sample. */
  answered(url: string, rttMs: number | null): void {
    const e = this.byUrl.get(url);
    if (e === undefined) return;
    if (rttMs !== null) this.sample(e, rttMs);
    this.reachable(e);
  }

  /** A request or probe failed (unreachable, timed out, or a 5xx without an error body): back off. */
  failed(url: string, now: number): void {
    const e = this.byUrl.get(url);
    if (e === undefined) return;
    e.failures += 1;
    e.backoffUntil = now + backoffMs(e.failures, this.policy, this.random);
  }

  /** A Retry-After: nothing (or, `writesOnly`, no write) is sent to `url` before `until`. */
  hold(url: string, until: number, writesOnly: boolean): void {
    const e = this.byUrl.get(url);
    if (e === undefined) return;
    if (writesOnly) e.writesHeldUntil = Math.max(e.writesHeldUntil, until);
    else e.heldUntil = Math.max(e.heldUntil, until);
  }

  private reachable(e: Entry): void {
    e.failures = 0;
    e.backoffUntil = 0;
  }

  private sample(e: Entry, rttMs: number): void {
    const ms = Math.max(0, rttMs);
    e.rttMs = e.rttMs === null ? ms : e.rttMs + RTT_ALPHA * (ms - e.rttMs);
  }
}

/** Until when (client clock) `e` may not be sent a call of kind `access` (Retry-After); 0 when free. */
export function heldUntil(e: RegionHealth, access: Access): number {
  return access === 'write' || access === 'table' ? Math.max(e.heldUntil, e.writesHeldUntil) : e.heldUntil;
}
