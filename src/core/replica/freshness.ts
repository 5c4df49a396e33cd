/**
 * Freshness for bounded-staleness reads. Each origin periodically emits a heartbeat (its log's
 * end at a physical time on its clock), relayed like reports. Once we have applied an origin's
 * ops up to a heartbeat's seq, we hold every write that origin acknowledged before that time.
 *
 * A read with bound B is served only if, for every other origin X, now − fresh(X) + maxOffset ≤ B:
 * the max clock offset turns X's clock reading into a safe bound on real time (docs/internals).
 */
import { get, type RegionId, type VersionVector } from '../clock/version-vector.js';
import { limits } from '../limits.js';
import type { Beat } from './messages.js';

interface OriginBeats {
  /** Latest heartbeat whose ops we have applied (wallMs -Infinity: none yet). */
  covered: Beat;
  /** Newer heartbeats waiting for their ops, in seq order. */
  pending: Beat[];
  /** Latest heartbeat seen at all, to relay. */
  latest: Beat | null;
  /** HLC wall of the newest of the origin's ops applied here since start (-Infinity: none). */
  appliedWallMs: number;
}

export class Freshness {
  readonly #origins = new Map<RegionId, OriginBeats>();

  constructor(regions: readonly RegionId[]) {
    for (const r of regions) this.#origins.set(r, { covered: { seq: 0, wallMs: -Infinity }, pending: [], latest: null, appliedWallMs: -Infinity });
  }

  beat(origin: RegionId, beat: Beat, applied: VersionVector): void {
    const o = this.#origins.get(origin);
    if (o === undefined) return;
    if (o.latest === null || beat.wallMs > o.latest.wallMs) o.latest = beat;
    if (beat.wallMs <= o.covered.wallMs) return;
    if (beat.seq <= get(applied, origin)) {
      o.covered = beat;
      o.pending = o.pending.filter((b) => b.wallMs > beat.wallMs);
      return;
    }
    if (o.pending.some((b) => b.wallMs >= beat.wallMs && b.seq <= beat.seq)) return;
    if (o.pending.length >= limits.pendingBeatsPerOriginMax) o.pending.pop();
    o.pending.push(beat);
    o.pending.sort((a, b) => a.seq - b.seq || a.wallMs - b.wallMs);
  }

  advance(applied: VersionVector): void {
    for (const [origin, o] of this.#origins) {
      while (o.pending.length > 0) {
        const first = o.pending[0] as Beat;
        if (first.seq > get(applied, origin)) break;
        if (first.wallMs > o.covered.wallMs) o.covered = first;
        o.pending.shift();
      }
    }
  }

  /** An op of `origin` with HLC wall `wallMs` was applied here (its time is a point its backlog has reached). */
  applied(origin: RegionId, wallMs: number): void {
    const o = this.#origins.get(origin);
    if (o !== undefined && wallMs > o.appliedWallMs) o.appliedWallMs = wallMs;
  }

  /** The origin time up to which we hold all of `origin`'s writes (-Infinity when unknown). */
  freshAsOf(origin: RegionId): number {
    return this.#origins.get(origin)?.covered.wallMs ?? -Infinity;
  }

  /**
   * The origin time of the newest sign of life of `origin` here: the newest of its heartbeats seen
   * (directly or relayed, whether or not its ops are applied yet), or the newest covered one
   * (-Infinity when none). A region whose heartbeats still arrive is not gone, even while this
   * replica cannot apply its ops yet (they wait on ops or strong log entries it lacks itself).
   */
  heardAsOf(origin: RegionId): number {
    const o = this.#origins.get(origin);
    if (o === undefined) return -Infinity;
    return Math.max(o.covered.wallMs, o.latest?.wallMs ?? -Infinity);
  }

  /**
   * How much of `origin`'s history this replica lacks, for its stage: the span of the origin's own
   * clock between where this replica has got to (the newest heartbeat covered here, or the HLC of
   * the newest op of that origin applied here, whichever is later) and the newest known heartbeat
   * whose ops are held elsewhere (seq ≤ heldSeq) but not applied here. Both ends are readings of
   * one clock (an op's HLC follows its origin's clock, or a later time it heard of), so an origin
   * whose clock is skewed, slow or stepped cannot inflate it. 0 when nothing held elsewhere is
   * missing, or when what is missing is newer than every heartbeat (in flight: less than one
   * heartbeat interval); Infinity when some is missing and nothing of the origin was covered or
   * applied since start (after a restart: it cannot tell how much it missed).
   */
  backlogMs(origin: RegionId, appliedSeq: number, heldSeq: number): number {
    if (heldSeq <= appliedSeq) return 0;
    const o = this.#origins.get(origin);
    if (o === undefined) return 0;
    // Called every step for every origin: no copies of the pending list.
    const missing = (b: Beat | null): number => (b !== null && b.seq > appliedSeq && b.seq <= heldSeq ? b.wallMs : -Infinity);
    let newest = missing(o.latest);
    for (const b of o.pending) newest = Math.max(newest, missing(b));
    if (newest === -Infinity) return 0;
    return Math.max(0, newest - Math.max(o.covered.wallMs, o.appliedWallMs));
  }

  latestBeats(): Record<RegionId, Beat> {
    const out: Record<RegionId, Beat> = {};
    for (const [origin, o] of this.#origins) if (o.latest !== null) out[origin] = o.latest;
    return out;
  }
}
