/**
 * Bounds of a region node's own queues (the core's are in src/core/limits.ts, the transport's in
 * src/server/transport/frames.ts). Units last in each name. Reaching one is a typed refusal or a
 * dropped message the protocol already recovers from, never unbounded memory.
 */
export const nodeLimits = {
  /**
   * Client requests a node holds at once, waiting for their step or their answer (strong writes
   * wait for the group). Each holds its request body (up to 1.5 MiB), so this bounds the memory
   * requests can pin: past it a request is answered 503 OVERLOADED (retryable) at once.
   */
  requestsWaitingMax: 20_000,
  /**
   * Peer messages queued for the next step. A step can take a whole fsync, and peers keep
   * sending meanwhile; past this, further peer messages are dropped and counted (replication
   * resends what a peer lacks, Raft retransmits, clock probes repeat), so a burst cannot pile up.
   */
  peerInputsQueuedMax: 50_000,
} as const;

export type NodeLimits = { readonly [K in keyof typeof nodeLimits]: number };
