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
 * The table is a function of the log alone: every node applies the same commands in the same order.
 */
import type { RegionId } from '../clock/version-vector.js';

export type MembershipCommandBody =
  | { readonly t: 'evict'; readonly region: RegionId; readonly by: RegionId; readonly wallMs: number }
  | { readonly t: 'evict-ack'; readonly region: RegionId; readonly by: RegionId; readonly through: number; readonly wallMs: number };

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
}

export type MembershipData = ReadonlyArray<readonly [RegionId, Eviction]>;

export type MembershipResult = { readonly changed: boolean; readonly why: string | null };

export class Membership {
  readonly #regions: readonly RegionId[];
  readonly #evictions = new Map<RegionId, Eviction>();
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

  get size(): number {
    return this.#evictions.size;
  }

  /** Regions neither evicted nor being evicted. */
  members(): RegionId[] {
    return this.#regions.filter((r) => !this.#evictions.has(r));
  }

  apply(index: number, c: MembershipCommandBody): MembershipResult {
    if (!this.#regions.includes(c.region) || !this.#regions.includes(c.by)) return { changed: false, why: 'not a region of the cluster' };
    // A region never evicts itself, and a region being evicted has no say.
    if (c.region === c.by) return { changed: false, why: 'a region never evicts itself' };
    if (this.#evictions.has(c.by)) return { changed: false, why: `${c.by} is itself evicted` };
    if (c.t === 'evict') {
      if (this.#evictions.has(c.region)) return { changed: false, why: `${c.region} is already evicted` };
      // At least one member must stay to hold the data and decide.
      if (this.members().length <= 1) return { changed: false, why: 'the last member is never evicted' };
      this.#evictions.set(c.region, { region: c.region, index, by: c.by, acks: {}, through: null, decidedIndex: null });
    } else {
      const e = this.#evictions.get(c.region);
      if (e === undefined || e.through !== null || Object.hasOwn(e.acks, c.by)) return { changed: false, why: 'nothing to acknowledge' };
      this.#evictions.set(c.region, { ...e, acks: { ...e.acks, [c.by]: c.through } });
    }
    this.#decide(index);
    this.version++;
    return { changed: true, why: null };
  }

  /** Decides every pending eviction all of whose members have acknowledged (a new eviction can complete another). */
  #decide(index: number): void {
    const members = this.members();
    for (const [region, e] of this.#evictions) {
      if (e.through !== null || !members.every((m) => Object.hasOwn(e.acks, m))) continue;
      // Only members' holdings count: a region evicted since may hold ops no member will get.
      const through = Math.max(0, ...members.map((m) => e.acks[m] ?? 0));
      this.#evictions.set(region, { ...e, through, decidedIndex: index });
    }
  }

  snapshot(): MembershipData {
    return [...this.#evictions.entries()];
  }

  restore(data: MembershipData | undefined): void {
    this.#evictions.clear();
    for (const [r, e] of data ?? []) this.#evictions.set(r, e);
    this.version++;
  }
}
