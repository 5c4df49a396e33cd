/**
 * Which regions count for causal stability (docs/internals/replication.md, "Bounded history").
 * A region unheard for longer than the retention window is **evicted** through the strong log, so
 * every region agrees on the same membership from the same log position. Eviction takes two steps,
 * because the regions that stay must agree on exactly which of the evicted region's ops survive:
 *
 * 1. `evict X` (proposed by any region that has not heard X for the window): every region that
 *    applies it **freezes** X: from then on it accepts none of X's ops beyond what it holds, and it
 *    says how far that is with `evict-ack X through h`.
 * 2. Once every region still a member (neither evicted nor being evicted) has acknowledged, X is
 *    **evicted through** F = the largest h among them. X's ops up to F are held by some member and
 *    spread to all; X's ops beyond F are held by no member, and never will be: they are X's
 *    orphans. Stability is then computed without X's reports once a region holds X's ops to F.
 *
 * **Readmission.** An evicted region asks `readmit X` itself as soon as it learns of its eviction.
 * From that entry on, members count X's reports in stability again, so their stable points stop
 * where X's last usable report left them (its data is old) and their logs are kept from there; each
 * acknowledges with its stable vector, `readmit-ack X by M stable S`. Once every member has, the join
 * J of those vectors is known, and X installs a snapshot of a member taken then (so it holds J, and
 * the members' logs hold everything after it); then X acknowledges itself (`readmit-ack X by X`: it
 * holds such a snapshot and got its own writes up to F back), and X is a member again. X writes
 * nothing until it has applied J, so no write of X can be concurrent with an op a member made
 * stable without it (and collected the tombstones of); every op that becomes stable at a member
 * after the readmit entry is one X reported applying. Members stay frozen at F for X's ops until X
 * is a member again: the data it was evicted with, orphans included, never reaches them.
 *
 * The table is a function of the log alone: every node applies the same commands in the same order.
 */
import { mergeVectors, type RegionId, type VersionVector } from '../clock/version-vector.js';

export type MembershipCommandBody =
  /** `why`: the proposer's reason, for the logs (`unheard`: past retention.logMs; `log-bytes`: past retention.logBytesMax). */
  | { readonly t: 'evict'; readonly region: RegionId; readonly by: RegionId; readonly why?: 'unheard' | 'log-bytes'; readonly wallMs: number }
  | { readonly t: 'evict-ack'; readonly region: RegionId; readonly by: RegionId; readonly through: number; readonly wallMs: number }
  /** Asked by the evicted region itself, of its eviction decided at `evictionIndex`. */
  | { readonly t: 'readmit'; readonly region: RegionId; readonly by: RegionId; readonly evictionIndex: number; readonly wallMs: number }
  /** By a member: its stable vector as the readmission began. By the region itself: it installed a snapshot taken after every member did. */
  | { readonly t: 'readmit-ack'; readonly region: RegionId; readonly by: RegionId; readonly stable: VersionVector; readonly wallMs: number };

export interface Eviction {
  readonly region: RegionId;
  /** The log index of the `evict` entry. */
  readonly index: number;
  readonly by: RegionId;
  /** Per member region, how far it held the evicted region's ops when it froze them. */
  readonly acks: Readonly<Record<RegionId, number>>;
  /** Null while members are still acknowledging; then the evicted region's last op that survives. */
  readonly through: number | null;
  /** The log index at which `through` was decided (null while pending). */
  readonly decidedIndex: number | null;
  /**
   * Once the region asked to come back: the `readmit` entry, per member its stable vector then, and
   * whether the region has installed a snapshot taken after all of them (`installed`).
   */
  readonly readmit: { readonly index: number; readonly acks: Readonly<Record<RegionId, VersionVector>>; readonly installed: boolean } | null;
}

/** A region readmitted after an eviction: it writes nothing until it has applied `after`. */
export interface Readmission {
  readonly region: RegionId;
  readonly index: number;
  readonly after: VersionVector;
}

export type MembershipData = ReadonlyArray<readonly [RegionId, Eviction]> | { readonly evictions: ReadonlyArray<readonly [RegionId, Eviction]>; readonly readmitted: ReadonlyArray<readonly [RegionId, Readmission]> };

export type MembershipResult = { readonly changed: boolean; readonly why: string | null };

export class Membership {
  readonly #regions: readonly RegionId[];
  readonly #evictions = new Map<RegionId, Eviction>();
  readonly #readmitted = new Map<RegionId, Readmission>();
  /** Counts changes (and restores): a reader rebuilds what it derives only when this moves. */
  version = 0;

  constructor(regions: readonly RegionId[]) {
    this.#regions = regions;
  }

  /** The eviction of `region`, pending or decided; undefined while it is a member. */
  eviction(region: RegionId): Eviction | undefined {
    return this.#evictions.get(region);
  }

  evictions(): IterableIterator<Eviction> {
    return this.#evictions.values();
  }

  /** The latest readmission of `region` (undefined: never readmitted, or evicted again since). */
  readmitted(region: RegionId): Readmission | undefined {
    return this.#readmitted.get(region);
  }

  get size(): number {
    return this.#evictions.size;
  }

  /** Regions neither evicted nor being evicted. */
  members(): RegionId[] {
    return this.#regions.filter((r) => !this.#evictions.has(r));
  }

