/**
 * A version vector that changes in place, for the replica's own applied vector: applying an op
 * is one assignment instead of a copy. Everything that keeps a vector takes `snapshot()`, an
 * immutable copy made once per change, never the live object.
 */
import { vectorFrom, type RegionId, type VersionVector } from './version-vector.js';

export class LiveVector {
  readonly #v: Record<RegionId, number>;
  #snapshot: VersionVector | null = null;

  constructor(initial: VersionVector) {
    this.#v = { ...initial };
  }

  get(origin: RegionId): number {
    return this.#v[origin] ?? 0;
  }

  set(origin: RegionId, seq: number): void {
    this.#v[origin] = seq;
    this.#snapshot = null;
  }

  /** The live entries, for reading in place (covers, dominates). Never keep it. */
  view(): VersionVector {
    return this.#v;
  }

  /** An immutable, canonical copy of the current value. */
  snapshot(): VersionVector {
    this.#snapshot ??= vectorFrom(this.#v);
    return this.#snapshot;
  }
}
