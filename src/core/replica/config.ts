/**
 * The replica's configuration: one validated object, the one way in, with defaults.
 */
import { isRegionId, type RegionId } from '../clock/version-vector.js';
import { badRequest, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import type { MergeRegistry } from '../crdt/merge-registry.js';
import type { TablePolicy } from '../schema/policy.js';
import { tableProblem } from '../model/validate.js';

/**
 * Deliberate bugs, for proving that the checkers catch them (FoundationDB-style fault hooks that
 * live in production code and are inert unless a test turns them on). Never set in production.
 */
export interface Knobs {
  /** Stamp local ops with the raw physical clock instead of the HLC. */
  readonly lwwByWallClock?: boolean;
  /** Answer syncs with our own ops only, never relaying other origins'. */
  readonly disableRelay?: boolean;
  /** Keep no tombstones: a delete-wins delete forgets itself at once. */
  readonly tombstonesCollectedEarly?: boolean;
  /** Treat every retry as a new write. */
  readonly ignoreIdempotency?: boolean;
  /** Apply a remote op as soon as its origin's previous op is applied, without its other dependencies. */
  readonly noCausalDelivery?: boolean;
  /** Apply the writes orphan reports carry (replaying orphaned writes) instead of only listing them. */
  readonly replayOrphanedWrites?: boolean;
}

export interface ReplicaConfig {
  readonly region: RegionId;
  /** Every region of the cluster, this one included. */
  readonly regions: readonly RegionId[];
  readonly tables: Readonly<Record<string, TablePolicy>>;
  readonly mergeFunctions: MergeRegistry;
  /** Clocks are assumed to be within this of each other; further-ahead timestamps are refused. */
  readonly maxClockOffsetMs: number;
  /** How often a replica sends its vector, reports and heartbeats to each peer. */
  readonly syncIntervalMs: number;
  /** How long ops sent to a peer count as in flight before a sync makes us send them again. */
  readonly resendAfterMs: number;
  /** How long a read or write waits for its session token before SESSION_UNAVAILABLE. */
  readonly sessionWaitMs: number;
  /** How often garbage collection runs (on a tick); larger batches cost less per op. */
  readonly gcIntervalMs: number;
  /** How long idempotency records are kept (24 h by default). */
  readonly idempotencyRetentionMs: number;
  /**
   * How long a region may go unheard (or hold up this much of the others' logs, in bytes) before the
   * others evict it from stability through the strong log (docs/internals/replication.md, "Bounded
   * history"). At least idempotencyRetentionMs.
   */
  readonly logRetentionMs: number;
  readonly logRetentionBytesMax: number;
  /** Conflict-feed entries are collected this long after their time, by the stable time (feed-retention.ts). At least logRetentionMs. */
  readonly conflictRetentionMs: number;
  /** Report every remote op applied in Output.appliedRemote (for replication-lag metrics). */
  readonly reportRemoteApplies?: boolean;
  readonly knobs?: Knobs;
}

export const replicaDefaults = {
  maxClockOffsetMs: 500,
  syncIntervalMs: 50,
  resendAfterMs: 1_000,
  sessionWaitMs: 1_000,
  gcIntervalMs: 100,
  idempotencyRetentionMs: 24 * 60 * 60 * 1000,
  logRetentionMs: 24 * 60 * 60 * 1000,
  logRetentionBytesMax: 1024 * 1024 * 1024,
  conflictRetentionMs: 7 * 24 * 60 * 60 * 1000,
} as const;

/** Bounds of the retention settings: below them, a region could be evicted by an ordinary partition or a slow link. */
export const retentionLimits = { logMsMin: 1_000, logSyncIntervals: 20, logBytesMin: 1024 * 1024 } as const;

/**
 * The retention settings' constraints on each other (docs/operations.md, "Retention"):
 * - the log window must outlast the idempotency window: a retry within it is recognised in every
 *   region only if the region that took the original was not evicted (its writes orphaned) first;
 * - the feed outlasts the log window: conflict entries appear once their ops are stable, which a
 *   region may hold up for up to the log window, and must not be collected as soon as they appear;
 * - the log window spans many syncs, so an ordinary partition or a slow link never evicts.
 */
export function retentionProblem(c: Pick<ReplicaConfig, 'logRetentionMs' | 'logRetentionBytesMax' | 'conflictRetentionMs' | 'idempotencyRetentionMs' | 'syncIntervalMs'>): TernError | null {
  const floor = Math.max(retentionLimits.logMsMin, retentionLimits.logSyncIntervals * c.syncIntervalMs);
  if (!(c.logRetentionMs >= floor)) return badRequest('logRetentionMs', `must be at least ${floor} ms (${retentionLimits.logSyncIntervals} sync intervals, and at least ${retentionLimits.logMsMin} ms)`);
  if (c.logRetentionMs < c.idempotencyRetentionMs) return badRequest('logRetentionMs', `must be at least idempotencyRetentionMs (${c.idempotencyRetentionMs} ms): a retry within the idempotency window must find its original in every region`);
  if (c.conflictRetentionMs < c.logRetentionMs) return badRequest('conflictRetentionMs', `must be at least logRetentionMs (${c.logRetentionMs} ms): conflict entries appear only once their ops are stable`);
  if (!Number.isSafeInteger(c.logRetentionBytesMax) || c.logRetentionBytesMax < retentionLimits.logBytesMin) return badRequest('logRetentionBytesMax', `must be an integer of at least ${retentionLimits.logBytesMin} bytes`);
  return null;
}

/** Checks a configuration; null when it is usable. */
export function configProblem(c: ReplicaConfig): TernError | null {
  if (!isRegionId(c.region)) return badRequest('region', 'must match /^[a-z0-9][a-z0-9-]*$/');
  if (c.regions.length === 0 || c.regions.length > limits.regionsMax) return badRequest('regions', `must list 1 to ${limits.regionsMax} regions`);
  if (new Set(c.regions).size !== c.regions.length) return badRequest('regions', 'lists a region twice');
  for (const r of c.regions) if (!isRegionId(r)) return badRequest('regions', `bad region id ${JSON.stringify(r)}`);
  if (!c.regions.includes(c.region)) return badRequest('region', `${c.region} is not one of the regions`);
  for (const [name, v] of Object.entries({
    maxClockOffsetMs: c.maxClockOffsetMs,
    syncIntervalMs: c.syncIntervalMs,
    resendAfterMs: c.resendAfterMs,
    sessionWaitMs: c.sessionWaitMs,
    gcIntervalMs: c.gcIntervalMs,
    idempotencyRetentionMs: c.idempotencyRetentionMs,
    logRetentionMs: c.logRetentionMs,
    conflictRetentionMs: c.conflictRetentionMs,
  })) {
    if (!Number.isSafeInteger(v) || v < 0) return badRequest(name, 'must be a non-negative integer of milliseconds');
  }
  const retention = retentionProblem(c);
  if (retention !== null) return retention;
  if (c.sessionWaitMs > limits.sessionWaitMsMax) return badRequest('sessionWaitMs', `at most ${limits.sessionWaitMsMax}`);
  for (const [table, p] of Object.entries(c.tables)) {
    const problem = tableProblem(table, p, Object.keys(c.mergeFunctions), c.regions);
    if (problem !== null) return problem;
  }
  return null;
}

