/**
 * Every bound of the core in one place (every queue, batch, buffer, retry and window has a limit:
 * docs/internals/replication.md, "Limits"). Units are last in each name. Hitting a limit is an
 * explicit error or backpressure, never unbounded memory.
 */
export const limits = {
  /** Row keys, in UTF-8 bytes (docs/api.md, "Limits"). */
  keyBytesMax: 1024,
  /** A row's encoded fields, in UTF-8 bytes of canonical JSON (docs/api.md, "Limits"). */
  rowBytesMax: 1024 * 1024,
  /** Field names, in characters. */
  fieldNameCharsMax: 128,
  /** Table names, in characters. */
  tableNameCharsMax: 64,
  /** Nesting depth of a JSON value. */
  jsonDepthMax: 64,
  /** Elements in one add/remove list of one request. */
  setElementsPerOpMax: 1000,
  /** Fields touched by one write. */
  fieldsPerWriteMax: 256,
  /** Idempotency keys, in characters. */
  idempotencyKeyCharsMax: 256,
  /** Regions in a cluster (bounds vector sizes and session tokens). */
  regionsMax: 32,
  /** Region ids, in characters. */
  regionIdCharsMax: 32,
  /** Session tokens, in characters. */
  sessionTokenCharsMax: 2048,
  /** Out-of-order remote ops buffered per replica before newer ones are dropped (they are resent). */
  bufferedOpsMax: 20_000,
  /** Ops in one replication message. */
  opsPerMessageMax: 512,
  /** Approximate bytes of ops in one replication message (a single larger op still goes alone). */
  opsBytesPerMessageMax: 4 * 1024 * 1024,
  /** Stability reports from one peer waiting for their ops to arrive. */
  pendingReportsPerPeerMax: 16,
  /** Heartbeats from one origin waiting for their ops to arrive. */
  pendingBeatsPerOriginMax: 16,
  /** Reads and writes parked waiting for a session token to be satisfied. */
  parkedRequestsMax: 10_000,
  /**
   * Strong writes (and table and drain changes) of one node waiting for their commit: each holds
   * its request until the log answers or it times out, so a stalled group must not let them pile
   * up without end. 10,000 is far past what a node's clients keep in flight (the benchmarks use
   * 200), and a full map answers OVERLOADED (retryable) rather than wait.
   */
  strongWritesWaitingMax: 10_000,
  /** Longest a request may wait for its session token. */
  sessionWaitMsMax: 10_000,
  /** Log ops visited by garbage collection in one step (keeps step latency bounded). */
  gcOpsPerStepMax: 5_000,
  /** Conflict-feed entries collected (or moved past a collected one) by retention in one step. */
  feedCollectPerStepMax: 1_000,
  /** Idempotency records expired in one step. */
  idempotencyExpiriesPerStepMax: 1_000,
  /** Rows returned by one scan. */
  scanRowsMax: 1_000,
  /** Stored rows (deleted ones included) one scan may read before it answers with a cursor. */
  scanRowsVisitedMax: 10_000,
  /** Conflict feed entries returned by one page. */
  conflictsPerPageMax: 1_000,
  /** Losers listed in one conflict feed entry (further losers are counted, not listed). */
  conflictLosersMax: 64,
  /**
   * What a conflict-feed loser wrote (`wrote`: its value, or its write as a PATCH body), in UTF-8
   * bytes of canonical JSON. Larger ones are listed as their size and SHA-256 instead: an entry
   * lists up to conflictLosersMax losers, so this bounds an entry to about 64 KiB, and the same
   * bound applies to what conflict windows keep per op until it is decided.
   */
  conflictValueBytesMax: 1024,
  /** Counter values stay in the safe-integer range. */
  counterAbsMax: Number.MAX_SAFE_INTEGER,
} as const;
