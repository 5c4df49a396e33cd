/**
 * The replica's side of evictions (src/core/strong/membership.ts; docs/internals/replication.md,
 * "Bounded history"). When the strong log says a region is being evicted, the replica **freezes**
 * it: it records how far it holds that region's ops, and from then on applies none beyond (ops
 * buffered or arriving later are dropped: they are the evicted region's orphans unless a member
 * holds them, and then the decided bound covers them). Once the eviction is decided (through F),
 * ops up to F are applied again from whichever member holds them, and stability leaves the
 * region's reports out as soon as this replica holds its ops up to F.
 *
 * The freeze is persisted (replica meta): after a restart the replica must not accept what it
 * refused before it crashed, or its acknowledgement would understate what it holds.
 */
import { compareHlc, type Hlc } from '../clock/hlc.js';
import { get, type RegionId } from '../clock/version-vector.js';
import type { Storage } from '../storage/storage.js';
import type { ReplicaContext } from './context.js';

/** What the strong log says of evictions, as the replica needs it. */
export interface MembershipView {
  /** Regions whose eviction is pending: members are still acknowledging. */
  readonly evicting: readonly RegionId[];
  /** Decided evictions: the region's last op that survives. Stability leaves them out. */
  readonly evicted: ReadonlyMap<RegionId, number>;
  /** Evicted regions asking to come back (membership.ts, "Readmission"): counted in stability again, still frozen at their bound. */
  readonly readmitting: ReadonlyMap<RegionId, number>;
}

/**
 * Replica meta written when a snapshot of a member is installed for a rejoin (by the shell, or a
 * test): `{ readmitIndex }`, the log index of the `readmit` entry it was taken for (after every
 * member acknowledged it). The region says it is installed only with such a snapshot, never with
 * the data it was evicted with.
 */
export const snapshotMetaKey = 'snapshot-installed';

/**
 * Carries a region's own HLC into a snapshot installed for its rejoin (call inside a transaction on
 * the copy): the copy holds the donor's clock, which may be behind what this region issued before
 * (its orphaned writes included), and a region's timestamps never go backwards.
 */
export function carryOwnClock(copy: Storage, old: Storage, region: RegionId): void {
  const mine = (old.getMeta('replica') as { hlc?: Hlc } | undefined)?.hlc;
  const meta = (copy.getMeta('replica') as Record<string, unknown> | undefined) ?? {};
  const theirs = meta['hlc'] as Hlc | undefined;
  if (mine === undefined || (theirs !== undefined && compareHlc(theirs, mine) >= 0)) return;
  copy.putMeta('replica', { ...meta, hlc: { ...mine, node: region } });
}

export const noEvictions: MembershipView = { evicting: [], evicted: new Map(), readmitting: new Map() };

/**
 * Freezes every region the log evicts that this replica has not frozen yet, and thaws those the log
 * readmitted (inside a step). A replica never freezes its own region: a snapshot installed from a
 * member carries that member's freeze of it, which is dropped here.
 */
export function freezeEvicted(ctx: ReplicaContext): void {
  // After a restart, until the strong log is re-applied as far as the view taken before it, the
  // view is not the log's word: thawing on it would apply an evicted region's orphans here.
  if (!ctx.membershipKnown) return;
  const m = ctx.membership;
  for (const region of [...m.evicting, ...m.evicted.keys()]) {
    if (region === ctx.config.region || ctx.frozen.has(region)) continue;
    ctx.frozen.set(region, get(ctx.applied, region));
    ctx.metaDirty = true;
  }
  for (const region of ctx.frozen.keys()) {
    if (region !== ctx.config.region && (m.evicting.includes(region) || m.evicted.has(region) || m.readmitting.has(region))) continue;
    ctx.frozen.delete(region);
    ctx.metaDirty = true;
  }
}

/** The highest seq of `origin` this replica may apply (Infinity: not evicted). */
export function applyLimit(ctx: ReplicaContext, origin: RegionId): number {
  const decided = ctx.membership.evicted.get(origin) ?? ctx.membership.readmitting.get(origin);
  if (decided !== undefined) return decided;
  return ctx.frozen.get(origin) ?? Infinity;
}
