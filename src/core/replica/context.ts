/**
 * The replica's mutable state during a step, shared by the modules that handle one concern each
 * (apply, receive, sync, reads, writes, collect). Only src/core/replica uses it.
 */
import type { Recovery } from './recovery.js';
import type { MembershipView } from './eviction.js';
import type { HybridClock } from '../clock/hlc.js';
import type { LiveVector } from '../clock/live-vector.js';
import type { RegionId, VersionVector } from '../clock/version-vector.js';
import type { Storage } from '../storage/storage.js';
import type { ReplicaConfig } from './config.js';
import type { Freshness } from './freshness.js';
import type { ClientRequest, Output } from './messages.js';
import type { ReplicaMetrics } from './metrics.js';
import type { StabilityTracker } from './stability.js';
import type { WriteGuard } from './guard.js';
import type { Op } from '../model/op.js';

/** A request waiting for its session token to be satisfied. */
export interface Parked {
  readonly id: number;
  readonly request: ClientRequest;
  readonly needs: VersionVector;
  readonly deadlineMs: number;
}

/** What we have sent a peer, so a sync does not resend ops still in flight. */
export interface PeerLink {
  /** Per origin, the highest seq sent to the peer. */
  readonly sentThrough: Map<RegionId, number>;
  /**
   * Per origin, when the current in-flight window opened: the first send beyond what the peer
   * had. Later sends do not move it, so a lost op is resent even while new ones keep flowing.
   */
  readonly windowStartMs: Map<RegionId, number>;
  /** The peer's applied vector, as it last told us (joined: a late duplicate cannot move it back). */
  vector: VersionVector;
  /** Per origin, when the peer's vector last advanced for that origin (by our clock). */
  readonly progressAtMs: Map<RegionId, number>;
  /** Other origins whose ops we are relaying to this peer (its direct link stalled). */
  readonly relaying: Set<RegionId>;
  /** When we last heard from the peer directly (-Infinity: never since start). */
  heardAtMs: number;
  /** The peer was restored from a backup and says it holds its own writes up to here: send it the rest (recovery.ts). Null otherwise. */
  recoverFrom: number | null;
}

export interface ReplicaContext {
  /** Replaced (never mutated) when the strong log changes a table (Replica.setTables). */
  config: ReplicaConfig;
  readonly storage: Storage;
  readonly clock: HybridClock;
  readonly stability: StabilityTracker;
  readonly freshness: Freshness;
  readonly metrics: ReplicaMetrics;
  readonly peers: Map<RegionId, PeerLink>;
  /** Out-of-order remote ops per origin, by seq. */
  readonly buffer: Map<RegionId, Map<number, Op>>;
  bufferedCount: number;
  parked: Parked[];
  /** Highest contiguous seq applied per origin, changed in place on the hot path. */
  readonly live: LiveVector;
  /** Snapshot of `live` (immutable; safe to keep). Persisted every step it changes. */
  readonly applied: VersionVector;
  /** Log position per origin up to which garbage collection has visited ops. Persisted. */
  gcPoint: VersionVector;
  /** The last local conflict feed position handed out. Persisted. */
  feedSeq: number;
  /** The highest feed position whose entry retention collected (feed-retention.ts). Persisted. */
  feedGoneThrough: number;
  /** Approximate bytes of the ops the logs hold (approxOpBytes, counted on append and trim): retention.logBytesMax. Persisted. */
  logBytes: number;
  /** The newest HLC wall among the ops garbage collection has visited: the stable time feed retention ages entries by. Persisted. */
  stableWallMs: number;
  lastSyncMs: number;
  lastIdemSweepMs: number;
  lastGcMs: number;
  /** Physical time of our latest heartbeat (heartbeat times only increase). */
  lastBeatMs: number;
  /** Monotonic time: never less than before (deadlines, staleness, HLC). */
  nowMs: number;
  /** The physical clock as given to this step (periodic work, heartbeats, expiry). */
  physicalMs: number;
  /** The current step's output, filled as it goes and returned after the commit. */
  out: Output;
  /** Local ops created this step, pushed to every peer at the end of it. */
  pushed: Op[];
  metaDirty: boolean;
  /** Write rights: who may write guarded rows, and how to apply others' guarded ops. */
  readonly guard: WriteGuard;
  /**
   * False while the region core does not trust this node's clock (its offset from a majority is
   * unknown or beyond the bound): the HLC then takes no physical reading, and no heartbeat vouches
   * for a time by it.
   */
  clockTrusted: boolean;
  /** Non-null while this replica, restored from a backup, recovers its own writes from its peers (recovery.ts). */
  recovery: Recovery | null;
  /** Evictions as the strong log last said (eviction.ts); set by the region core before each step. */
  membership: MembershipView;
  /** Evicted regions frozen here: how far this replica held their ops when it froze them. Persisted. */
  readonly frozen: Map<RegionId, number>;
  /** The strong log index of the membership view last taken (Replica.setMembership). Persisted. */
  membershipIndex: number;
  /**
   * A view at least as new as the one taken before the last restart has been set since open. Until
   * then `membership` is empty only because the strong log is not re-applied yet: nothing is thawed.
   */
  membershipKnown: boolean;
}
