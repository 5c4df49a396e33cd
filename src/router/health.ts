/**
 * What the router knows of each region, from its `/readyz` probes and from the requests it sent
 * there: the stage the region last reported, the probe round trip, and failures in a row. A region
 * is drained after `failThreshold` failures in a row and readmitted by the first probe that
 * answers again; while up, the stage it reports decides what it is sent: `write-ready` everything;
 * `read-ready` reads; `fenced` for its lease or a drain reads, and writes only when no region is
 * write-ready (it takes multi-writer writes and answers guarded ones 503 FENCED, which moves them
 * on: a leader election longer than a lease fences every region for a moment); `fenced` for its
 * storage (a full disk) reads; `fenced` for its clock and `catching-up` nothing. Pure: times come
 * in as numbers.
 */
export type Stage = 'catching-up' | 'read-ready' | 'write-ready' | 'fenced';

export interface RegionView {
  readonly region: string;
  readonly url: string;
  /** The stage its last answered probe reported (null: never answered). */
  readonly stage: Stage | null;
  readonly reason: string | null;
  /** Smoothed probe round trip, ms (null: never measured). */
  readonly rttMs: number | null;
  readonly failures: number;
  /** Since when it has been drained (failThreshold failures in a row), by the router's clock; null when not drained. */
  readonly drainedSinceMs: number | null;
  readonly requests: number;
  readonly errors: number;
}

const stages = new Set<string>(['catching-up', 'read-ready', 'write-ready', 'fenced']);

/** Smoothing of round trips: each new sample weighs this much. */
const rttWeight = 0.3;

export class RegionHealth {
  #stage: Stage | null = null;
  #reason: string | null = null;
  #rttMs: number | null = null;
  #failures = 0;
  #drainedSinceMs: number | null = null;
  requests = 0;
  errors = 0;

  constructor(
    readonly region: string,
    readonly url: string,
    private readonly failThreshold: number,
  ) {}

  /**
   * A probe answered (200 or 503 with a /readyz body). Returns what changed for the log: 'readmitted'
   * when a drained region answers again, 'stage' when its stage changed, or null.
   */
  probeAnswered(body: unknown, rttMs: number, nowMs: number): 'readmitted' | 'stage' | null {
    const b = body as { stage?: unknown; reason?: unknown } | null;
    if (typeof b?.stage !== 'string' || !stages.has(b.stage)) {
      this.failed(nowMs); // not a node's answer
      return null;
    }
    this.#rttMs = this.#rttMs === null ? rttMs : this.#rttMs * (1 - rttWeight) + rttMs * rttWeight;
    this.#failures = 0;
    const before = this.#stage;
    this.#stage = b.stage as Stage;
    this.#reason = typeof b.reason === 'string' ? b.reason : null;
    if (this.#drainedSinceMs !== null) {
      this.#drainedSinceMs = null;
      return 'readmitted';
    }
    return before !== this.#stage ? 'stage' : null;
  }

  /** A probe failed, or a request could not reach the region. Returns 'drained' when this failure drained it. */
  failed(nowMs: number): 'drained' | null {
    this.#failures++;
    if (this.#failures >= this.failThreshold && this.#drainedSinceMs === null) {
      this.#drainedSinceMs = nowMs;
      return 'drained';
    }
    return null;
  }

  get drained(): boolean {
    return this.#drainedSinceMs !== null;
  }

  /** May it be sent a read (or, with `write`, anything)? */
  serves(write: boolean): boolean {
    if (this.drained || this.#stage === null) return false;
    if (this.#stage === 'write-ready') return true;
    if (write) return false;
    return this.#stage === 'read-ready' || this.#fencedForRights() || (this.#stage === 'fenced' && this.#reason === 'storage');
  }

  /** A write may go here when no region serves writes: fenced only for its write lease or a drain. */
  servesWritesAsFallback(): boolean {
    return !this.drained && this.#fencedForRights();
  }

  #fencedForRights(): boolean {
    return this.#stage === 'fenced' && (this.#reason === 'lease' || this.#reason === 'drain');
  }

  get rttMs(): number | null {
    return this.#rttMs;
  }

  view(): RegionView {
    return { region: this.region, url: this.url, stage: this.#stage, reason: this.#reason, rttMs: this.#rttMs === null ? null : Math.round(this.#rttMs * 10) / 10, failures: this.#failures, drainedSinceMs: this.#drainedSinceMs, requests: this.requests, errors: this.errors };
  }
}
