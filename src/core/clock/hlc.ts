/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * A timestamp is (wall ms, logical counter, node). Timestamps are totally ordered, with the node
 * id as the final tiebreak, so two writes never compare equal unless they are the same write.
 * The clock never moves backwards, and a timestamp issued after receiving another is greater than
 * it, so an LWW write that saw another always wins over it whatever the wall clocks say.
 *
 * A remote timestamp whose wall time is ahead of ours by more than maxOffsetMs is refused: taking
 * it would drag our clock (and every later write) into the future. The caller counts refusals.
 */
export interface Hlc {
  readonly wall: number;
  readonly logical: number;
  readonly node: string;
}

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** Compact text form: `<wall>.<logical>.<node>`, used for row versions. */
export function formatHlc(h: Hlc): string {
  return `${h.wall}.${h.logical}.${h.node}`;
}

export type ReceiveOutcome = { readonly kind: 'accepted' } | { readonly kind: 'refused'; readonly aheadMs: number };

const accepted: ReceiveOutcome = Object.freeze({ kind: 'accepted' });

export class HybridClock {
  readonly node: string;
  readonly maxOffsetMs: number;
  // The latest timestamp as two numbers; receive() is on every remote op's path and allocates nothing.
  #wall: number;
  #logical: number;
  #cached: Hlc | null = null;

  constructor(node: string, maxOffsetMs: number, last: Hlc | null = null) {
    this.node = node;
    this.maxOffsetMs = maxOffsetMs;
    this.#wall = last?.wall ?? 0;
    this.#logical = last?.logical ?? 0;
  }

  /** The latest timestamp issued or received; persisted so a restart never goes backwards. */
  get last(): Hlc {
    if (this.#cached === null || this.#cached.wall !== this.#wall || this.#cached.logical !== this.#logical) {
      this.#cached = { wall: this.#wall, logical: this.#logical, node: this.node };
    }
    return this.#cached;
  }

  /** A new timestamp for a local event at physical time tickMs. Strictly greater than all before. */
  now(tickMs: number): Hlc {
    if (tickMs > this.#wall) {
      this.#wall = tickMs;
      this.#logical = 0;
    } else this.#logical++;
    return this.last;
  }

  /**
   * Merge a remote timestamp without a physical reading (the caller does not trust its clock): the
   * clock ends greater than both, and nothing is refused.
   */
  adopt(remote: Hlc): void {
    if (remote.wall > this.#wall) {
      this.#wall = remote.wall;
      this.#logical = remote.logical + 1;
    } else if (remote.wall === this.#wall) this.#logical = Math.max(this.#logical, remote.logical) + 1;
    else this.#logical++;
  }

  /**
   * Merge a remote timestamp observed at physical time tickMs. Accepted: our clock is now greater
   * than both. Refused (remote ahead by more than maxOffsetMs): our clock is unchanged.
   */
  receive(remote: Hlc, tickMs: number): ReceiveOutcome {
    const aheadMs = remote.wall - tickMs;
    if (aheadMs > this.maxOffsetMs) return { kind: 'refused', aheadMs };
    const lastWall = this.#wall;
    const wall = Math.max(tickMs, lastWall, remote.wall);
    if (wall === lastWall && wall === remote.wall) this.#logical = Math.max(this.#logical, remote.logical) + 1;
    else if (wall === lastWall) this.#logical++;
    else if (wall === remote.wall) this.#logical = remote.logical + 1;
    else this.#logical = 0;
    this.#wall = wall;
    return accepted;
  }
}
