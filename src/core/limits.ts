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
  /**
   * Visible fields of one row (docs/api.md, "Limits"). Every write re-reads, re-encodes and stores
   * the whole row with each field's metadata, so cost per write grows with the fields (the security
   * issue reported a row grown to 10,240 fields through writes of 256). 1,024 is four full writes,
   * far past a row a schema describes (wide data belongs in more rows). A local write that
   * would leave more than this and more than the row had is refused TOO_LARGE, nothing written (so
   * a row already past it can still be written and shrunk). Remote ops are never refused, since replicas must converge: two
   * regions writing different new fields at once may take a row past it. The strong state machine
   * applies it too, so every node of a cluster must use the same value.
   */
  fieldsPerRowMax: 1024,
  /**
   * Elements of one set field, same rules as fieldsPerRowMax (refused locally when a write would
   * leave more than this and more than the set had; remote ops never refused, so concurrent adds
   * in two regions may pass it). Each element carries its adds' dots and every add rebuilds the
   * sorted set (the security issue reported up to 430 ms a write at 115,000 elements, 1,000 per
   * write); 10,000 is ten full `add` lists (setElementsPerOpMax), plenty for tags, members or flags.
   * A larger collection belongs in rows of its own.
   */
  setElementsMax: 10_000,
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
  /**
   * Conflict-feed entries read at once while retention moves the ones still held past a collected
   * one (replica/feed-retention.ts): each read holds its entries in memory (up to about 64 KiB
   * each, conflictValueBytesMax), so reads are pages of this many within feedCollectPerStepMax.
   */
  feedMovedPerReadMax: 256,
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
  /**
   * Orphan reports a rejoined region publishes in one step (replica/orphans.ts): each is applied
   * and pushed to every peer in that step, so a region that comes back with thousands of orphaned
   * writes publishes them over several steps instead of stalling one; 200 keeps a step within a
   * few milliseconds. The rest follow in the next steps (the region writes nothing new meanwhile).
   */
  orphanReportsPerStepMax: 200,

  // ---- the region core (src/core/node/) -------------------------------------------------------
  /**
   * Unique-value releases waiting for every region to hear of their write (node/unique-gate.ts).
   * They pile up only while some region is unreachable, one per write to a strongly unique field;
   * each is a few strings, so 100,000 is a few tens of MB and minutes of such writes at a high rate.
   * Past it the oldest is dropped and logged: its values stay claimed by its key (a leak, never a
   * duplicate).
   */
  uniqueReleasesPendingMax: 100_000,
  /**
   * Clock samples kept per peer (node/clock-guard.ts); the estimate is the latest whose round trip
   * is close to the best of them. Four probes (two seconds at the default 500 ms probe interval)
   * ride out an answer that sat in a queue, and a changed path is followed within seconds.
   */
  clockSamplesPerPeerMax: 4,
  /**
   * Clock probes awaiting their answer (node/clock-guard.ts). A round probes every peer (at most
   * regionsMax − 1 = 31), so this keeps about eight rounds of unanswered probes in a full cluster;
   * an answer older than that would be refused anyway (its round trip makes it too uncertain).
   * Past it the oldest probes are forgotten, and their late answers ignored.
   */
  clockPingsInFlightMax: 256,

  // ---- the strong group (src/core/strong/) ----------------------------------------------------
  /**
   * Compares plus ops in one transaction (docs/api.md, "Limits"). A transaction is one log entry
   * that every node applies in one step, so this bounds the entry and the apply; more is refused
   * with TOO_LARGE before anything is proposed.
   */
  txnItemsMax: 128,
  /**
   * (commit index, leader's clock) pairs a follower keeps from the leader's appends until it has
   * applied that commit (strong/reads.ts, bounded reads). One comes with each append and goes once
   * applied, so 256 is seconds of appends not yet applied. Past it the oldest is dropped, which
   * can only make bounded reads look staler (STALE), never fresher.
   */
  strongFreshnessPairsMax: 256,
  /**
   * Forwarding origins (a node's boot that forwards strong commands to the leader) whose command
   * numbers the state machine remembers, to apply each command once (strong/state-machine.ts). A
   * boot is a new origin, so this is 256 boots within forwardedRetentionMs, far past any cluster's
   * restarts; past it the least recently active origin is forgotten. The state machine applies it,
   * so every node of a cluster must use the same value.
   */
  forwardedOriginsMax: 256,
  /**
   * Forwarded commands remembered per origin, to apply each at most once (Raft thesis §6.3), for a
   * time rather than a count (a review found a count window shorter than a retry at high rates).
   * A follower forwards copies only until its request deadline (strongTimeoutMs), so the entries of
   * two copies carry proposal times at most strongTimeoutMs + 2 × maxClockOffsetMs apart, and the
   * log's running time can be at most one more offset ahead when the later one applies. The
   * configuration keeps that sum below this retention (src/server/config.ts).
   */
  forwardedRetentionMs: 120_000,
  /**
   * Raft Readies one flush handles (strong/strong-node.ts): each applies what the previous made
   * possible, so a long chain must yield to the rest of the node. What is left stays in Raft for
   * the next flush (backpressure: nothing is lost). A turn normally needs a handful.
   */
  strongReadiesPerFlushMax: 1000,

  // ---- Raft (src/core/raft/): defaults of RaftConfig ------------------------------------------
  /**
   * Entries in one append (RaftConfig.maxEntriesPerAppend): bounds what a follower far behind gets
   * per message when no byte bound applies (the simulator), and with raftAppendsInFlightMax what is
   * in flight to it.
   */
  raftEntriesPerAppendMax: 256,
  /**
   * Bytes of entries in one append when entry sizes are given without a bound of their own
   * (RaftConfig.maxAppendBytes; the shell gives nodeLimits.raftAppendBytesMax, cut to its frames).
   * At least one entry always goes, so an entry larger than this still travels, alone.
   */
  raftAppendBytesMax: 4 * 1024 * 1024,
  /** A snapshot travels in chunks of this (RaftConfig.snapshotChunkBytes): cheap to resend after a dropped link, few round trips. */
  raftSnapshotChunkBytes: 1024 * 1024,
  /**
   * Appends pipelined to one follower without an answer (RaftConfig.maxInflightAppends): enough to
   * keep a WAN link busy between answers; past it the leader waits for one.
   */
  raftAppendsInFlightMax: 64,
  /**
   * Heartbeat rounds a leader keeps awaiting a majority's answer (leases, ReadIndex). 64 rounds is
   * 6.4 s at the default 100 ms heartbeat, past the election timeout, when an answer could no longer
   * extend the lease; an answer to a forgotten round is ignored, and reads wait for a later round.
   */
  raftRoundsUnansweredMax: 64,
  /**
   * Committed entries handed out for applying in one Ready (RaftLog.takeCommitted): a node catching
   * up applies in slices, so each flush stays short; the rest come in the next Ready.
   */
  raftCommittedPerReadyMax: 1024,
  /** Raft log entries read from storage per call on start (strong/raft-store.ts): bounds each read, not the log. */
  raftLogPageEntriesMax: 1024,
} as const;
