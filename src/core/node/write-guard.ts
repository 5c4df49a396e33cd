/**
 * Who may write a guarded row here, and what to do with other regions' guarded ops: the
 * replica's WriteGuard, answered from the strong log's lease table and this region's lease agent.
 *
 * - multi-writer tables with whenIsolated: accept: anyone, any time (no fence stamp);
 * - multi-writer tables with whenIsolated: reject: this region, under its own write lease;
 * - home tables: the row's home region, under its own lease; elsewhere 421 WRONG_REGION;
 * - home-with-failover tables: the home under its lease, or the region holding a takeover of the
 *   home's slot; elsewhere 421 naming whoever may write it now.
 * A write this region would be allowed but for its lease is 503 FENCED, naming who can take it.
 */
import type { RegionId } from '../clock/version-vector.js';
import { ternError, type TernError } from '../errors.js';
import type { FenceStamp, Op } from '../model/op.js';
import { wrongRegion, type GuardCheck, type GuardVerdict, type WriteGuard } from '../replica/guard.js';
import { isGuarded, type TablePolicy } from '../schema/policy.js';
import type { LeaseSlot, LeaseTable } from '../strong/lease-table.js';
import type { Holding } from './lease-agent.js';

export interface WriteRightsPort {
  readonly self: RegionId;
  readonly regions: readonly RegionId[];
  /** The strong log's lease table and the position applied here. */
  table(): LeaseTable;
  strongIndex(): number;
  /** What this region holds of `slot` now (its lease agent, with the current time). */
  holds(slot: RegionId, s: LeaseSlot): Holding | null;
  /** Why this region may not write guarded rows now, for the FENCED message ('lease', 'drain', 'clock'). */
  fencedReason(): string;
  /** Regions that could take a write of `slot`'s rows of a table with `policy` now (for the FENCED body). */
  ableRegions(slot: RegionId, policy: TablePolicy): readonly RegionId[];
  /** The region expected to take `slot`'s rows of a table with `policy`, and in how long, as far as this one knows. */
  expectedTaker(slot: RegionId, policy: TablePolicy): { readonly region: RegionId; readonly inMs: number } | null;
  readonly fenceByLatestEpoch: boolean;
}

export class RegionWriteGuard implements WriteGuard {
  readonly #p: WriteRightsPort;
  /** The latest epoch applied per slot (only for the deliberately wrong fenceByLatestEpoch rule). */
  readonly #latest = new Map<RegionId, number>();

  constructor(port: WriteRightsPort) {
    this.#p = port;
  }

  check(table: string, key: string, policy: TablePolicy, home: RegionId | null): GuardCheck {
    const p = this.#p;
    if (!isGuarded(policy)) return { ok: true, fence: null };
    if (home !== null && !p.regions.includes(home)) return { ok: false, error: wrongRegion(table, key, home) };
    const slot = policy.ownership === 'multi-writer' || home === null ? p.self : home;
    const s = p.table().slot(slot);
    if (slot !== p.self && (policy.ownership === 'home' || s.holder !== p.self)) {
      if (policy.ownership === 'home' || s.holder === null || s.holder === slot) return { ok: false, error: wrongRegion(table, key, slot) };
      return { ok: false, error: ternError('WRONG_REGION', `row ${key} of ${table} is homed in ${slot}, whose rows ${s.holder} writes while ${slot} is away; send the write there`, { home: s.holder }) };
    }
    const held = p.holds(slot, s);
    if (held === null) return { ok: false, error: this.#fenced(table, key, slot, policy) };
    return { ok: true, fence: { slot, epoch: held.epoch, at: p.strongIndex() } };
  }

  #fenced(table: string, key: string, slot: RegionId, policy: TablePolicy): TernError {
    const p = this.#p;
    const able = p.ableRegions(slot, policy);
    const expected = able.length > 0 ? null : p.expectedTaker(slot, policy);
    const where =
      able.length > 0
        ? `; ${able.join(', ')} can take it`
        : expected !== null
          ? `; ${expected.region} is expected to take it ${expected.inMs > 0 ? `in about ${Math.ceil(expected.inMs / 100) / 10} s` : 'now'}, as far as ${p.self} knows`
          : '; no region can take it right now (every region that could is unreachable, drained or not ready)';
    const rows = slot === p.self ? `rows of region ${p.self}` : `rows homed in ${slot}`;
    return ternError('FENCED', `region ${p.self} may not write row ${key} of ${table} now (${p.fencedReason()}: it does not hold the write lease for ${rows})${where}`, {
      reason: p.fencedReason(),
      regions: [...able],
      ...(expected !== null ? { expected } : {}),
    });
  }

  verdict(op: Op & { readonly fence: FenceStamp }): GuardVerdict {
    const p = this.#p;
    const { slot, epoch, at } = op.fence;
    if (at > p.strongIndex()) return 'wait';
    if (p.fenceByLatestEpoch) {
      const latest = Math.max(this.#latest.get(slot) ?? 0, p.table().slot(slot).epoch);
      this.#latest.set(slot, latest);
      return epoch < latest ? 'fenced' : 'apply';
    }
    // The holder history is complete (lease-table.ts): decided on the log alone, never on the writer's word.
    const h = p.table().holderAt(slot, at);
    return h.holder === op.dot.origin && h.epoch === epoch ? 'apply' : 'fenced';
  }

  holderAt(slot: RegionId, at: number): { holder: RegionId | null; epoch: number } | null {
    return this.#p.table().holderAt(slot, at);
  }
}
