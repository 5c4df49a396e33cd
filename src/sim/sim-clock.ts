/**
 * Simulated physical clocks. Each node reads real (simulated) time plus an offset that has an
 * initial skew, drifts slowly, and can jump. Offsets are piecewise: a jump changes the offset at
 * a moment; between jumps, drift adds `driftPpm` microseconds per second.
 */
export class SimClock {
  #offsetMs: number;
  #driftPpm: number;
  #sinceMs = 0;

  constructor(initialOffsetMs: number, driftPpm: number) {
    this.#offsetMs = initialOffsetMs;
    this.#driftPpm = driftPpm;
  }

  offsetAt(realMs: number): number {
    return this.#offsetMs + ((realMs - this.#sinceMs) * this.#driftPpm) / 1e6;
  }

  /** The node's clock reading at real time realMs, in whole milliseconds. */
  read(realMs: number): number {
    return Math.floor(realMs + this.offsetAt(realMs));
  }

  /** Sets the offset from `realMs` on (a jump, or an NTP correction). */
  setOffset(realMs: number, offsetMs: number, driftPpm = this.#driftPpm): void {
    this.#offsetMs = offsetMs;
    this.#driftPpm = driftPpm;
    this.#sinceMs = realMs;
  }
}
