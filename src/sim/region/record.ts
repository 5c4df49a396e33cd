/**
 * What the region world records beyond what the async and strong checkers read (the async
 * `RunRecord` and the strong `StrongRunRecord`): the facts the fencing, staged-rejoin, failover and clock-guard
 * checkers need. All times are simulated true time (ms), never a node's clock.
 */
import type { Dot, RegionId } from '../../core/clock/version-vector.js';
import type { RunRecord } from '../history.js';
import type { StrongRunRecord } from '../strong/record.js';

/** A guarded write a region acknowledged (a successful, non-replayed reply to a client). */
export interface GuardedAck {
  readonly region: RegionId;
  readonly slot: RegionId;
  readonly epoch: number;
  /** The strong-log position in the fence stamp. */
  readonly at: number;
  readonly timeMs: number;
  readonly table: string;
  readonly key: string;
  readonly dot: Dot;
}

/** A lease grant as the strong log holds it, with when some node first applied it. */
export interface LeaseGrant {
  readonly slot: RegionId;
  readonly epoch: number;
  readonly holder: RegionId;
  readonly firstAppliedMs: number;
}

export type Access = 'read' | 'bounded-read' | 'write';

/** A request that was answered successfully, with the serving core's stage when it admitted it. */
export interface ServedRequest {
  readonly region: RegionId;
  readonly access: Access;
  /** `api kind table/key`, for messages. */
  readonly what: string;
  readonly stage: string;
  readonly reason: string | null;
  readonly admittedMs: number;
  readonly okMs: number;
}

/** A stage change of one node (`down` and `paused`/`awake` mark crashes, restarts and pauses). */
export interface StageMark {
  readonly region: RegionId;
  readonly timeMs: number;
  readonly stage: string;
  readonly reason: string | null;
}

/** A node's wall clock pushed beyond the bound, and when it came back. */
export interface ClockJump {
  readonly region: RegionId;
  readonly fromMs: number;
  readonly toMs: number;
  readonly offsetMs: number;
}

/** An op a region created, with the true time and how far its HLC wall was ahead of true time. */
export interface CreatedOp {
  readonly region: RegionId;
  readonly dot: Dot;
  readonly timeMs: number;
  readonly hlcAheadMs: number;
}

/**
 * An interval in which a region had a fault of its own (down, paused, its clock set or beyond the
 * bound, cut off from a majority or at the end of a bridge, or no quorum of live regions with good
 * clocks within its reach): it may be demoted then, and while it catches up after.
 */
export interface Affliction {
  readonly region: RegionId;
  readonly fromMs: number;
  readonly toMs: number;
  readonly what: string;
}

export interface RegionFacts {
  readonly regions: readonly RegionId[];
  readonly maxClockOffsetMs: number;
  readonly clockProbeMs: number;
  /** How long after a jump beyond the bound a node may still take writes (it has not noticed yet). */
  readonly clockGraceMs: number;
  readonly guardedAcks: readonly GuardedAck[];
  readonly grants: readonly LeaseGrant[];
  readonly served: readonly ServedRequest[];
  readonly stages: readonly StageMark[];
  readonly clockJumps: readonly ClockJump[];
  readonly created: readonly CreatedOp[];
  readonly afflictions: readonly Affliction[];
  /** How long after its own fault ends a region may still be demoted (it catches up, measures its clock again). */
  readonly settleMs: number;
  /** When the fault phase ended (the heal restarts and resets everything: containment is judged before). */
  readonly faultsEndMs: number;
  /** Every slot's holder changes as the strong log holds them at the end: (from index, holder, epoch), oldest first. */
  readonly leaseHistory: Readonly<Record<RegionId, ReadonlyArray<{ readonly from: number; readonly holder: RegionId | null; readonly epoch: number }>>>;
}

export interface RegionRunRecord {
  readonly async: RunRecord;
  readonly strong: StrongRunRecord;
  readonly facts: RegionFacts;
  /** The eviction scenario's record (check/log-bound.ts), when it ran. */
  readonly eviction?: EvictionRecord;
}

/** Members' log sizes while a region is away, for the log-bound checker (check/log-bound.ts). */
export interface EvictionRecord {
  readonly region: string;
  readonly windowMs: number;
  /** Cumulative approximate bytes of ops created by the members, sampled over time. */
  readonly created: ReadonlyArray<readonly [number, number]>;
  readonly samples: ReadonlyArray<{ readonly atMs: number; readonly region: string; readonly logBytes: number }>;
  /** When the region was cut off and reconnected. */
  readonly absentFromMs: number;
  readonly absentUntilMs: number;
  /** Evictions decided, snapshots installed, crashes injected by the scenario. */
  readonly evicted: boolean;
  readonly installs: number;
  readonly crashes: number;
  /**
   * The longest span while the region was cut off in which a majority of regions (members) were
   * up, awake, with clocks within the bound and unstepped, and connected: only such a majority can
   * evict it. Optional (older records): taken as the whole absence.
   */
  readonly membersQuorumMs?: number;
  /** How long a member takes, with such a majority, to see its peers again and trust its clock before it judges the region gone. */
  readonly settleMs?: number;
}
