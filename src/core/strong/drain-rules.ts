/**
 * When an operator's drain is safe, and how fast operators may move a slot (docs/internals/failover.md).
 *
 * A drained region writes no guarded rows (its own slot is given up, and what it took over too).
 * A drain is **unsafe** when, counting the region to drain as drained, some guarded rows that had
 * a region able to write them before the drain have none after it. The rows, per table with
 * guarded writes (`isGuarded`: async tables only; strong tables are ordered by the Raft group):
 *
 * - async multi-writer, `whenIsolated: reject`: every region writes its own rows under its own
 *   slot. The table needs at least one undrained region.
 * - `home`, `home: {region: h}`: only h writes; draining h strands the whole table.
 * - `home`, `home: {field}`: each row is written by its home only, and `home` rows never fail over
 *   (that is the ownership's contract: the rows homed in a drained region wait for it, as they
 *   wait for an isolated one). Which regions rows are homed in is data the strong log does not
 *   hold, so the rule is the table's: it needs at least one undrained region. (Refusing every drain
 *   of a cluster with such a table would make `force` routine and the check worthless.)
 * - `home-with-failover`, per home h (the fixed `home.region`, or every region for `home: {field}`):
 *   the rows homed in h need h undrained, or an undrained region in h's failover order: the
 *   configured `failoverOrder[h]`, else any other region. The round-trip order is not used here:
 *   it differs between regions and the rule must be the same everywhere.
 *
 * Rows already stranded before the drain (by a forced drain) do not make an unrelated drain
 * unsafe: only rows the drain itself strands count. The answer is `409 DRAIN_UNSAFE` naming the
 * tables; `force: true` drains anyway. An undrain never strands anything and is never refused.
 *
 * The rule runs twice: at the node that takes the request (a quick answer from what it has
 * applied), and again when the drain command is applied in the strong state machine, against the
 * drained flags at that log position. The command carries the force flag and the cluster's
 * regions and configured failover orders (`DrainScope`), so the verdict depends on nothing but the
 * log: the same at every region, and two concurrent drains of the last two undrained regions
 * cannot both pass (the later one in log order is refused). A drain entry without a scope (written
 * before this rule existed) applies unchecked, as it did then.
 *
 * **Repeats.** A drain of a drained region and an undrain of an undrained one change nothing and
 * are answered `changed: false`. The strong group's leader, under its lease and having applied all
 * it committed, answers at once without a log entry: no acknowledged change can be missing from its
 * state. Any other region may not have applied a change acknowledged a moment ago through another
 * region (an undrain answered "already undrained" there would leave the region drained), so it
 * sends the request through the log, which answers it. At any one node, identical requests in
 * flight share one proposal; a different one for the same region waits for it and is then judged
 * afresh.
 *
 * **How fast a slot's epoch can move by operator action.** A drain of a region whose drained flag
 * changed less than `leaseMs` ago, by this node's monotonic clock from when it applied that change,
 * is refused with `429 TOO_SOON` (retryable, the message says in how long). An undrain is not
 * bounded: it is the way back from a mistaken (or forced) drain and must always be available; a
 * drain/undrain round still takes at least `leaseMs`, because its drain waits for the previous
 * round's undrain. So an operator changes a region's flag at most twice per `leaseMs` (one drain,
 * one undrain). Each change moves the slot's epoch at most once: a drain lets the first failover
 * region take the released slot at once (+1), an undrain makes the taker hand it back to the home
 * (+1); any other grant to a new holder waits until the slot has not changed for
 * `leaseMs + maxClockOffsetMs`. So a slot's epoch moves at most about twice per `leaseMs`, however
 * fast drains and undrains are sent. The bound is per node: two nodes that have not yet applied
 * each other's change may both accept one (the window is a replication delay, not a lease), and a
 * restarted node does not know when a flag last changed before its start.
 */
import type { RegionId } from '../clock/version-vector.js';
import { ternError, type TernError } from '../errors.js';
import { isGuarded, type TablePolicy } from '../schema/policy.js';

