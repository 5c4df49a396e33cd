/**
 * Every bound of a region node's shell in one place (the core's are in src/core/limits.ts). Units
 * last in each name, and a comment saying why the value. Reaching one is a typed refusal, a
 * dropped message the protocol already recovers from, or a closed connection: never unbounded
 * memory.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

export const nodeLimits = {
  // ---- the node's queues ----------------------------------------------------------------------
  /**
   * Client requests a node holds at once, waiting for their step or their answer (strong writes
   * wait for the group). Each holds its request body (up to requestBodyBytesMax), so this bounds
   * the memory requests can pin: past it a request is answered 503 OVERLOADED (retryable) at once.
   */
  requestsWaitingMax: 20_000,
  /**
   * Peer messages queued for the next step. A step can take a whole fsync, and peers keep
   * sending meanwhile; past this, further peer messages are dropped and counted (replication
   * resends what a peer lacks, Raft retransmits, clock probes repeat), so a burst cannot pile up.
   */
  peerInputsQueuedMax: 50_000,

  // ---- the client API ---------------------------------------------------------------------------
  /** A request body: a row of up to 1 MiB of fields (limits.rowBytesMax) plus its JSON around it. */
  requestBodyBytesMax: 1.5 * MiB,
  /**
   * A refused body is read and thrown away up to this many bytes before the socket is closed (so
   * the client reads its 413 instead of EPIPE; drain-body.ts), and for at most this long.
   */
  refusedBodyDrainBytesMax: 64 * MiB,
  refusedBodyDrainMsMax: 10_000,
  /**
   * Open connections to the client API (Node's server.maxConnections: past it a new connection is
   * closed at once, before a byte is read). Each costs a socket, its buffers and a parser even
   * idle; 4,000 held open with bodies pending took a node to 4.6 GB. 2,048 is ten times the
   * connections the benchmarks drive a node with (200 clients) and several clients' keep-alive
   * pools; more clients belong behind the router or a proxy that pools them.
   */
  apiConnectionsMax: 2048,
  /**
   * Request-body bytes held at once across every connection of the client API, from the first
   * byte read to the answer sent (a Content-Length is reserved whole before reading; a chunked
   * body counts as it arrives). A request that would pass it is answered 503 OVERLOADED
   * (retryable) and its body is discarded unread. 256 MiB is about 150 bodies of the largest size
   * (requestBodyBytesMax, beside the part kept for small ones) or many thousands of ordinary ones
   * at once, and keeps a node's request memory (the bytes, their string and parsed JSON) well
   * within a GB, where 4,000 connections holding 1.5 MiB bodies took 4.6 GB before.
   */
  apiBodyBytesInFlightMax: 256 * MiB,
  /**
   * Of apiBodyBytesInFlightMax, the last this many bytes are kept for small bodies (at most
   * apiSmallBodyBytesMax each): connections holding large bodies open cannot fill the whole budget,
   * and ordinary writes (a few KiB) keep being served beside them. 32 MiB is an eighth of the
   * budget: 512 small bodies of the largest small size at once, thousands of typical ones.
   */
  apiBodyBytesKeptForSmallMin: 32 * MiB,
  /**
   * Clients whose rate-limit bucket is remembered (rate-limit.ts): a few dozen bytes each, so the
   * map stays within a few MB whatever number of addresses a flood comes from; past it the
   * longest-idle client's bucket is dropped (it starts again full).
   */
  apiRateLimitClientsMax: 100_000,
  /**
   * Token checks (scrypt, some tens of ms of CPU and 16 MiB each) running at once. A token is
   * checked once and then cached, so legitimate clients need few; a flood of made-up tokens would
   * otherwise take every core. Past it a new check is 503 OVERLOADED (retryable).
   */
  authChecksInFlightMax: 4,
  /** Tokens found not valid, remembered (for authFailuresRememberedMs) so the same one is refused without a check. */
  authFailuresRememberedMax: 10_000,
  authFailuresRememberedMs: 60_000,
  /** The largest body that may use apiBodyBytesKeptForSmallMin: far past an ordinary write, a tiny share of the budget. */
  apiSmallBodyBytesMax: 64 * KiB,

  // ---- peer links -------------------------------------------------------------------------------
  /** A frame between peers: far above any message the protocols send (appends and snapshot chunks are cut to fit below). */
  frameBytesMax: 64 * MiB,
  /** Frames allowed before the handshake completes: a hello is a few hundred bytes. */
  helloBytesMax: 4 * KiB,
  /** How long a handshake may take before the connection is closed. */
  handshakeMs: 5_000,
  /**
   * An inbound link silent this long is dead, and a new hello from its region replaces it. Several
   * times the clock probe interval (500 ms), so a live link never comes close.
   */
  inboundSilenceMsMax: 3_000,
  /**
   * A welcomed inbound link silent this long is closed (its peer dials again if it lives): before
   * the handshake a connection gets handshakeMs, after it no socket may sit idle for ever either.
   * Far beyond inboundSilenceMsMax, so a link is replaced by its peer's new one long before this.
   */
  inboundIdleMsMax: 30_000,
  /**
   * Connections to the peer port at once, handshaking or welcomed (Node's server.maxConnections:
   * past it a new one is closed before a byte is read). A cluster needs one inbound link per peer
   * region (at most 31) and a few more while links are replaced; 256 leaves room for that many
   * times over, and bounds what connections that never complete a handshake can hold (each at
   * most helloBytesMax buffered, for handshakeMs).
   */
  peerConnectionsMax: 256,
  /** Bytes queued to one peer while its socket is not writable; past it frames are dropped (and resent by the protocols). */
  sendQueueBytesMax: 32 * MiB,
  /** Reconnection backoff to a peer: from this, doubling, up to backoffMsMax. */
  backoffMsMin: 50,
  backoffMsMax: 2_000,
  /** A Raft append's entries stay under an eighth of a frame: room for the envelope, and other traffic flows between appends. */
  raftAppendBytesMax: 8 * MiB,
  /** A strong snapshot travels in chunks of this: small enough to resend cheaply after a dropped link, large enough that round trips are few. */
  raftSnapshotChunkBytes: MiB,

  // ---- snapshots for a rejoin (snapshot/) -------------------------------------------------------
  /** A snapshot chunk, each with its own SHA-256: small enough to resend cheaply, large enough that per-chunk overhead is noise. */
  snapshotChunkBytes: MiB,
  /**
   * Chunks a receiver fetches at once: one per round trip would cap a fetch at 1 MiB per RTT
   * (about 8 MB/s at 120 ms), far below retention.snapshotMBps; eight keep a 120 ms link near 64
   * MB/s while holding at most 8 MiB of chunks in memory. The donor's throttle still bounds the total.
   */
  snapshotChunksInFlight: 8,
  /** How long a donor keeps a copy after it was last asked for: a receiver that comes back within this resumes. */
  snapshotKeepMs: 10 * 60 * 1000,
  /** A copy not asked for within this is dropped when another is made (a receiver fetching asks at every chunk). */
  snapshotIdleMs: 60 * 1000,
  /** After a failed rejoin attempt (no donor could serve, a link dropped), the next one waits this long. */
  rejoinRetryMs: 2_000,
} as const;

export type NodeLimits = { readonly [K in keyof typeof nodeLimits]: number };
