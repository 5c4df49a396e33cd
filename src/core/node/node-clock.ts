/**
 * The readings a region core derives from the two clocks it is given (node-time.ts):
 *
 * - `mono`: the monotonic clock, never less than before (leases, deadlines, timers);
 * - `wall`: the wall clock as read (what the clock guard measures against the peers);
 * - `steady`: the clock the strong group stamps its commands with. While the clock guard trusts
 *   this node, it runs at the monotonic rate and follows the wall clock only by slewing (at most
 *   1 % of the time passed), so it never steps; while the guard does not trust it, it is the wall
 *   clock as read, so it is back in the bound the moment the wall clock is;
 * - `replica`: the time the async replica is given: the wall clock while trusted; while not, the
 *   last trusted reading advanced by the monotonic clock (a clock far ahead or behind does not
 *   move the replica's deadlines, staleness or collection).
 */
import type { NodeTime } from '../clock/node-time.js';
import type { ClockReading } from './clock-guard.js';

/** How fast the steady clock may move towards the wall clock, as a share of the time passed. */
const slewRate = 0.01;

export class NodeClock {
  #mono: number;
  #wall: number;
  #steady: number;
  #anchorWall: number;
  #anchorMono: number;

  constructor(t: NodeTime) {
    this.#mono = t.monoMs;
    this.#wall = t.wallMs;
    this.#steady = t.wallMs;
    this.#anchorWall = t.wallMs;
    this.#anchorMono = t.monoMs;
  }

  /** Advances to `t`; `trusted` is the clock guard's verdict as of the previous step. */
  advance(t: NodeTime, trusted: boolean): void {
    const mono = Math.max(this.#mono, t.monoMs);
    const elapsed = mono - this.#mono;
    this.#mono = mono;
    this.#wall = t.wallMs;
    if (trusted) {
      const target = t.wallMs - (this.#steady + elapsed);
      const room = slewRate * elapsed;
      this.#steady += elapsed + Math.max(-room, Math.min(room, target));
      this.#anchorWall = t.wallMs;
      this.#anchorMono = mono;
    } else this.#steady = t.wallMs;
  }

  get monoMs(): number {
    return this.#mono;
  }

  get wallMs(): number {
    return this.#wall;
  }

  get steadyMs(): number {
    return Math.floor(this.#steady);
  }

  /** The replica's time (see above). */
  replicaMs(trusted: boolean): number {
    return trusted ? this.#wall : this.#anchorWall + (this.#mono - this.#anchorMono);
  }

  reading(): ClockReading {
    return { wallMs: this.#wall, steadyMs: this.steadyMs, monoMs: this.#mono };
  }

  /** What the strong group runs on: stamps on the steady clock, timers on the monotonic one. */
  strongTime(): NodeTime {
    return { wallMs: this.steadyMs, monoMs: this.#mono };
  }
}
