/**
 * A sans-IO Raft node (Ongaro & Ousterhout 2014; Ongaro's thesis 2014), in the shape of
 * etcd-io/raft: `tick(nowMs)` and `step(message)` change state, `ready()` says what to persist,
 * send and apply, `advance(ready)` says it was persisted. No IO, no clocks, no global randomness:
 * election timeouts come from the injected random source.
 *
 * Beyond the paper: pre-vote and check-quorum (thesis §9.6), so a partitioned node cannot disrupt
 * a healthy leader and a leader that lost its quorum steps down; leases and ReadIndex for
 * linearizable reads (thesis §6.4); leadership transfer towards a preferred node (thesis §3.10).
 */
import { assert } from '../util/assert.js';
import { limits } from '../limits.js';
import { majorityOf } from '../util/majority.js';
import { RaftLog } from './log.js';
import type { Entry, HardState, LogIndex, Message, NodeId, ReadState, Ready, Role, Snapshot, SnapshotCodec, Term } from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  /** Base election timeout in ticks; each timeout is drawn from [electionTicks, 2·electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Milliseconds per tick, for leases. */
  readonly tickMs: number;
  /** Clocks may differ in rate and reading by this much; leases are shortened by it. */
  readonly maxClockOffsetMs: number;
  /** Seeded uniform random numbers in [0, 1). */
  readonly random: () => number;
  /** When set, a leader hands leadership to this node once it is caught up. */
  readonly preferredLeader?: NodeId;
  readonly maxEntriesPerAppend?: number;
  /**
   * An append carries entries up to this many bytes (by `entryBytes`), and at least one, so it
   * fits the transport's frame limit however large the entries are. Without `entryBytes`,
   * appends are bounded by `maxEntriesPerAppend` only.
   */
  readonly maxAppendBytes?: number;
  /** The size of an entry as the transport would carry it (approximate is fine; called once per entry sent). */
  readonly entryBytes?: (e: Entry<unknown>) => number;
  /** With a codec, snapshots travel in chunks of `snapshotChunkBytes`; without one, as one message. */
  readonly snapshotCodec?: SnapshotCodec<unknown>;
  readonly snapshotChunkBytes?: number;
  readonly maxInflightAppends?: number;
  /** A leader that has not heard from a majority for an election timeout steps down (default true; leases do not rely on it, they run out by themselves). */
  readonly checkQuorum?: boolean;
}

export interface RaftInitialState<C, S> {
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot<S> | null;
  readonly entries: ReadonlyArray<Entry<C>>;
  /** The state machine already holds entries up to here (it is persisted with them); they are not handed out again. */
  readonly applied?: LogIndex;
}

interface Progress {
  match: LogIndex;
  next: LogIndex;
  /** probe: one append in flight until it answers; replicate: pipelined up to the inflight limit. */
  state: 'probe' | 'replicate';
  inflight: number;
  probeSent: boolean;
  /** Heard from since the last check-quorum. */
  active: boolean;
  /** Heartbeat round current when entries were last sent: an answer to a later round that still lacks them means they were lost. */
  entriesRound: number;
  /** A snapshot sent in chunks: which one, and how many of its bytes the follower acknowledged. */
  snapshotIndex: LogIndex;
  snapshotSent: number;
}

export type ProposeResult = { readonly ok: true; readonly index: LogIndex; readonly term: Term } | { readonly ok: false; readonly leader: NodeId | null };

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: Term;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly leaseValid: boolean;
  /** A leadership transfer is under way: proposals are refused until it ends. */
  readonly transferring: boolean;
}

