/**
 * What the parts of a strong-group member share during a turn: the Raft node, the state machine,
 * the configuration, the time, and the replies and peer messages the turn produces. Only
 * src/core/strong uses it.
 */
import type { RegionId } from '../clock/version-vector.js';
import type { Raft } from '../raft/raft.js';
import type { StrongConfig } from './config.js';
import type { StrongPeerMessage, StrongReply } from './messages.js';
import type { StrongSnapshotData, StrongState } from './state-machine.js';
import type { StrongCommand } from './types.js';

export type StrongCounters = {
  proposals: number;
  forwarded: number;
  quorumTimeouts: number;
  leaseReads: number;
  readIndexReads: number;
  followerReads: number;
  snapshots: number;
};

export interface StrongContext {
  readonly config: StrongConfig;
  readonly raft: Raft<StrongCommand, StrongSnapshotData>;
  readonly state: StrongState;
  readonly counters: StrongCounters;
  /** Monotonic time (never less than before): deadlines, Raft's timers and leases. */
  monoMs: number;
  /** The wall clock as given (may step): stamps on proposed commands, freshness across nodes. */
  wallMs: number;
  /** This turn's replies, returned by flush. */
  replies: Array<{ readonly id: number; readonly reply: StrongReply }>;
  /** Peer messages queued by request handling; they leave after this turn's Raft messages. */
  sendQueue: Array<{ readonly to: RegionId; readonly message: StrongPeerMessage }>;
}

export function reply(ctx: StrongContext, id: number, r: StrongReply): void {
  ctx.replies.push({ id, reply: r });
}

export function sendPeer(ctx: StrongContext, to: RegionId, message: StrongPeerMessage): void {
  ctx.sendQueue.push({ to, message });
}
