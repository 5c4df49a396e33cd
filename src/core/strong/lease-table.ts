/**
 * Region write leases, as the strong state machine keeps them (docs/internals/failover.md).
 *
 * One slot per region. Its holder may write that region's guarded rows: the region itself (its
 * write lease), a failover region (a takeover of the home's rows), or nobody. The epoch rises every
 * time write rights are granted to a new holder or anew after a lapse, and every change is kept in a
 * short history, so any replica can tell who held a slot at a given log position.
 *
 * The state machine decides only what the log order can decide: an `acquire` names the log index
 * of the slot's last change it saw (`basedOn`) and is granted only if nothing changed since. Time is
 * judged by the proposer, on its own monotonic clock: a holder renews well before its lease runs
 * out and stops writing before it could have (measured from when it asked); anyone else asks to take
 * the slot only once it has seen no change for the lease plus the clock offset (measured from when
 * it applied that change, which is after the holder asked). So no two holders' lease intervals
 * overlap in real time, whatever the clocks read, as long as their rates agree within the margin.
 */
import type { RegionId } from '../clock/version-vector.js';
import { assert } from '../util/assert.js';
import type { DrainScope } from './drain-rules.js';

export interface LeaseSlot {
  readonly holder: RegionId | null;
  readonly epoch: number;
  /** The log index of the last grant, renewal or release: what the next `acquire` must name. */
  readonly changedIndex: number;
  /** The holder's boot when it asked, and its monotonic clock then: it measures its lease from there. */
  readonly boot: string;
  readonly askedMonoMs: number;
  /** The proposer's clock when it asked; `stampMs + leaseMs` is the expiry shown in status. */
  readonly stampMs: number;
  /** An operator drained the region: it does not hold its own slot; others may take it at once. */
  readonly drained: boolean;
  /** The home region asked for its slot back: the takeover holder stops renewing and releases it. */
  readonly handback: boolean;
  /** Set by a release: the releasing holder's own log ended at `seq`; its successor applies that first. */
  readonly releasedThrough: { readonly region: RegionId; readonly seq: number } | null;
}

export type LeaseCommandBody =
  | { readonly t: 'lease'; readonly op: 'acquire'; readonly slot: RegionId; readonly by: RegionId; readonly basedOn: number; readonly boot: string; readonly monoMs: number; readonly wallMs: number }
  | { readonly t: 'lease'; readonly op: 'release'; readonly slot: RegionId; readonly by: RegionId; readonly epoch: number; readonly through: number; readonly wallMs: number }
  | { readonly t: 'lease'; readonly op: 'handback' | 'undrain'; readonly slot: RegionId; readonly wallMs: number }
  /**
   * An operator's drain. Unless `force`, the state machine refuses it when applied if it would leave
   * guarded rows with no region to write them (src/core/strong/drain-rules.ts), judged with `scope`;
   * an entry without a scope (from before that rule) applies unchecked.
   */
  | { readonly t: 'lease'; readonly op: 'drain'; readonly slot: RegionId; readonly wallMs: number; readonly force?: boolean; readonly scope?: DrainScope };

export type LeaseOp = LeaseCommandBody['op'];

export interface LeaseHistoryEntry {
  /** From this log index on (until the next entry), `holder` held the slot under `epoch`. */
  readonly from: number;
  readonly holder: RegionId | null;
  readonly epoch: number;
}

export interface LeaseTableData {
  readonly slots: ReadonlyArray<readonly [RegionId, LeaseSlot]>;
  readonly history: ReadonlyArray<readonly [RegionId, readonly LeaseHistoryEntry[]]>;
}


export const vacantSlot: LeaseSlot = Object.freeze({ holder: null, epoch: 0, changedIndex: 0, boot: '', askedMonoMs: 0, stampMs: 0, drained: false, handback: false, releasedThrough: null });

export class LeaseTable {
  readonly #slots = new Map<RegionId, LeaseSlot>();
  readonly #history = new Map<RegionId, LeaseHistoryEntry[]>();

  slot(region: RegionId): LeaseSlot {
    return this.#slots.get(region) ?? vacantSlot;
  }

  /** Which of `regions` are drained. */
  drainedOf(regions: readonly RegionId[]): Set<RegionId> {
    return new Set(regions.filter((r) => this.slot(r).drained));
  }

  slots(): ReadonlyMap<RegionId, LeaseSlot> {
    return this.#slots;
  }

