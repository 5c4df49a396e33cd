/**
 * A writer that keeps writing at a fixed pace whatever the answers take (open loop): a write
 * stuck on a dead leader does not hold back the next one, so the first write a new leader commits
 * shows when it commits, with the pace as resolution. Used by the leader benchmark.
 */

/** One write's outcome: `position` orders writes in the log (Tern's strong index, etcd's revision). */
export interface WriteOutcome {
  readonly ok: boolean;
  readonly position: number;
}

export interface Success {
  readonly sentMs: number;
  readonly doneMs: number;
  readonly position: number;
}

export class SteadyWriter {
  readonly successes: Success[] = [];
  failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #inFlight = 0;
  #i = 0;
  readonly #abort = new AbortController();

  /** `write(i, signal)` sends the i-th write; one starts every `everyMs`, at most `maxInFlight` at a time. */
  constructor(
    private readonly write: (i: number, signal: AbortSignal) => Promise<WriteOutcome>,
    private readonly everyMs = 10,
    private readonly maxInFlight = 500,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#inFlight >= this.maxInFlight) return;
      this.#inFlight++;
      const sentMs = performance.now();
      this.write(this.#i++, this.#abort.signal)
        .then((o) => {
          if (o.ok) this.successes.push({ sentMs, doneMs: performance.now(), position: o.position });
          else this.failures++;
        })
        .catch(() => {
          if (!this.#abort.signal.aborted) this.failures++;
        })
        .finally(() => this.#inFlight--);
    }, this.everyMs);
  }

  /** The first write acknowledged after `sinceMs` whose log position is past `committedBefore`. */
  firstAfter(sinceMs: number, committedBefore: number): Success | undefined {
    return this.successes.find((s) => s.doneMs >= sinceMs && s.position > committedBefore);
  }

  /** Stops writing and abandons the writes still waiting. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#abort.abort();
  }
}
