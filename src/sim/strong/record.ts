/**
 * What a run of the strong group records for its checkers (linearizability, the bank, follower
 * reads, Raft safety, final states): data only, so checkers need nothing of the world that made it.
 */
import type { BankRecord } from '../check/bank.js';
import type { FollowerReadsRecord } from '../check/follower-reads.js';
import type { LinEvent } from '../check/lin-history.js';

export interface StrongRunRecord {
  readonly lin: readonly LinEvent[];
  readonly bank: BankRecord;
  readonly followerReads: FollowerReadsRecord;
  /** Term → the regions that were leader in it (more than one is a Raft safety violation). */
  readonly leadersByTerm: Readonly<Record<number, readonly string[]>>;
  /** Every live node's applied strong state at the end (canonical JSON): all must be equal. */
  readonly finalStates: Readonly<Record<string, string | null>>;
  /** Every live node's Raft position at the end, to tell a node left behind from a divergence. */
  readonly finalRaft: Readonly<Record<string, string>>;
}