  /**
   * Who held `slot` at log position `index`, and under which epoch. The history is complete (every
   * change of holder since the slot's first grant), so this always answers: a guarded op is fenced
   * or applied on the log alone, never on the writer's word (a capped history once trusted the
   * writer for ops older than its last 64 changes).
   *
   * Why keeping everything is affordable: a slot changes holder on failovers and operator drains
   * only, and drain-rules.ts bounds that to about twice per leaseMs however fast operators ask;
   * an entry is three numbers. Collecting entries below the point where every op that could carry
   * an older epoch has been applied everywhere belongs with the bounded-history work (snapshots).
   * So it has no count limit in limits.ts on purpose: the invariant checks in #set need only the
   * last entry, but holderAt needs every entry an op still on its way may name, and a count cap
   * would have to either fence valid writes or trust the writer again.
   */
  holderAt(slot: RegionId, index: number): { holder: RegionId | null; epoch: number } {
    const h = this.#history.get(slot) ?? [];
    for (let i = h.length - 1; i >= 0; i--) {
      const e = h[i] as LeaseHistoryEntry;
      if (e.from <= index) return { holder: e.holder, epoch: e.epoch };
    }
    // Before the first change of holder the slot was vacant.
    return { holder: null, epoch: 0 };
  }

  /** Applies a lease command at log `index`: whether it was granted (acquire) and the slot after it. */
  apply(index: number, c: LeaseCommandBody): { granted: boolean; slot: LeaseSlot } {
    const s = this.slot(c.slot);
    switch (c.op) {
      case 'acquire': {
        if (c.basedOn !== s.changedIndex) return { granted: false, slot: s };
        if (c.by === c.slot && s.drained) return { granted: false, slot: s };
        // A takeover holder asked to hand back does not renew: its lease runs out or it releases.
        if (c.by === s.holder && s.handback) return { granted: false, slot: s };
        const renew = c.by === s.holder;
        const next: LeaseSlot = {
          ...s,
          holder: c.by,
          epoch: renew ? s.epoch : s.epoch + 1,
          changedIndex: index,
          boot: c.boot,
          askedMonoMs: c.monoMs,
          stampMs: c.wallMs,
          handback: renew ? s.handback : false,
          releasedThrough: renew ? s.releasedThrough : null,
        };
        this.#set(c.slot, next, index, !renew);
        return { granted: true, slot: next };
      }
      case 'release': {
        if (s.holder !== c.by || s.epoch !== c.epoch) return { granted: false, slot: s };
        const next: LeaseSlot = { ...s, holder: null, changedIndex: index, handback: false, releasedThrough: { region: c.by, seq: c.through } };
        this.#set(c.slot, next, index, true);
        return { granted: true, slot: next };
      }
      case 'handback': {
        if (s.holder === null || s.holder === c.slot || s.handback) return { granted: false, slot: s };
        const next = { ...s, handback: true };
        this.#set(c.slot, next, index, false);
        return { granted: true, slot: next };
      }
      case 'drain':
      case 'undrain': {
        const drained = c.op === 'drain';
        if (s.drained === drained) return { granted: false, slot: s };
        const next = { ...s, drained };
        this.#set(c.slot, next, index, false);
        return { granted: true, slot: next };
      }
    }
  }

  /**
   * Records a slot's new state. The invariants fencing rests on (docs/internals/failover.md), checked
   * at every change so a bug that breaks one stops the node (and fails the simulation) instead of
   * letting two regions write one row under one epoch:
   * - the log order: changes of a slot come at increasing log positions, so there is never more
   *   than one holder of a slot at one position (holderAt answers one);
   * - epochs only grow, and a new holder always comes with an epoch no earlier holder had (a
   *   release keeps the epoch, with no holder): a guarded op's (holder, epoch) names one grant.
   */
  #set(region: RegionId, slot: LeaseSlot, index: number, holderChanged: boolean): void {
    const before = this.slot(region);
    assert(index > before.changedIndex, () => `lease slot ${region} changed at log position ${index}, not after its last change at ${before.changedIndex}`);
    assert(slot.epoch >= before.epoch, () => `lease slot ${region}: epoch ${slot.epoch} after ${before.epoch} (epochs only grow)`);
    this.#slots.set(region, slot);
    if (!holderChanged) return;
    let h = this.#history.get(region);
    if (h === undefined) this.#history.set(region, (h = []));
    const last = h[h.length - 1];
    // (Its position is after last.from: every holder change moves changedIndex, checked above.)
    if (last !== undefined) {
      assert(slot.holder === null || slot.epoch > last.epoch, () => `lease slot ${region}: ${slot.holder} holds it under epoch ${slot.epoch}, which ${last.holder ?? 'nobody'} had at ${last.from}`);
    }
    h.push({ from: index, holder: slot.holder, epoch: slot.epoch });
  }

  snapshot(): LeaseTableData {
    return { slots: [...this.#slots.entries()], history: [...this.#history.entries()].map(([r, h]) => [r, [...h]] as const) };
  }

  restore(data: LeaseTableData | undefined): void {
    this.#slots.clear();
    this.#history.clear();
    for (const [r, s] of data?.slots ?? []) this.#slots.set(r, s);
    for (const [r, h] of data?.history ?? []) this.#history.set(r, [...h]);
  }
}
