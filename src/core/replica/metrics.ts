/**
 * Counters a replica keeps about itself. Plain numbers: the shell exports them as Prometheus
 * metrics, the simulator asserts on them (coverage marks: "this interesting thing happened").
 */
export interface ReplicaMetrics {
  opsCreated: number;
  opsApplied: number;
  opsDuplicate: number;
  opsBuffered: number;
  opsBufferDropped: number;
  opsUnknownTable: number;
  hlcRefused: number;
  beatsRefused: number;
  writesKilledByTombstone: number;
  idempotentReplays: number;
  idempotentCopies: number;
  idempotencyExpired: number;
  conflictsWriteWrite: number;
  conflictsDeleteUpdate: number;
  conflictsInsertInsert: number;
  tombstonesPurged: number;
  /** Conflict-feed entries collected by retention. */
  conflictsCollected: number;
  /** Ops of an evicted region beyond what this region may apply (its orphans), dropped. */
  opsOfEvicted: number;
  /** Orphan reports applied: orphaned-write feed entries recorded (replica/orphans.ts). */
  orphanedWrites: number;
  /** Orphaned writes that could not be reported under their own dot (the store's sequence did not continue from them): a bug if ever non-zero. */
  orphansOutOfSequence: number;
  rowsPurged: number;
  logOpsTrimmed: number;
  syncsSent: number;
  opsSent: number;
  peerBehindLog: number;
  /** `gone` notices received: a peer could not send ops we lacked (collected already). */
  opsGone: number;
  sessionWaits: number;
  sessionUnavailable: number;
  staleRefusals: number;
  uniqueRefusals: number;
  /** Guarded ops applied as nothing: written without the slot's epoch (a fenced-write feed entry each). */
  fencedWrites: number;
}

export function newMetrics(): ReplicaMetrics {
  return {
    opsCreated: 0,
    opsApplied: 0,
    opsDuplicate: 0,
    opsBuffered: 0,
    opsBufferDropped: 0,
    opsUnknownTable: 0,
    hlcRefused: 0,
    beatsRefused: 0,
    writesKilledByTombstone: 0,
    idempotentReplays: 0,
    idempotentCopies: 0,
    idempotencyExpired: 0,
    conflictsWriteWrite: 0,
    conflictsDeleteUpdate: 0,
    conflictsInsertInsert: 0,
    tombstonesPurged: 0,
    conflictsCollected: 0,
    opsOfEvicted: 0,
    orphanedWrites: 0,
    orphansOutOfSequence: 0,
    rowsPurged: 0,
    logOpsTrimmed: 0,
    syncsSent: 0,
    opsSent: 0,
    peerBehindLog: 0,
    opsGone: 0,
    sessionWaits: 0,
    sessionUnavailable: 0,
    staleRefusals: 0,
    uniqueRefusals: 0,
    fencedWrites: 0,
  };
}