export class Raft<C = unknown, S = unknown> {
  readonly id: NodeId;
  readonly #c: Required<Omit<RaftConfig, 'preferredLeader' | 'entryBytes' | 'snapshotCodec'>> & Pick<RaftConfig, 'preferredLeader' | 'entryBytes' | 'snapshotCodec'>;
  /** The current snapshot, encoded once for every follower that needs it (with a codec). */
  #encoded: { readonly index: LogIndex; readonly bytes: Uint8Array } | null = null;
  /** As follower: the chunks of a snapshot received so far. */
  #partial: { readonly index: LogIndex; readonly term: Term; readonly voters: readonly NodeId[]; readonly total: number; readonly chunks: Uint8Array[]; received: number } | null = null;
  voters: readonly NodeId[];
  term: Term;
  vote: NodeId | null;
  leader: NodeId | null = null;
  role: Role = 'follower';
  readonly log: RaftLog<C>;
  #prs = new Map<NodeId, Progress>();
  #votes = new Map<NodeId, boolean>();
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #timeout: number;
  #nowMs = 0;
  #now: Array<Message<C, S>> = [];
  #after: Array<Message<C, S>> = [];
  #persisted: HardState;
  #receivedSnapshot: Snapshot<S> | null = null;
  #snapshot: Snapshot<S> | null;
  // Heartbeat rounds: which followers answered each, and when it was sent (leases, ReadIndex).
  #round = 0;
  #roundSentMs = new Map<number, number>();
  #roundAcks = new Map<number, Set<NodeId>>();
  #leaseUntilMs = -Infinity;
  /** When the latest heartbeat round a majority answered was sent (this term, this node's clock). */
  #quorumContactMs = -Infinity;
  #pendingReads: Array<{ ctx: number; index: LogIndex; round: number }> = [];
  #waitingReads: number[] = [];
  #reads: ReadState[] = [];
  #abandonedReads: number[] = [];
  /** Entries were proposed since the last Ready: broadcast them then. */
  #proposed = false;
  #transferSent = -Infinity;
  /**
   * Set once this leader sent timeout-now in its term. The target's election skips the followers'
   * lease check, and the message may arrive late, so this leader never trusts a lease again in
   * this term: its reads go through ReadIndex.
   */
  #transferAttempted = false;
  /**
   * A node that lost its persisted state (restored from a backup) may have voted, and acknowledged
   * entries, that it no longer remembers: counted again at once it could elect a leader missing a
   * committed entry, or vote twice in one term. So it is a learner: it takes entries but votes for
   * nobody, never campaigns, and its acknowledgements count towards no quorum, until a leader
   * readmits it. The leader does so once the learner's log holds an entry this leader appended
   * after it saw the learner and committed without it: then the learner holds every committed
   * entry (Leader Completeness), every vote it cast before was in a term no later than this one
   * (the majority that committed the entry was at most in this term), and it takes this term's
   * vote as cast for the leader, so it cannot vote twice in it.
   */
  learner: boolean;
  /** As leader: followers that say they are learners, with the entry whose commit readmits each. */
  #learners = new Map<NodeId, LogIndex>();
  /** Ticks since this node started: it votes for nobody in its first election timeout (see #inLease). */
  #ticksSinceBoot = 0;
  /**
   * The wall clock minus the clock this node runs on (Raft measures time only as elapsed, so it
   * runs on a monotonic clock): what turns its freshness into the wall-clock stamp appends carry.
   */
  #wallOffsetMs = 0;

