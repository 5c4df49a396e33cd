/**
 * Types of the sans-IO Raft (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", 2014; Ongaro's thesis, 2014, for pre-vote, check-quorum, leases and ReadIndex).
 * Modelled on etcd-io/raft: the application calls `tick` and `step`, takes a `Ready` (what to
 * persist, what to send and when, what to apply) and calls `advance` once it is persisted.
 */
export type NodeId = string;
export type Term = number;
export type LogIndex = number;

export interface Entry<C = unknown> {
  readonly term: Term;
  readonly index: LogIndex;
  /** The command for the state machine; null for the no-op a new leader appends (§8). */
  readonly data: C | null;
}

/** What must be on disk before any message that depends on it is sent (§5, Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
  /**
   * This node lost what it had persisted (it was restored from a backup, or rebuilt from another
   * node's copy) and may not vote, stand for election or count towards any quorum until a leader
   * readmits it (Raft.learner). Absent: false.
   */
  readonly learner?: boolean;
}

/** Turns a snapshot's data into bytes and back (the shell's wire encoding), so it can travel in chunks. */
export interface SnapshotCodec<S> {
  encode(data: S): Uint8Array;
  decode(bytes: Uint8Array): S;
}

export interface Snapshot<S = unknown> {
  /** The last index (and its term) the snapshot includes. */
  readonly index: LogIndex;
  readonly term: Term;
  readonly voters: readonly NodeId[];
  /** The state machine's state at `index`. */
  readonly data: S;
}

export type Message<C = unknown, S = unknown> =
  | { readonly type: 'pre-vote'; readonly from: NodeId; readonly to: NodeId; readonly term: Term; readonly lastIndex: LogIndex; readonly lastTerm: Term }
  | { readonly type: 'pre-vote-resp'; readonly from: NodeId; readonly to: NodeId; readonly term: Term; readonly granted: boolean }
  | { readonly type: 'vote'; readonly from: NodeId; readonly to: NodeId; readonly term: Term; readonly lastIndex: LogIndex; readonly lastTerm: Term; readonly transfer: boolean }
  | { readonly type: 'vote-resp'; readonly from: NodeId; readonly to: NodeId; readonly term: Term; readonly granted: boolean }
  | {
      readonly type: 'append';
      readonly from: NodeId;
      readonly to: NodeId;
      readonly term: Term;
      readonly prevIndex: LogIndex;
      readonly prevTerm: Term;
      readonly entries: ReadonlyArray<Entry<C>>;
      readonly commit: LogIndex;
      /** Heartbeat round, echoed in the response: confirms leadership for leases and ReadIndex. */
      readonly round: number;
      /**
       * By the leader's wall clock, a time before which every acknowledged write is at or below
       * `commit` (Raft.freshAsOfMs): a follower that has applied `commit` is that fresh. 0 when
       * the leader cannot vouch for any time yet.
       */
      readonly leaderMs: number;
      /** Set to a learner whose log holds this index, committed without it: it is a voter again from here (Raft.learner). */
      readonly readmit?: LogIndex;
    }
  | {
      readonly type: 'append-resp';
      readonly from: NodeId;
      readonly to: NodeId;
      readonly term: Term;
      /** On success the follower's last matching index; on rejection a hint where to retry. */
      readonly index: LogIndex;
      readonly reject: boolean;
      readonly round: number;
      /** The follower is a learner: its acknowledgements count towards no quorum. */
      readonly learner?: boolean;
    }
  | { readonly type: 'snapshot'; readonly from: NodeId; readonly to: NodeId; readonly term: Term; readonly snapshot: Snapshot<S>; readonly round: number }
  /**
   * One piece of an encoded snapshot (RaftConfig.snapshotCodec; Figure 13 of the paper): bytes
   * `offset`… of `total`, for the snapshot at (`index`, `snapTerm`). A snapshot larger than a
   * transport's frame limit can only travel so, and a dropped link resumes from what arrived.
   */
  | {
      readonly type: 'snapshot-chunk';
      readonly from: NodeId;
      readonly to: NodeId;
      readonly term: Term;
      readonly round: number;
      readonly index: LogIndex;
      readonly snapTerm: Term;
      readonly voters: readonly NodeId[];
      readonly offset: number;
      readonly total: number;
      readonly data: Uint8Array;
    }
  /** How many bytes of the snapshot at `index` the follower holds: the leader sends from there. */
  | { readonly type: 'snapshot-ack'; readonly from: NodeId; readonly to: NodeId; readonly term: Term; readonly index: LogIndex; readonly received: number }
  | { readonly type: 'timeout-now'; readonly from: NodeId; readonly to: NodeId; readonly term: Term };

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** A linearizable read ready to serve once the state machine has applied `index` (§6.4). */
export interface ReadState {
  readonly ctx: number;
  readonly index: LogIndex;
}

export interface Ready<C = unknown, S = unknown> {
  /** Set when term, vote or commit changed: persist it. */
  readonly hardState: HardState | null;
  /** Entries to persist, in index order; the first may overwrite (truncate) what is stored from its index on. */
  readonly entries: ReadonlyArray<Entry<C>>;
  /** A snapshot received from the leader: persist it and restore the state machine from it. */
  readonly snapshot: Snapshot<S> | null;
  /**
   * The leader's appends to followers: safe to send before this Ready is persisted (§10.2.1 of
   * the thesis: the leader's own disk write runs in parallel with replication; it counts itself
   * towards a quorum only once persisted).
   */
  readonly sendNow: ReadonlyArray<Message<C, S>>;
  /** Everything else (votes, responses): send only after this Ready is persisted. */
  readonly sendAfterPersist: ReadonlyArray<Message<C, S>>;
  /** Entries known committed and not yet handed out: apply them in order. */
  readonly committed: ReadonlyArray<Entry<C>>;
  /** Reads whose index is now confirmed. */
  readonly reads: readonly ReadState[];
  /** Reads asked of this node as leader that it cannot answer any more (it lost leadership): fail or redirect them. */
  readonly abandonedReads: readonly number[];
}
