/**
 * Requests for a table this region does not know yet, from a client whose session has seen a
 * later point of the strong log than this region applied. Tables are created through the strong
 * log, so such a table may be on its way: the request waits (like a session read waits for its
 * writes) until the log reaches the client's point, or `sessionWaitMs` passes, and is then handled
 * as if it had just arrived (NO_SUCH_TABLE if the table still is not there).
 */
import { limits } from '../limits.js';

interface Waiting<R> {
  readonly id: number;
  readonly request: R;
  /** The strong log index the client's session has seen. */
  readonly index: number;
  readonly deadlineMs: number;
}

export class TableWait<R> {
  #waiting: Array<Waiting<R>> = [];

  constructor(private readonly waitMs: number) {}

  /** Parks the request; false when too many wait already (the caller handles it now). */
  park(id: number, request: R, index: number, monoMs: number): boolean {
    if (this.#waiting.length >= limits.parkedRequestsMax) return false;
    this.#waiting.push({ id, request, index, deadlineMs: monoMs + this.waitMs });
    return true;
  }

  /** The requests whose wait is over: the log reached their index, or their time ran out. */
  release(appliedIndex: number, monoMs: number): Array<{ id: number; request: R }> {
    if (this.#waiting.length === 0) return [];
    const done: Array<{ id: number; request: R }> = [];
    this.#waiting = this.#waiting.filter((w) => {
      if (w.index > appliedIndex && monoMs < w.deadlineMs) return true;
      done.push({ id: w.id, request: w.request });
      return false;
    });
    return done;
  }
}
