/**
 * This region's side of the write leases (the strong state machine keeps the table itself:
 * src/core/strong/lease-table.ts). It decides, on every tick, what to ask the strong group for, and
 * answers, at every write, whether this region holds the rights the write needs.
 *
 * Time here is this node's monotonic clock only:
 * - a holder's lease runs from when it asked (`askedMonoMs`, carried in the command) for `leaseMs`,
 *   and it stops writing `maxClockOffsetMs` before that (for clock rates that differ, and timers);
 * - a region asks to take a slot only after it has seen no change of the slot for `leaseMs +
 *   maxClockOffsetMs`, counted from when it applied the last change, which is after the holder asked.
 * So the end of one holder's lease comes before the start of the next one's in real time, whatever
 * the clocks read (docs/internals/failover.md has the timeline).
 */
import type { RegionId } from '../clock/version-vector.js';
import type { LeaseCommandBody, LeaseSlot, LeaseTable } from '../strong/lease-table.js';
import type { FailoverSettings } from './config.js';

/** What the region core knows when it decides what to ask for. */
export interface LeaseConditions {
  readonly monoMs: number;
  /** The clock guard trusts this node's clocks. */
  readonly trusted: boolean;
  /** This region's data is fresh enough to write (not catching up, not read-ready only). */
  readonly caughtUp: boolean;
  /** The highest seq of this region's own ops (what a release says its successor must apply). */
  readonly ownSeq: number;
  /** How far this region has applied `region`'s ops. */
  appliedSeqOf(region: RegionId): number;
  /** This region holds its own write lease now (only a healthy region takes over another's rows). */
  readonly ownLease: boolean;
  /** Whether any table has home-with-failover ownership (otherwise nobody takes over anybody). */
  readonly failoverTables: boolean;
  /** The regions that would take over `home`'s rows, best first. */
  failoverOrder(home: RegionId): readonly RegionId[];
  /** The region is reachable and reports itself write-ready (it could take over in our place). */
  healthy(region: RegionId): boolean;
}

export interface Holding {
  readonly slot: RegionId;
  readonly epoch: number;
}

export class LeaseAgent {
  readonly #self: RegionId;
  readonly #regions: readonly RegionId[];
  readonly #s: FailoverSettings;
  readonly #offsetMs: number;
  /** This boot's name: a grant asked for by an earlier boot is not trusted (its clock is gone). */
  readonly boot: string;
  readonly #ignoreTime: boolean;
  /** Per slot: the change index we last saw and our monotonic time when we first saw it. */
  readonly #seen = new Map<RegionId, { index: number; monoMs: number }>();
  /**
   * Per slot: its drained flag as we last saw it, and our monotonic time when we saw it change
   * (-Infinity: not since this boot; a restarted node does not know when it last changed).
   */
  readonly #drainSeen = new Map<RegionId, { drained: boolean; monoMs: number }>();
  /** Per slot: a request of ours in flight (one at a time), and when we sent it. */
  readonly #asked = new Map<RegionId, number>();
  readonly #bootMonoMs: number;

  constructor(self: RegionId, regions: readonly RegionId[], settings: FailoverSettings, maxClockOffsetMs: number, boot: string, bootMonoMs: number, ignoreTime = false) {
    this.#self = self;
    this.#regions = regions;
    this.#s = settings;
    this.#offsetMs = maxClockOffsetMs;
    this.boot = boot;
    this.#bootMonoMs = bootMonoMs;
    this.#ignoreTime = ignoreTime;
  }

  /** Notes when each slot last changed, by our clock (call after every strong flush). */
  observe(table: LeaseTable, monoMs: number): void {
    for (const region of this.#regions) {
      const s = table.slot(region);
      const seen = this.#seen.get(region);
      if (seen === undefined) this.#seen.set(region, { index: s.changedIndex, monoMs: s.changedIndex === 0 ? this.#bootMonoMs : monoMs });
      else if (seen.index !== s.changedIndex) this.#seen.set(region, { index: s.changedIndex, monoMs });
      const d = this.#drainSeen.get(region);
      if (d === undefined) this.#drainSeen.set(region, { drained: s.drained, monoMs: -Infinity });
      else if (d.drained !== s.drained) this.#drainSeen.set(region, { drained: s.drained, monoMs });
    }
  }

  /** When we saw `slot`'s drained flag change last, by our monotonic clock (-Infinity: not since this boot). */
  drainChangedMonoMs(slot: RegionId): number {
    return this.#drainSeen.get(slot)?.monoMs ?? -Infinity;
  }

  /** Our request for `slot` was answered (or timed out): we may ask again. */
  answered(slot: RegionId): void {
    this.#asked.delete(slot);
  }