  constructor(config: RaftConfig, initial: RaftInitialState<C, S>) {
    assert(config.voters.includes(config.id), () => `${config.id} is not a voter of ${config.voters.join(',')}`);
    this.id = config.id;
    this.#c = {
      maxEntriesPerAppend: limits.raftEntriesPerAppendMax,
      maxAppendBytes: limits.raftAppendBytesMax,
      snapshotChunkBytes: limits.raftSnapshotChunkBytes,
      maxInflightAppends: limits.raftAppendsInFlightMax,
      checkQuorum: true,
      ...config,
    };
    this.voters = initial.snapshot?.voters ?? config.voters;
    this.term = initial.hardState?.term ?? 0;
    this.vote = initial.hardState?.vote ?? null;
    this.learner = initial.hardState?.learner === true;
    this.#snapshot = initial.snapshot;
    this.log = new RaftLog<C>(initial.snapshot, initial.entries, initial.hardState?.commit ?? 0);
    if (initial.applied !== undefined) this.log.applied = Math.max(this.log.applied, Math.min(initial.applied, this.log.committed));
    this.#persisted = this.#hardState();
    this.#timeout = this.#randomTimeout();
  }

  #randomTimeout(): number {
    return this.#c.electionTicks + Math.floor(this.#c.random() * this.#c.electionTicks);
  }

  #quorum(): number {
    return majorityOf(this.voters.length);
  }

  #peers(): NodeId[] {
    return this.voters.filter((v) => v !== this.id);
  }

  #send(m: Message<C, S>): void {
    if (m.type === 'append' || m.type === 'snapshot' || m.type === 'snapshot-chunk') this.#now.push(m);
    else this.#after.push(m);
  }

  // ---- time --------------------------------------------------------------------------------

  /** The wall clock now reads `wallMinusNowMs` more than the clock given to tick (see #wallOffsetMs). */
  setWallOffset(wallMinusNowMs: number): void {
    this.#wallOffsetMs = wallMinusNowMs;
  }

  /** One tick at time nowMs of a clock that never steps (leases are measured in ms, timeouts in ticks). */
  tick(nowMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    this.#ticksSinceBoot++;
    if (this.role === 'leader') return this.#tickLeader();
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#timeout) {
      this.#electionElapsed = 0;
      if (!this.learner) this.#campaign(true, false);
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    // Check-quorum (thesis §6.2): a leader that has not heard from a majority within an
    // election timeout steps down, so a partitioned leader stops serving.
    if (this.#electionElapsed >= this.#c.electionTicks && this.#c.checkQuorum) {
      this.#electionElapsed = 0;
      const active = 1 + this.#peers().filter((p) => this.#prs.get(p)?.active === true && !this.#learners.has(p)).length;
      for (const p of this.#prs.values()) p.active = false;
      if (active < this.#quorum()) return this.#becomeFollower(this.term, null);
    }
    if (this.#heartbeatElapsed >= this.#c.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#broadcastAppend(true);
    }
    this.#maybeTransfer();
  }

  // ---- roles -------------------------------------------------------------------------------

  #transferring(): boolean {
    return this.role === 'leader' && this.#nowMs - this.#transferSent < this.#c.electionTicks * this.#c.tickMs;
  }

  #becomeFollower(term: Term, leader: NodeId | null): void {
    if (term > this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = 'follower';
    this.leader = leader;
    this.#electionElapsed = 0;
    this.#timeout = this.#randomTimeout();
    this.#leaseUntilMs = -Infinity;
    // Reads this node was confirming as leader can no longer be answered here: say so.
    this.#abandonedReads.push(...this.#pendingReads.map((p) => p.ctx), ...this.#waitingReads);
    this.#pendingReads = [];
    this.#waitingReads = [];
  }

  /** §5.2; with pre-vote, a candidate first asks whether it could win, without changing its term. */
  #campaign(pre: boolean, transfer: boolean): void {
    this.#votes = new Map([[this.id, true]]);
    // A fresh random timeout for every attempt (§5.2): a node stuck with a short one would
    // otherwise restart its election forever before the slowest round trips of it come back,
    // while its vote requests keep resetting everyone else's timers.
    this.#electionElapsed = 0;
    this.#timeout = this.#randomTimeout();
    if (pre) {
      this.role = 'pre-candidate';
      this.leader = null;
    } else {
      this.term++;
      this.vote = this.id;
      this.role = 'candidate';
      this.leader = null;
    }
    if (this.#votes.size >= this.#quorum()) {
      if (pre) return this.#campaign(false, false);
      return this.#becomeLeader();
    }
    const term = pre ? this.term + 1 : this.term;
    for (const to of this.#peers()) {
      const base = { from: this.id, to, term, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm() };
      this.#send(pre ? { type: 'pre-vote', ...base } : { type: 'vote', ...base, transfer });
    }
  }

  #becomeLeader(): void {
    this.role = 'leader';
    this.leader = this.id;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#transferSent = -Infinity;
    this.#transferAttempted = false;
    this.#quorumContactMs = -Infinity;
    this.#learners = new Map();
    this.#prs = new Map(this.#peers().map((p) => [p, { match: 0, next: this.log.lastIndex() + 1, state: 'probe', inflight: 0, probeSent: false, active: true, entriesRound: 0, snapshotIndex: 0, snapshotSent: 0 }]));
    // §8: a new leader commits an entry of its own term before it can tell what is committed.
    this.log.append([{ term: this.term, index: this.log.lastIndex() + 1, data: null }]);
    this.#broadcastAppend(true);
  }

  // ---- the public inputs -------------------------------------------------------------------

  /** Appends a command when leader; otherwise says who the leader is (if known). */
  propose(data: C): ProposeResult {
    if (this.role !== 'leader') return { ok: false, leader: this.leader };
    // During a transfer the target must stay the most up-to-date node, or the others refuse it.
    if (this.#transferring()) return { ok: false, leader: null };
    const index = this.log.lastIndex() + 1;
    this.log.append([{ term: this.term, index, data }]);
    // Sent with the next Ready: proposals of one turn travel in one append per follower.
    this.#proposed = true;
    return { ok: true, index, term: this.term };
  }

  /**
   * Asks for a linearizable read point (§6.4). A leader with a valid lease answers at once; otherwise
   * it confirms its leadership with a heartbeat round first. False when not leader.
   */
  readIndex(ctx: number, nowMs: number): boolean {
    if (this.role !== 'leader') return false;
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    if (this.log.termAt(this.log.committed) !== this.term) {
      this.#waitingReads.push(ctx); // until this term's first entry commits
      return true;
    }
    this.#startRead(ctx);
    return true;
  }

  #startRead(ctx: number): void {
    if (this.#leaseHeld()) {
      this.#reads.push({ ctx, index: this.log.committed });
      return;
    }
    this.#pendingReads.push({ ctx, index: this.log.committed, round: this.#round + 1 });
    this.#broadcastAppend(true);
  }

  /**
   * A snapshot of the state machine at `snapshot.index` exists: followers too far behind get it.
   * The log is dropped up to `through` (at most the snapshot's index): keeping some entries below
   * the snapshot lets a follower that is only a little behind catch up without it.
   */
  compact(snapshot: Snapshot<S>, through: LogIndex = snapshot.index): void {
    assert(through <= snapshot.index, () => `compact through ${through} beyond the snapshot at ${snapshot.index}`);
    this.#snapshot = snapshot;
    this.log.compact(through);
  }

  step(m: Message<C, S>): void {
    if (m.to !== this.id || !this.voters.includes(m.from)) return;
    if (m.term > this.term) {
      if ((m.type === 'vote' || m.type === 'pre-vote') && !(m.type === 'vote' && m.transfer) && this.#inLease()) {
        return; // thesis §4.2.3: ignore a disruptive candidate while a leader is alive
      }
      if (m.type === 'pre-vote' || (m.type === 'pre-vote-resp' && m.granted)) {
        // Pre-votes carry the term they would use; they change nobody's term.
      } else {
        this.#becomeFollower(m.term, m.type === 'append' || m.type === 'snapshot' || m.type === 'snapshot-chunk' ? m.from : null);
      }
    } else if (m.term < this.term) {
      if (m.type === 'append' || m.type === 'snapshot' || m.type === 'snapshot-chunk') {
        // Tell a stale leader about the newer term so it steps down (needed with check-quorum).
        this.#send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index: 0, reject: true, round: 0 });
      } else if (m.type === 'pre-vote') {
        this.#send({ type: 'pre-vote-resp', from: this.id, to: m.from, term: this.term, granted: false });
      }
      return;
    }
    if (m.type === 'pre-vote' || m.type === 'vote') return this.#onVoteRequest(m);
    switch (this.role) {
      case 'leader':
        return this.#stepLeader(m);
      case 'candidate':
      case 'pre-candidate':
        return this.#stepCandidate(m);
      case 'follower':
        return this.#stepFollower(m);
    }
  }

  /**
   * Has this node heard from a live leader within the minimum election timeout? Then it helps
   * nobody else become leader: this is what the leader's lease rests on (thesis §6.4.1). A node
   * that just started does not know whom it last heard from, so it abstains for one election
   * timeout after boot: a leader's lease counted on it from before the crash may still run.
   */
  #inLease(): boolean {
    if (this.#ticksSinceBoot < this.#c.electionTicks) return true;
    return this.leader !== null && this.leader !== this.id && this.#electionElapsed < this.#c.electionTicks;
  }

  /**
   * As leader: a time (our clock) before which every write acknowledged anywhere is committed and
   * known here. Under a lease no other leader can commit anything: now. Otherwise the send time of
   * the latest heartbeat round a majority answered: no other leader can have been elected before
   * that (its voters were ours then), so nothing was committed elsewhere yet. -Infinity when not
   * leader or not yet confirmed. Bounded reads rest on it: a deposed leader that does not know it
   * yet must not vouch for the present.
   */
  freshAsOfMs(): number {
    // Until an entry of this term commits, our commit index may lag what earlier leaders committed (§8).
    if (this.role !== 'leader' || this.log.termAt(this.log.committed) !== this.term) return -Infinity;
    return this.#leaseHeld() ? this.#nowMs : this.#quorumContactMs;
  }

  /** The leader may serve reads from its state without asking anyone (thesis §6.4.1). */
  #leaseHeld(): boolean {
    if (this.role !== 'leader' || this.#transferAttempted) return false;
    return this.voters.length === 1 || this.#nowMs < this.#leaseUntilMs;
  }

  #onVoteRequest(m: Extract<Message<C, S>, { type: 'vote' | 'pre-vote' }>): void {
    const upToDate = this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const canVote = m.type === 'pre-vote' ? m.term > this.term : this.vote === m.from || (this.vote === null && this.leader === null);
    const granted = canVote && upToDate && !this.learner;
    if (m.type === 'vote') {
      if (granted) {
        this.vote = m.from;
        this.#electionElapsed = 0;
      }
      this.#send({ type: 'vote-resp', from: this.id, to: m.from, term: this.term, granted });
    } else {
      this.#send({ type: 'pre-vote-resp', from: this.id, to: m.from, term: granted ? m.term : this.term, granted });
    }
  }

  #stepCandidate(m: Message<C, S>): void {
    if (m.type === 'append' || m.type === 'snapshot' || m.type === 'snapshot-chunk') {
      this.#becomeFollower(m.term, m.from);
      return this.#stepFollower(m);
    }
    const pre = this.role === 'pre-candidate';
    if ((pre && m.type === 'pre-vote-resp') || (!pre && m.type === 'vote-resp')) {
      this.#votes.set(m.from, m.granted);
      const yes = [...this.#votes.values()].filter(Boolean).length;
      const no = this.#votes.size - yes;
      if (yes >= this.#quorum()) {
        if (pre) this.#campaign(false, false);
        else this.#becomeLeader();
      } else if (no >= this.#quorum()) this.#becomeFollower(this.term, null);
    }
  }

  #stepFollower(m: Message<C, S>): void {
    switch (m.type) {
      case 'append':
        this.#electionElapsed = 0;
        this.leader = m.from;
        return this.#onAppend(m);
      case 'snapshot':
        this.#electionElapsed = 0;
        this.leader = m.from;
        return this.#onSnapshot(m);
      case 'snapshot-chunk':
        this.#electionElapsed = 0;
        this.leader = m.from;
        return this.#onSnapshotChunk(m);
      case 'timeout-now':
        // Leadership transfer: campaign at once, past the lease of the current leader.
        if (this.learner) return;
        return this.#campaign(false, true);
      default:
        return;
    }
  }

  /** §5.3: accept the leader's entries if our log matches at prevIndex, else tell it where to retry. */
  #onAppend(m: Extract<Message<C, S>, { type: 'append' }>): void {
    const reply = (index: LogIndex, reject: boolean) => {
      this.#maybeReadmitted(m);
      this.#send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index, reject, round: m.round, ...(this.learner ? { learner: true } : {}) });
    };
    if (m.prevIndex < this.log.committed) {
      // Old news (or a heartbeat pointing at what the leader last knew we had): the entries are
      // ours already, but the commit index may be new. Take it as far as our log provably
      // matches the leader's (Log Matching: our last entry is from the leader's term).
      if (this.log.lastTerm() === m.term) this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
      return reply(this.log.lastTerm() === m.term ? this.log.lastIndex() : this.log.committed, false);
    }
    if (this.log.termAt(m.prevIndex) === m.prevTerm) {
      const last = this.log.mergeFromLeader(m.prevIndex, m.entries);
      // Log Matching (§5.3): if our last entry is from the leader's term, our whole log is the
      // leader's up to it. So we may commit up to there (the leader sends its commit index
      // uncapped), and saying so lets a heartbeat reveal entries lost on the way.
      const matched = this.log.lastTerm() === m.term ? Math.max(last, this.log.lastIndex()) : last;
      this.log.commitTo(Math.min(m.commit, matched));
      return reply(matched, false);
    }
    // Hint (§5.3's optimisation): our last index if our log is short; else skip back over the
    // whole conflicting term, never below what is committed.
    const conflictTerm = this.log.termAt(m.prevIndex);
    let hint = conflictTerm === undefined ? this.log.lastIndex() : m.prevIndex - 1;
    while (conflictTerm !== undefined && hint > this.log.committed && this.log.termAt(hint) === conflictTerm) hint--;
    reply(hint, true);
  }

  #onSnapshot(m: Extract<Message<C, S>, { type: 'snapshot' }>): void {
    this.#install(m.snapshot, m.from, m.round);
  }

  #install(snapshot: Snapshot<S>, from: NodeId, round: number): void {
    const reply = (index: LogIndex) => this.#holdsUpTo(from, round, index);
    if (snapshot.index <= this.log.committed) return reply(this.log.committed);
    // Our log already holds the snapshot's last entry (a snapshot sent after a stale rejection):
    // keep the log, entries past it may be acknowledged ones; only the commit index moves (as etcd).
    if (this.log.termAt(snapshot.index) === snapshot.term) {
      this.log.commitTo(snapshot.index);
      return reply(this.log.committed);
    }
    this.log.restore(snapshot);
    this.voters = snapshot.voters;
    this.#snapshot = snapshot;
    this.#receivedSnapshot = snapshot;
    reply(snapshot.index);
  }

  /** Tells the leader this node's log matches its own up to `index` (the answer to a snapshot, whole or in chunks). */
  #holdsUpTo(leader: NodeId, round: number, index: LogIndex): void {
    this.#send({ type: 'append-resp', from: this.id, to: leader, term: this.term, index, reject: false, round, ...(this.learner ? { learner: true } : {}) });
  }

  /**
   * A piece of a snapshot: kept if it continues what arrived, and the snapshot installed once whole.
   * Anything else (a piece of another snapshot, or not the next one) is answered with what this node
   * holds, and the leader sends from there: a dropped link resumes, a new snapshot starts over.
   */
  #onSnapshotChunk(m: Extract<Message<C, S>, { type: 'snapshot-chunk' }>): void {
    const ack = (received: number) => this.#send({ type: 'snapshot-ack', from: this.id, to: m.from, term: this.term, index: m.index, received });
    if (m.index <= this.log.committed) {
      this.#partial = null;
      return this.#holdsUpTo(m.from, m.round, this.log.committed);
    }
    const codec = this.#c.snapshotCodec;
    let p = this.#partial;
    if (p === null || p.index !== m.index || p.term !== m.snapTerm || p.total !== m.total) {
      if (m.offset !== 0) return ack(0);
      p = this.#partial = { index: m.index, term: m.snapTerm, voters: m.voters, total: m.total, chunks: [], received: 0 };
    }
    if (m.offset !== p.received || codec === undefined) return ack(p.received);
    p.chunks.push(m.data);
    p.received += m.data.length;
    if (p.received < p.total) return ack(p.received);
    this.#partial = null;
    const bytes = new Uint8Array(p.total);
    let at = 0;
    for (const c of p.chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    this.#install({ index: p.index, term: p.term, voters: p.voters, data: codec.decode(bytes) as S }, m.from, m.round);
  }

  #stepLeader(m: Message<C, S>): void {
    if (m.type === 'snapshot-ack') return this.#onSnapshotAck(m);
    if (m.type !== 'append-resp') return;
    const pr = this.#prs.get(m.from);
    if (pr === undefined) return;
    pr.active = true;
    this.#noteLearner(m.from, m.learner === true);
    this.#ackRound(m.round, m.from);
    if (m.reject) {
      // Back off to the hint and probe one append at a time until the logs match. Never below
      // what the follower acknowledged: a rejection that arrives late (or twice) is about an
      // older append, and the follower's acknowledged entries are durable.
      pr.state = 'probe';
      pr.inflight = 0;
      pr.probeSent = false;
      pr.next = Math.max(pr.match + 1, Math.min(pr.next - 1, m.index + 1));
      return this.#sendAppend(m.from, false);
    }
    if (m.index > pr.match) {
      pr.match = m.index;
      pr.state = 'replicate';
    }
    pr.next = Math.max(pr.next, m.index + 1);
    pr.inflight = Math.max(0, pr.inflight - 1);
    pr.probeSent = false;
    if (pr.state === 'replicate' && m.round > pr.entriesRound && pr.match < pr.next - 1) {
      // This answers a heartbeat sent after our last entries, and they are not there: lost on the
      // way (a dropped connection). Probe from what the follower has.
      pr.state = 'probe';
      pr.inflight = 0;
      pr.next = pr.match + 1;
    }
    if (this.#maybeCommit()) this.#broadcastAppend(false, true);
    else if (pr.next <= this.log.lastIndex()) this.#sendAppend(m.from, false);
  }

  /** A follower holds `received` bytes of the snapshot being sent: the next chunk goes from there. */
  #onSnapshotAck(m: Extract<Message<C, S>, { type: 'snapshot-ack' }>): void {
    const pr = this.#prs.get(m.from);
    if (pr === undefined) return;
    pr.active = true;
    if (this.#snapshot === null || m.index !== this.#snapshot.index || pr.snapshotIndex !== m.index || pr.next > this.log.offset) return;
    pr.snapshotSent = m.received;
    pr.probeSent = false;
    this.#sendSnapshotChunk(m.from, pr, false);
  }

  /** A follower answered heartbeat round `round`: renew the lease and confirm reads once a majority did. */
  #ackRound(round: number, from: NodeId): void {
    const acks = this.#roundAcks.get(round);
    if (acks === undefined || this.#learners.has(from)) return;
    acks.add(from);
    if (acks.size + 1 < this.#quorum()) return;
    // A majority heard from us at `sentMs`; none of them will vote for another leader within a
    // minimum election timeout of that, counted in its own ticks from when it heard. Shorten by
    // the offset between clocks, and by one tick: a follower's first tick after hearing may come
    // at once, so its election ticks span (electionTicks − 1) intervals at least.
    const sentMs = this.#roundSentMs.get(round) ?? -Infinity;
    this.#quorumContactMs = Math.max(this.#quorumContactMs, sentMs);
    this.#leaseUntilMs = Math.max(this.#leaseUntilMs, sentMs + (this.#c.electionTicks - 1) * this.#c.tickMs - this.#c.maxClockOffsetMs);
    for (const r of [...this.#roundAcks.keys()]) {
      if (r <= round) {
        this.#roundAcks.delete(r);
        this.#roundSentMs.delete(r);
      }
    }
    const ready = this.#pendingReads.filter((p) => p.round <= round);
    this.#pendingReads = this.#pendingReads.filter((p) => p.round > round);
    for (const p of ready) this.#reads.push({ ctx: p.ctx, index: p.index });
  }

  /** §5.3 and §5.4.2: commit the highest index a majority holds, if it is from this term. */
  #maybeCommit(): boolean {
    const matches = [this.log.stable, ...this.#peers().filter((p) => !this.#learners.has(p)).map((p) => this.#prs.get(p)?.match ?? 0)].sort((a, b) => b - a);
    const index = matches[this.#quorum() - 1];
    if (index === undefined || index <= this.log.committed || this.log.termAt(index) !== this.term) return false;
    this.log.commitTo(index);
    if (this.#waitingReads.length > 0) {
      const waiting = this.#waitingReads;
      this.#waitingReads = [];
      for (const ctx of waiting) this.#startRead(ctx);
    }
    return true;
  }

  /**
   * Appends to every follower: what each is missing. A heartbeat starts a new round (leases,
   * ReadIndex) and goes even when empty; `notify` also sends empty appends, to tell followers a
   * new commit index at once rather than at the next heartbeat.
   */
  #broadcastAppend(heartbeat: boolean, notify = false): void {
    if (heartbeat) {
      this.#round++;
      this.#roundSentMs.set(this.#round, this.#nowMs);
      this.#roundAcks.set(this.#round, new Set());
      // Keep a bounded number of unanswered rounds (an answer to a forgotten one is ignored).
      for (const r of this.#roundAcks.keys()) {
        if (r >= this.#round - limits.raftRoundsUnansweredMax) continue;
        this.#roundAcks.delete(r);
        this.#roundSentMs.delete(r);
      }
    }
    for (const p of this.#peers()) this.#sendAppend(p, heartbeat || notify);
  }

  /** Entries from `from` for one append: at most maxEntriesPerAppend, and maxAppendBytes (at least one). */
  #entriesFrom(from: LogIndex): Array<Entry<C>> {
    const entries = this.log.slice(from, this.#c.maxEntriesPerAppend);
    const size = this.#c.entryBytes;
    if (size === undefined) return entries;
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      bytes += size(entries[i] as Entry<unknown>);
      if (bytes > this.#c.maxAppendBytes && i > 0) return entries.slice(0, i);
    }
    return entries;
  }

  /**
   * The chunk of the current snapshot from what the follower acknowledged (`pr.snapshotSent`), one in
   * flight per follower: the next goes when it acknowledges this one; a heartbeat resends (a lost chunk).
   */
  #sendSnapshotChunk(to: NodeId, pr: Progress, resend: boolean): void {
    const snap = this.#snapshot as Snapshot<S>;
    const codec = this.#c.snapshotCodec as SnapshotCodec<unknown>;
    if (this.#encoded === null || this.#encoded.index !== snap.index) this.#encoded = { index: snap.index, bytes: codec.encode(snap.data) };
    if (pr.snapshotIndex !== snap.index) {
      pr.snapshotIndex = snap.index;
      pr.snapshotSent = 0;
    } else if (pr.probeSent && !resend) return;
    const offset = pr.snapshotSent;
    const bytes = this.#encoded.bytes;
    const end = Math.min(bytes.length, offset + this.#c.snapshotChunkBytes);
    this.#send({ type: 'snapshot-chunk', from: this.id, to, term: this.term, round: this.#round, index: snap.index, snapTerm: snap.term, voters: snap.voters, offset, total: bytes.length, data: bytes.subarray(offset, end) });
    pr.state = 'probe';
    pr.probeSent = true;
  }

  /** Sends the follower what it is missing: entries, a snapshot, or (sendIfEmpty) nothing new. */
  #sendAppend(to: NodeId, sendIfEmpty: boolean): void {
    const pr = this.#prs.get(to);
    if (pr === undefined) return;
    if (pr.next <= this.log.offset) {
      if (this.#snapshot === null) return;
      if (this.#c.snapshotCodec !== undefined) return this.#sendSnapshotChunk(to, pr, sendIfEmpty);
      this.#send({ type: 'snapshot', from: this.id, to, term: this.term, snapshot: this.#snapshot, round: this.#round });
      pr.next = this.#snapshot.index + 1;
      pr.state = 'probe';
      pr.probeSent = true;
      return;
    }
    const blocked = pr.state === 'probe' ? pr.probeSent : pr.inflight >= this.#c.maxInflightAppends;
    const entries = blocked ? [] : this.#entriesFrom(pr.next);
    if (entries.length === 0 && !sendIfEmpty) return;
    // A heartbeat points at what the follower is known to hold, so it is never refused for
    // entries still on their way (etcd's heartbeats carry no index at all).
    let prevIndex = entries.length > 0 ? pr.next - 1 : Math.min(pr.match, this.log.lastIndex());
    if (this.log.termAt(prevIndex) === undefined) prevIndex = this.log.offset;
    const prevTerm = this.log.termAt(prevIndex) as Term;
    const readmitAt = this.#learners.get(to);
    const readmit = readmitAt !== undefined && this.log.committed >= readmitAt && pr.match >= readmitAt ? { readmit: readmitAt } : {};
    this.#send({ type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed, round: this.#round, leaderMs: Math.max(0, this.freshAsOfMs() + this.#wallOffsetMs), ...readmit });
    if (entries.length > 0) {
      pr.entriesRound = this.#round;
      if (pr.state === 'replicate') {
        pr.next = (entries[entries.length - 1] as Entry<C>).index + 1; // pipelining: do not wait
        pr.inflight++;
      } else pr.probeSent = true;
    }
  }

  /** Hands leadership to the preferred node once it holds the whole log (thesis §3.10). */
  #maybeTransfer(): void {
    const target = this.#c.preferredLeader;
    if (target === undefined || target === this.id || !this.voters.includes(target) || this.#learners.has(target)) return;
    const pr = this.#prs.get(target);
    if (pr === undefined || pr.match !== this.log.lastIndex() || this.#nowMs - this.#transferSent < this.#c.electionTicks * this.#c.tickMs) return;
    // The target will be elected past everyone's lease: ours ends now, for good (#leaseHeld).
    this.#transferSent = this.#nowMs;
    this.#transferAttempted = true;
    this.#leaseUntilMs = -Infinity;
    this.#send({ type: 'timeout-now', from: this.id, to: target, term: this.term });
  }

  // ---- output ------------------------------------------------------------------------------

  hasReady(): boolean {
    return (
      this.#proposed ||
      this.#now.length + this.#after.length + this.#reads.length + this.#abandonedReads.length > 0 ||
      this.log.unstableFrom <= this.log.lastIndex() ||
      this.#receivedSnapshot !== null ||
      this.#hardStateChanged() ||
      Math.min(this.log.committed, this.log.stable) > this.log.applied
    );
  }

  #hardStateChanged(): boolean {
    const p = this.#persisted;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.committed || (p.learner === true) !== this.learner;
  }

  #hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed, ...(this.learner ? { learner: true } : {}) };
  }

  /**
   * As leader: a follower said whether it is a learner. A new learner gets an entry of this term
   * appended now; once that entry commits (without it) and it holds it, it is readmitted.
   */
  #noteLearner(from: NodeId, learner: boolean): void {
    if (!learner) {
      this.#learners.delete(from);
      return;
    }
    if (this.#learners.has(from)) return;
    // What it acknowledged before it lost its disk is gone: probe it from scratch.
    const pr = this.#prs.get(from);
    if (pr !== undefined) {
      pr.match = 0;
      pr.state = 'probe';
      pr.inflight = 0;
      pr.probeSent = false;
    }
    const index = this.log.lastIndex() + 1;
    this.log.append([{ term: this.term, index, data: null }]);
    this.#proposed = true;
    this.#learners.set(from, index);
  }

  /** As learner: the leader says our log holds an entry it committed without us (see `learner`). */
  #maybeReadmitted(m: Extract<Message<C, S>, { type: 'append' }>): void {
    if (!this.learner || m.readmit === undefined || this.log.committed < m.readmit || this.term !== m.term) return;
    this.learner = false;
    this.vote = m.from;
  }

  ready(): Ready<C, S> {
    if (this.#proposed) {
      this.#proposed = false;
      if (this.role === 'leader') this.#broadcastAppend(false);
    }
    const rd: Ready<C, S> = {
      hardState: this.#hardStateChanged() ? this.#hardState() : null,
      entries: this.log.takeUnstable(),
      snapshot: this.#receivedSnapshot,
      sendNow: this.#now,
      sendAfterPersist: this.#after,
      committed: this.log.takeCommitted(),
      reads: this.#reads,
      abandonedReads: this.#abandonedReads,
    };
    this.#abandonedReads = [];
    this.#now = [];
    this.#after = [];
    this.#reads = [];
    this.#receivedSnapshot = null;
    return rd;
  }

  /** The Ready was persisted: its entries are stable (a leader counts itself towards quorums now). */
  advance(rd: Ready<C, S>): void {
    if (rd.hardState !== null) this.#persisted = rd.hardState;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined && this.log.termAt(last.index) === last.term) this.log.stable = Math.max(this.log.stable, last.index);
    if (rd.snapshot !== null) this.log.stable = Math.max(this.log.stable, rd.snapshot.index);
    if (this.role === 'leader' && this.#maybeCommit()) this.#broadcastAppend(false, true);
  }

  status(): RaftStatus {
    return {
      id: this.id,
      term: this.term,
      role: this.role,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      leaseValid: this.#leaseHeld(),
      transferring: this.#transferring(),
    };
  }
}
