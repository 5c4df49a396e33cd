/**
 * The strong group member's configuration, its deliberate-bug knobs for the simulator, its
 * status shape and its defaults.
 */
import type { RegionId } from '../clock/version-vector.js';
import type { TablePolicy } from '../schema/policy.js';
import type { Entry, SnapshotCodec } from '../raft/types.js';

export interface StrongConfig {
  readonly region: RegionId;
  /** The voters: every region of the cluster, one node each (wave 1). */
  readonly regions: readonly RegionId[];
  /** Tables of the configuration file; the log's table commands override them. */
  readonly tables: Readonly<Record<string, TablePolicy>>;
  /** Registered merge function names (policy validation). */
  readonly mergeFunctions: readonly string[];
  /** The interval at which the shell delivers ticks. */
  readonly tickMs: number;
  readonly heartbeatMs: number;
  /** The minimum election timeout; each node draws its own from [electionMs, 2·electionMs). */
  readonly electionMs: number;
  readonly maxClockOffsetMs: number;
  readonly preferredLeader?: RegionId;
  /** How long a write or strong read may wait for a quorum before QUORUM_TIMEOUT. */
  readonly requestTimeoutMs: number;
  readonly sessionWaitMs: number;
  readonly idempotencyRetentionMs: number;
  /** A snapshot of the state machine is taken every this many applied entries. */
  readonly snapshotEveryEntries: number;
  /** Seeded uniform randoms in [0, 1) for election timeouts. */
  readonly random: () => number;
  readonly knobs?: StrongKnobs;
  /**
   * How Raft's messages fit the transport (RaftConfig): appends bounded by bytes, snapshots sent in
   * chunks with the shell's encoding. Absent (the simulator): appends by entry count, snapshots whole.
   */
  readonly raftWire?: RaftWire;
  /** Overrides limits.strongWritesWaitingMax (tests reach it with a small value). */
  readonly writesWaitingMax?: number;
  /** Overrides limits.strongReadiesPerFlushMax (tests reach it with a small value). */
  readonly readiesPerFlushMax?: number;
}

export interface RaftWire {
  readonly entryBytes: (e: Entry<unknown>) => number;
  readonly maxAppendBytes: number;
  readonly snapshotCodec: SnapshotCodec<unknown>;
  readonly snapshotChunkBytes: number;
}

/**
 * Deliberate bugs, for proving that the simulator's checkers catch them. Inert unless a test
 * turns them on; never set in production.
 */
export interface StrongKnobs {
  /** Serve strong reads from whatever this node has applied, without a read index. */
  readonly strongReadsFromLocalState?: boolean;
  /** Drop idempotency keys: a retried transaction runs again. */
  readonly ignoreIdempotencyKeys?: boolean;
  /** Hold leases for five election timeouts, and keep leading without hearing from a majority (no check-quorum). */
  readonly leaseTooLong?: boolean;
  /** Serve bounded reads without checking how stale this region may be. */
  readonly boundedReadsUnchecked?: boolean;
  /** Serve session reads at once, without waiting to apply what the token requires. */
  readonly sessionReadsUnchecked?: boolean;
}

/** The strong group as this node sees it (GET /v1/status, metrics). */
export interface StrongStatus {
  readonly term: number;
  readonly role: string;
  /** Restored from a backup and not yet readmitted as a voter (raft.ts, `learner`). */
  readonly learner: boolean;
  readonly leader: RegionId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** Of the applied entries, how many were the regions' own write-lease commands, not operators' drains (since this node started). */
  readonly leaseEntries: number;
  readonly leaseValid: boolean;
  readonly logEntries: number;
}

export const strongDefaults = {
  heartbeatMs: 100,
  electionMs: 1000,
  requestTimeoutMs: 5000,
  snapshotEveryEntries: 10_000,
} as const;
