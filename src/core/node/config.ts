/**
 * The region core's configuration: the async replica's and the strong group's, and the failover
 * settings (write leases, stages, the clock guard), validated together because they constrain
 * each other.
 */
import type { AuthSettings } from './authorize.js';
import type { RegionId } from '../clock/version-vector.js';
import { badRequest, type TernError } from '../errors.js';
import type { ReplicaConfig } from '../replica/config.js';
import type { TablePolicy } from '../schema/policy.js';
import type { StrongConfig } from '../strong/config.js';

export interface FailoverSettings {
  /** How long a granted write lease lasts, from when its holder asked (4 s by default). */
  readonly leaseMs: number;
  /** How often a holder asks again (1 s by default): well before its lease runs out. */
  readonly renewMs: number;
  /** Stage read-ready needs a backlog (what a majority holds and this region lacks, in its origins' own time) of at most this. */
  readonly readReadyLagMs: number;
  /** Stage write-ready needs a backlog of at most this (and the lease). */
  readonly writeReadyLagMs: number;
  /** How often each peer's clock offset is measured. */
  readonly clockProbeMs: number;
  /** A peer heard from (any message) within this long is reachable. */
  readonly reachableWithinMs: number;
  /**
   * Per home region, the regions that take over its home-with-failover rows, in order. A region
   * not listed fails over to the nearest other region by measured round trip.
   */
  readonly failoverOrder: Readonly<Record<RegionId, readonly RegionId[]>>;
}

export const failoverDefaults = {
  leaseMs: 4_000,
  renewMs: 1_000,
  readReadyLagMs: 5_000,
  writeReadyLagMs: 1_000,
  clockProbeMs: 500,
  reachableWithinMs: 1_000,
} as const;

/**
 * Deliberate bugs, for proving that the simulator's checkers catch them. Inert unless a test
 * turns them on; never set in production.
 */
export interface NodeKnobs {
  /** Write guarded rows whenever the lease table names this region, however old its lease is. */
  readonly ignoreLeaseTime?: boolean;
  /** Trust this node's clock whatever its offset (no clock guard). */
  readonly noClockGuard?: boolean;
  /** Serve every request whatever the stage (the stage is still computed and reported). */
  readonly ignoreStage?: boolean;
  /**
   * Refuse a guarded op whose epoch is older than the latest this replica has applied for its slot
   * (instead of the epoch at the op's own log position): the reading that drops acknowledged writes.
   */
  readonly fenceByLatestEpoch?: boolean;
  /**
   * Readiness from every reachable peer's freshness by its own clock (now − its latest heartbeat),
   * as before: a peer with a slow clock, or fenced and silent about its time, demotes this node.
   */
  readonly readinessFromPeerClocks?: boolean;
  /** Answer a guarded write as committed without checking the lease again after the commit (a pause inside a step then acknowledges it after the lease). */
  readonly skipLeaseRecheck?: boolean;
}

export interface RegionCoreConfig {
  readonly region: RegionId;
  /** The async replica; its tables are replaced by the strong log's (configuration changed by the log). */
  readonly replica: ReplicaConfig;
  readonly strong: StrongConfig;
  readonly failover: FailoverSettings;
  readonly knobs?: NodeKnobs;
  /** Who may make which call (authorize.ts); absent: authentication is off and every call is allowed. */
  readonly auth?: AuthSettings;
}

/** Checks the failover settings against each other, the election timeout and the clock offset. */
export function failoverProblem(f: FailoverSettings, c: { readonly regions: readonly RegionId[]; readonly raftElectionMs: number; readonly maxClockOffsetMs: number; readonly tickMs: number }, where = 'settings'): TernError | null {
  for (const [name, v] of Object.entries({ leaseMs: f.leaseMs, renewMs: f.renewMs, readReadyLagMs: f.readReadyLagMs, writeReadyLagMs: f.writeReadyLagMs, clockProbeMs: f.clockProbeMs, reachableWithinMs: f.reachableWithinMs })) {
    if (!Number.isSafeInteger(v) || v < 1) return badRequest(`${where}.${name}`, 'must be a positive integer of milliseconds');
  }
  if (f.renewMs < c.tickMs) return badRequest(`${where}.renewMs`, `must be at least the tick interval (${c.tickMs} ms)`);
  // A holder stops writing at lease − offset after it asked; a renewal must be able to commit before
  // that even across a leader election (up to two election timeouts), or leases lapse at every one.
  const floor = f.renewMs + 2 * c.raftElectionMs + c.maxClockOffsetMs;
  if (f.leaseMs < floor) {
    return badRequest(`${where}.leaseMs`, `must be at least renewMs + 2 × raftElectionMs + maxClockOffsetMs (${f.renewMs} + 2 × ${c.raftElectionMs} + ${c.maxClockOffsetMs} = ${floor} ms), so a renewal survives an election`);
  }
  if (f.readReadyLagMs < f.writeReadyLagMs) return badRequest(`${where}.readReadyLagMs`, `must be at least writeReadyLagMs (${f.writeReadyLagMs} ms): a region that may write may read`);
  for (const [home, order] of Object.entries(f.failoverOrder)) {
    const at = `${where}.failoverOrder.${home}`;
    if (!c.regions.includes(home)) return badRequest(at, `${home} is not a region of the cluster (${c.regions.join(', ')})`);
    if (!Array.isArray(order) || order.length === 0) return badRequest(at, 'must list one or more regions to fail over to, in order');
    for (const [i, r] of order.entries()) {
      if (!c.regions.includes(r)) return badRequest(`${at}[${i}]`, `${String(r)} is not a region of the cluster`);
      if (r === home) return badRequest(`${at}[${i}]`, `${home} cannot take over its own rows`);
      if (order.indexOf(r) !== i) return badRequest(`${at}[${i}]`, `${r} is listed twice`);
    }
  }
  return null;
}

/** A home-with-failover table needs somewhere to fail over to. */
export function failoverTableProblem(table: string, policy: TablePolicy, regions: readonly RegionId[], where = `tables.${table}`): TernError | null {
  if (policy.ownership !== 'home-with-failover') return null;
  if (regions.length < 2) return badRequest(`${where}.ownership`, `home-with-failover needs a second region to fail over to; this cluster has only ${regions.join(', ')} (use ownership: home)`);
  return null;
}