/** What the rule needs beside the tables: the cluster's regions and its configured failover orders. */
export interface DrainScope {
  readonly regions: readonly RegionId[];
  /** `settings.failoverOrder`: per home, the regions that take over its home-with-failover rows. A home not listed fails over to any other region. */
  readonly failoverOrder: Readonly<Record<RegionId, readonly RegionId[]>>;
}

/** Guarded rows some region must be able to write: a whole table's (`home` null), or those homed in one region. */
export interface StrandedRows {
  readonly table: string;
  readonly home: RegionId | null;
}

/** The regions that may take over the home-with-failover rows homed in `home`. */
export function failoverRegions(home: RegionId, scope: DrainScope): readonly RegionId[] {
  return Object.hasOwn(scope.failoverOrder, home) ? (scope.failoverOrder[home] as readonly RegionId[]) : scope.regions.filter((r) => r !== home);
}

/** Guarded rows that no undrained region can write, with `drained` the drained regions; in table order, then home order. */
export function strandedRows(tables: Readonly<Record<string, TablePolicy>>, scope: DrainScope, drained: ReadonlySet<RegionId>): StrandedRows[] {
  const up = (r: RegionId): boolean => scope.regions.includes(r) && !drained.has(r);
  const anyUp = scope.regions.some(up);
  const out: StrandedRows[] = [];
  for (const table of Object.keys(tables).sort()) {
    const p = tables[table] as TablePolicy;
    if (!isGuarded(p)) continue;
    if (p.ownership === 'multi-writer' || (p.ownership === 'home' && p.home?.region === undefined)) {
      if (!anyUp) out.push({ table, home: null });
    } else if (p.ownership === 'home') {
      const home = p.home?.region as RegionId;
      if (!up(home)) out.push({ table, home });
    } else {
      const homes = p.home?.region !== undefined ? [p.home.region] : scope.regions;
      for (const home of homes) if (!up(home) && !failoverRegions(home, scope).some(up)) out.push({ table, home });
    }
  }
  return out;
}

/** The guarded rows that draining `region` would strand (and that had a writer before). */
export function strandedByDrain(region: RegionId, tables: Readonly<Record<string, TablePolicy>>, scope: DrainScope, drained: ReadonlySet<RegionId>): StrandedRows[] {
  const key = (s: StrandedRows): string => `${s.table}\u0000${s.home ?? ''}`;
  const before = new Set(strandedRows(tables, scope, drained).map(key));
  return strandedRows(tables, scope, new Set([...drained, region])).filter((s) => !before.has(key(s)));
}

/** 409 DRAIN_UNSAFE if draining `region` (with `drained` already drained) would strand guarded rows; else null. */
export function drainProblem(region: RegionId, tables: Readonly<Record<string, TablePolicy>>, scope: DrainScope, drained: ReadonlySet<RegionId>): TernError | null {
  const stranded = strandedByDrain(region, tables, scope, drained);
  if (stranded.length === 0) return null;
  const byTable = new Map<string, RegionId[]>();
  for (const s of stranded) {
    const homes = byTable.get(s.table) ?? [];
    if (s.home !== null) homes.push(s.home);
    byTable.set(s.table, homes);
  }
  const names = [...byTable.keys()];
  const what = [...byTable].map(([t, homes]) => (homes.length > 0 ? `${t} (rows homed in ${homes.join(', ')})` : t)).join(', ');
  const already = [...drained].filter((r) => r !== region).sort();
  const context = already.length > 0 ? ` with ${already.join(', ')} drained already` : '';
  return ternError('DRAIN_UNSAFE', `draining region ${region}${context} would leave no region able to take the guarded writes of ${what}; pass "force": true to drain it anyway`, { tables: names });
}

/** 429 TOO_SOON: `region`'s drained flag changed `agoMs` ago, less than `leaseMs`. */
export function drainTooSoon(region: RegionId, agoMs: number, leaseMs: number): TernError {
  const wait = Math.max(1, Math.ceil(leaseMs - agoMs));
  return ternError('TOO_SOON', `region ${region} was drained or undrained ${Math.floor(agoMs)} ms ago; a region may be drained at most once per leaseMs (${leaseMs} ms) after its last change: retry in ${wait} ms`, { retryAfterMs: wait });
}
