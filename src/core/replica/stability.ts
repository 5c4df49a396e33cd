/**
 * Causal stability: which ops every region has applied, so that every op that can still arrive
 * happened after them (Baquero et al., "Making operation-based CRDTs operation-based", 2014).
 *
 * Each region reports its applied vector. A report R from region X is *usable* here only once we
 * have applied X's own ops up to R[X]: X's ops before its report may be concurrent with what it
 * reports, and until they are here one of them could still arrive and conflict. X's ops after
 * the report saw everything in it. So with usable reports U_X from every region, every op ≤
 * min_X U_X is stable: whatever arrives later happened after it.
 *
 * Stability is permanent (an op that is stable stays stable), and the join of stable vectors is
 * stable, so the tracker never reports less than it reported before: `floor` carries what was
 * known across restarts, when reports (soft state) start over. Without it, a restarted region
 * would see ops it had already collected as unstable again and compact rows inconsistently.
 */
import { dominates, get, mergeVectors, minVectors, type RegionId, type VersionVector } from '../clock/version-vector.js';
import { limits } from '../limits.js';

interface PeerReports {
  usable: VersionVector;
  /** Newer reports waiting for their origin's ops to arrive, oldest first. */
  pending: VersionVector[];
}

export class StabilityTracker {
  readonly #self: RegionId;
  readonly #regions: readonly RegionId[];
  readonly #peers = new Map<RegionId, PeerReports>();
  /** Regions some report of which arrived since start (reports are soft state). */
  readonly #heard = new Set<RegionId>();
  #floor: VersionVector;
  /** Evicted regions and their last surviving op (src/core/strong/membership.ts). */
  #evicted: ReadonlyMap<RegionId, number> = new Map();

  constructor(self: RegionId, regions: readonly RegionId[], floor: VersionVector = {}) {
    this.#self = self;
    this.#regions = regions;
    this.#floor = floor;
    for (const r of regions) if (r !== self) this.#peers.set(r, { usable: {}, pending: [] });
  }

  /** A report of `from`'s applied vector, direct or relayed. */
  report(from: RegionId, vector: VersionVector, applied: VersionVector): void {
    const p = this.#peers.get(from);
    if (p === undefined) return;
    this.#heard.add(from);
    if (dominates(p.usable, vector)) return;
    if (get(vector, from) <= get(applied, from)) {
      p.usable = mergeVectors(p.usable, vector);
      return;
    }
    const newest = p.pending[p.pending.length - 1];
    if (newest !== undefined && dominates(newest, vector)) return;
    // When full, drop the newest: older reports become usable first, and a newer one will come.
    if (p.pending.length >= limits.pendingReportsPerPeerMax) p.pending.pop();
    p.pending.push(vector);
  }

  /** Promotes pending reports whose origin's ops have now been applied. */
  advance(applied: VersionVector): void {
    for (const [from, p] of this.#peers) {
      while (p.pending.length > 0) {
        const first = p.pending[0] as VersionVector;
        if (get(first, from) > get(applied, from)) break;
        p.usable = mergeVectors(p.usable, first);
        p.pending.shift();
      }
    }
  }

  /** Decided evictions: region → its last op that survives. */
  setEvicted(evicted: ReadonlyMap<RegionId, number>): void {
    this.#evicted = evicted;
  }

  /**
   * The causally stable vector: min over every region's usable report (ours is `applied`), never
   * less than before. An evicted region's reports are left out once we hold its ops up to the
   * bound its eviction decided: no op of it beyond that will ever be applied anywhere, and every
   * one up to it is here, so nothing of it can still arrive.
   */
  stable(applied: VersionVector): VersionVector {
    const vectors: VersionVector[] = [applied];
    for (const [from, p] of this.#peers) {
      const through = this.#evicted.get(from);
      if (through !== undefined && get(applied, from) >= through) continue;
      vectors.push(p.usable);
    }
    const now = minVectors(vectors, this.#regions);
    if (!dominates(this.#floor, now)) this.#floor = mergeVectors(this.#floor, now);
    return this.#floor;
  }

  /** A report of `region` arrived since start. */
  heard(region: RegionId): boolean {
    return this.#heard.has(region);
  }

  /** The latest known report of every other region, to relay. */
  latest(): Record<RegionId, VersionVector> {
    const out: Record<RegionId, VersionVector> = {};
    for (const [from, p] of this.#peers) out[from] = p.pending[p.pending.length - 1] ?? p.usable;
    return out;
  }

  /** What `region` last reported (usable or not), or the empty vector. */
  reportOf(region: RegionId): VersionVector {
    const p = this.#peers.get(region);
    if (p === undefined) return {};
    return p.pending[p.pending.length - 1] ?? p.usable;
  }

  get self(): RegionId {
    return this.#self;
  }
}