  /**
   * The rights this region holds on `slot` now: it is the holder, it asked in this boot, its lease
   * has not run out (less the clock offset), and it is not giving the slot up (drained, or asked to
   * hand back).
   */
  holds(s: LeaseSlot, slot: RegionId, monoMs: number): Holding | null {
    if (s.holder !== this.#self || s.boot !== this.boot) return null;
    if (slot === this.#self ? s.drained : s.handback) return null;
    if (!this.#ignoreTime && monoMs >= s.askedMonoMs + this.#s.leaseMs - this.#offsetMs) return null;
    return { slot, epoch: s.epoch };
  }

  /** When our lease on `slot` ends by our clock (null: we do not hold it). */
  deadlineMs(s: LeaseSlot): number | null {
    return s.holder === this.#self && s.boot === this.boot ? s.askedMonoMs + this.#s.leaseMs - this.#offsetMs : null;
  }

  /** The lease commands to propose now. */
  proposals(table: LeaseTable, c: LeaseConditions): LeaseCommandBody[] {
    const out: LeaseCommandBody[] = [];
    for (const slot of this.#regions) {
      const asked = this.#asked.get(slot);
      if (asked !== undefined && c.monoMs - asked < this.#s.leaseMs) continue;
      const command = slot === this.#self ? this.#forOwn(table.slot(slot), c) : this.#forOther(slot, table.slot(slot), table.slot(this.#self).drained, c);
      if (command === null) continue;
      this.#asked.set(slot, c.monoMs);
      out.push(command);
    }
    return out;
  }

  #acquire(slot: RegionId, s: LeaseSlot, c: LeaseConditions): LeaseCommandBody {
    return { t: 'lease', op: 'acquire', slot, by: this.#self, basedOn: s.changedIndex, boot: this.boot, monoMs: c.monoMs, wallMs: 0 };
  }

  #release(slot: RegionId, s: LeaseSlot, c: LeaseConditions): LeaseCommandBody {
    return { t: 'lease', op: 'release', slot, by: this.#self, epoch: s.epoch, through: c.ownSeq, wallMs: 0 };
  }

  /**
   * When, by our monotonic clock, `slot` (as it stands in `s`) lapses if nothing changes it: a lease
   * plus the offset after we saw its last change; a drained slot with no holder is free now.
   */
  lapsesAtMs(slot: RegionId, s: LeaseSlot): number | null {
    if (s.holder === null && s.drained) return -Infinity;
    const seen = this.#seen.get(slot);
    return seen === undefined || seen.index !== s.changedIndex ? null : seen.monoMs + this.#s.leaseMs + this.#offsetMs;
  }

  /** No change of the slot for a lease plus the offset, by our clock: whoever held it has stopped. */
  #lapsed(slot: RegionId, s: LeaseSlot, monoMs: number): boolean {
    const seen = this.#seen.get(slot);
    return seen !== undefined && seen.index === s.changedIndex && monoMs - seen.monoMs >= this.#s.leaseMs + this.#offsetMs;
  }

  #renewDue(s: LeaseSlot, c: LeaseConditions): boolean {
    return s.boot !== this.boot || c.monoMs - s.askedMonoMs >= this.#s.renewMs;
  }

  #forOwn(s: LeaseSlot, c: LeaseConditions): LeaseCommandBody | null {
    const self = this.#self;
    if (s.holder === self) {
      if (s.drained) return this.#release(self, s, c); // evacuation: give the rows up at once
      return c.trusted && this.#renewDue(s, c) ? this.#acquire(self, s, c) : null;
    }
    if (s.drained || !c.trusted || !c.caughtUp) return null;
    if (s.holder === null) {
      // After a handback, first apply everything the last holder wrote.
      const r = s.releasedThrough;
      if (r !== null && r.region !== self && c.appliedSeqOf(r.region) < r.seq) return null;
      return this.#acquire(self, s, c);
    }
    // A failover region holds our rows: take them back once its lease has run out, else ask for them.
    if (this.#lapsed(self, s, c.monoMs)) return this.#acquire(self, s, c);
    return s.handback ? null : { t: 'lease', op: 'handback', slot: self, wallMs: 0 };
  }

  #forOther(home: RegionId, s: LeaseSlot, drained: boolean, c: LeaseConditions): LeaseCommandBody | null {
    if (s.holder === this.#self) {
      // Asked to hand back, or drained ourselves: an evacuated region gives up what it took over too.
      if (s.handback || drained) return this.#release(home, s, c);
      return c.trusted && this.#renewDue(s, c) ? this.#acquire(home, s, c) : null;
    }
    if (drained || !c.failoverTables || !c.trusted || !c.caughtUp || !c.ownLease || !this.#firstCandidate(home, c)) return null;
    // A drained home gave its rows up itself: take them at once. Otherwise only once nobody can still hold them.
    const free = s.holder === null && s.drained;
    return free || this.#lapsed(home, s, c.monoMs) ? this.#acquire(home, s, c) : null;
  }

  /** We come first among the regions that could take over `home` and look healthy. */
  #firstCandidate(home: RegionId, c: LeaseConditions): boolean {
    for (const r of c.failoverOrder(home)) {
      if (r === this.#self) return true;
      if (c.healthy(r)) return false;
    }
    return false;
  }
}