  apply(index: number, c: MembershipCommandBody): MembershipResult {
    if (!this.#regions.includes(c.region) || !this.#regions.includes(c.by)) return { changed: false, why: 'not a region of the cluster' };
    if (c.t === 'readmit' || (c.t === 'readmit-ack' && c.by === c.region)) {
      const e = this.#evictions.get(c.region);
      if (c.by !== c.region || e === undefined || e.through === null) return { changed: false, why: 'nothing to readmit' };
      if (c.t === 'readmit') {
        // Only the region itself asks, once its eviction is decided.
        if (e.readmit !== null || e.index !== c.evictionIndex) return { changed: false, why: 'nothing to readmit' };
        this.#evictions.set(c.region, { ...e, readmit: { index, acks: {}, installed: false } });
      } else {
        // It installed a snapshot taken after every member acknowledged.
        if (e.readmit === null || e.readmit.installed || !this.#allAcked(e.readmit.acks)) return { changed: false, why: 'nothing to acknowledge' };
        this.#evictions.set(c.region, { ...e, readmit: { ...e.readmit, installed: true } });
      }
      this.#decide(index);
      this.version++;
      return { changed: true, why: null };
    }
    // A region never evicts itself, and a region being evicted has no say.
    if (c.region === c.by) return { changed: false, why: 'a region never evicts itself' };
    if (this.#evictions.has(c.by)) return { changed: false, why: `${c.by} is itself evicted` };
    if (c.t === 'readmit-ack') {
      const e = this.#evictions.get(c.region);
      if (e === undefined || e.readmit === null || Object.hasOwn(e.readmit.acks, c.by)) return { changed: false, why: 'nothing to acknowledge' };
      this.#evictions.set(c.region, { ...e, readmit: { ...e.readmit, acks: { ...e.readmit.acks, [c.by]: c.stable } } });
      this.#decide(index);
      this.version++;
      return { changed: true, why: null };
    }
    if (c.t === 'evict') {
      if (this.#evictions.has(c.region)) return { changed: false, why: `${c.region} is already evicted` };
      // At least one member must stay to hold the data and decide.
      if (this.members().length <= 1) return { changed: false, why: 'the last member is never evicted' };
      this.#evictions.set(c.region, { region: c.region, index, by: c.by, acks: {}, through: null, decidedIndex: null, readmit: null });
      this.#readmitted.delete(c.region);
    } else {
      const e = this.#evictions.get(c.region);
      if (e === undefined || e.through !== null || Object.hasOwn(e.acks, c.by)) return { changed: false, why: 'nothing to acknowledge' };
      this.#evictions.set(c.region, { ...e, acks: { ...e.acks, [c.by]: c.through } });
    }
    this.#decide(index);
    this.version++;
    return { changed: true, why: null };
  }

  /**
   * Decides every pending eviction, and every pending readmission, all of whose members have
   * acknowledged (a new eviction can complete another, as it is no longer waited for).
   */
  #decide(index: number): void {
    const members = this.members();
    for (const [region, e] of this.#evictions) {
      if (e.readmit !== null && e.readmit.installed && this.#allAcked(e.readmit.acks)) {
        const after = this.readmitJoin(region) ?? {};
        this.#evictions.delete(region);
        this.#readmitted.set(region, { region, index, after });
        continue;
      }
      if (e.through !== null || !members.every((m) => Object.hasOwn(e.acks, m))) continue;
      // Only members' holdings count: a region evicted since may hold ops no member will get.
      const through = Math.max(0, ...members.map((m) => e.acks[m] ?? 0));
      this.#evictions.set(region, { ...e, through, decidedIndex: index });
    }
  }

  /** Every member has acknowledged a readmission (its join is then known: the snapshot to install must hold it). */
  #allAcked(acks: Readonly<Record<RegionId, VersionVector>>): boolean {
    return this.members().every((m) => Object.hasOwn(acks, m));
  }

  /** The join of the members' acknowledgements of `region`'s readmission, once all have (else null). */
  readmitJoin(region: RegionId): VersionVector | null {
    const r = this.#evictions.get(region)?.readmit;
    if (r === undefined || r === null || !this.#allAcked(r.acks)) return null;
    let after: VersionVector = {};
    for (const m of this.members()) after = mergeVectors(after, r.acks[m] ?? {});
    return after;
  }

  snapshot(): MembershipData {
    return { evictions: [...this.#evictions.entries()], readmitted: [...this.#readmitted.entries()] };
  }

  restore(data: MembershipData | undefined): void {
    this.#evictions.clear();
    this.#readmitted.clear();
    const d = data === undefined ? { evictions: [], readmitted: [] } : Array.isArray(data) ? { evictions: data as ReadonlyArray<readonly [RegionId, Eviction]>, readmitted: [] } : (data as Exclude<MembershipData, ReadonlyArray<unknown>>);
    for (const [r, e] of d.evictions) this.#evictions.set(r, { ...e, readmit: e.readmit === undefined || e.readmit === null ? null : { ...e.readmit, installed: e.readmit.installed ?? false } });
    for (const [r, x] of d.readmitted) this.#readmitted.set(r, x);
    this.version++;
  }
}
