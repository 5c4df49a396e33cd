/**
 * One region's member of the strong group: the Raft node, its durable log, the state machine, and
 * the client requests waiting on them. Pure like the replica: the shell (or the simulator) hands
 * it inputs with the time and drives `flush`, which persists through the Storage port and calls
 * `send` for messages, in the order Raft requires:
 *
 *   leader appends ─ sent at once, in parallel with the leader's own fsync (thesis §10.2.1)
 *   persist        ─ one storage transaction per Ready: entries, snapshot, term and vote
 *   everything else─ votes and acknowledgements only after they are durable
 *
 * A write reaching a follower is forwarded to the leader, which answers with the log position it
 * proposed it at; the follower answers its client when it has applied that position itself (the
 * state machine is deterministic, so it computes the same result the leader does). A strong read
 * reaching a follower asks the leader for a read index and is served once applied locally.
 */
import type { RegionId } from '../clock/version-vector.js';
import { badRequest, ternError, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import { Raft } from '../raft/raft.js';
import type { HardState, Ready } from '../raft/types.js';
import { validatePolicy, type TablePolicy } from '../schema/policy.js';
import type { Storage } from '../storage/storage.js';
import { hash64 } from '../util/hash.js';
import { canonicalJson, jsonProblem, utf8Length, type JsonValue } from '../util/json.js';
import type { RaftMessage, StrongInput, StrongOutput, StrongPeerMessage, StrongReply, StrongRequest } from './messages.js';
import { RaftStore, type StrongSnapshot } from './raft-store.js';
import { StrongState, strongRowView, type StrongSnapshotData } from './state-machine.js';
import { alterProblem } from './table-change.js';
import { parseTxnBody, strongTable } from './txn-body.js';
import type { ApplyResult, StrongCommand, Txn, TxnIdem } from './types.js';
import type { RowView } from '../model/row-view.js';
import { keyProblem, tableProblem } from '../model/validate.js';
import { parseWriteBody } from '../model/write-body.js';

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
  readonly leader: RegionId | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly leaseValid: boolean;
  readonly logEntries: number;
}

export const strongDefaults = {
  heartbeatMs: 100,
  electionMs: 1000,
  requestTimeoutMs: 5000,
  snapshotEveryEntries: 10_000,
} as const;

/**
 * A write waiting on the log. Proposed here (we lead): it waits on its (index, term), and an
 * entry of another term at that index means it was overwritten, certainly not committed.
 * Forwarded: the command carries (origin, seq) and waits to be applied under that name, wherever
 * it lands; the state machine applies each (origin, seq) at most once, however many copies of
 * the forward reach a leader.
 */
interface Waiter {
  readonly id: number;
  readonly request: StrongRequest;
  readonly deadlineMs: number;
  /** What the reply reports on success. */
  readonly answer: 'txn' | 'write' | 'table' | 'fence' | 'claim' | 'release';
  state: 'waiting' | 'proposed' | 'forwarded';
  /** Where its name was last sent (forwarded to that leader, or proposed here): re-routed when the leader changes. */
  routedTo: RegionId | null;
  /** Where the command sits in our log, when we proposed it. */
  index: number;
  term: number;
  /** Its name when forwarded (0 until first forwarded). */
  seq: number;
  /** True once the command may have reached a leader's log (a timeout must then say "may still commit"). */
  proposed: boolean;
  readonly command: StrongCommand;
}

interface ReadWaiter {
  readonly id: number;
  /** Its name when the read point is asked of the leader. */
  readonly seq: number;
  readonly request: Extract<StrongRequest, { kind: 'read' | 'scan' }>;
  readonly deadlineMs: number;
  /** The read point; null until known. */
  index: number | null;
  /** Asked of the leader (forwarded) or of our own Raft; 0 when not yet asked. */
  askedAtMs: number;
}

type ReadCtx = { readonly local: number } | { readonly from: RegionId; readonly id: number };

export class StrongNode {
  readonly config: StrongConfig;
  readonly raft: Raft<StrongCommand, StrongSnapshotData>;
  readonly state: StrongState;
  readonly #storage: Storage;
  readonly #store: RaftStore;
  #nowMs: number;
  #written: HardState | null;
  #snapshotIndex: number;
  readonly #writes = new Map<number, Waiter>();
  /** Log index → waiters on it. */
  readonly #byIndex = new Map<number, Set<Waiter>>();
  readonly #reads = new Map<number, ReadWaiter>();
  /** Forwarded writes and reads by their name (seq). */
  readonly #forwardedWrites = new Map<number, Waiter>();
  readonly #forwardedReads = new Map<number, ReadWaiter>();
  /**
   * This boot's name for the commands it forwards, and their sequence. Random per boot: a reply
   * or a command from before a restart can never be taken for one of this boot's.
   */
  readonly #origin: string;
  #seq: number;
  readonly #readCtx = new Map<number, ReadCtx>();
  #nextCtx = 1;
  /** (commit index, leader clock) pairs heard from the leader: how fresh the applied state is. */
  #freshness: Array<{ commit: number; leaderMs: number }> = [];
  #freshAsOfLeaderMs = -Infinity;
  #out: StrongOutput = { replies: [], tablesChanged: false };
  /** Counters for metrics. */
  readonly counters = { proposals: 0, forwarded: 0, quorumTimeouts: 0, leaseReads: 0, readIndexReads: 0, followerReads: 0, snapshots: 0 };

  private constructor(config: StrongConfig, storage: Storage, nowMs: number) {
    this.config = config;
    this.#storage = storage;
    this.#nowMs = nowMs;
    this.#store = new RaftStore(storage);
    const disk = this.#store.load();
    this.#written = disk.hardState;
    this.state = new StrongState(config.tables, config.idempotencyRetentionMs);
    if (disk.snapshot !== null) this.state.restore(disk.snapshot.data);
    this.#snapshotIndex = disk.snapshot?.index ?? 0;
    this.#origin = `${config.region}.${Math.floor(config.random() * 2 ** 40).toString(36)}`;
    this.#seq = Math.floor(config.random() * 2 ** 40);
    const ticks = (ms: number): number => Math.max(1, Math.round(ms / config.tickMs));
    this.raft = new Raft<StrongCommand, StrongSnapshotData>(
      {
        id: config.region,
        voters: config.regions,
        electionTicks: ticks(config.electionMs),
        heartbeatTicks: ticks(config.heartbeatMs),
        tickMs: config.tickMs,
        maxClockOffsetMs: config.knobs?.leaseTooLong === true ? -4 * config.electionMs : config.maxClockOffsetMs,
        ...(config.knobs?.leaseTooLong === true ? { checkQuorum: false } : {}),
        random: config.random,
        ...(config.preferredLeader !== undefined ? { preferredLeader: config.preferredLeader } : {}),
      },
      { hardState: disk.hardState, snapshot: disk.snapshot, entries: disk.entries },
    );
  }

  /** Opens the node on its storage: the state machine is rebuilt from the snapshot and the committed log. */
  static open(config: StrongConfig, storage: Storage, nowMs: number): StrongNode {
    const node = new StrongNode(config, storage, nowMs);
    node.flush(() => {}); // apply what is committed on disk
    node.#out = { replies: [], tablesChanged: false };
    return node;
  }

  /** Every table's effective policy (configuration overridden by the log). */
  tables(): Readonly<Record<string, TablePolicy>> {
    return this.state.tables();
  }

  /** Handles inputs at time nowMs; then call `flush`. */
  handle(inputs: readonly StrongInput[], nowMs: number): void {
    this.#nowMs = Math.max(this.#nowMs, nowMs);
    for (const input of inputs) {
      if (input.kind === 'tick') this.#tick();
      else if (input.kind === 'peer') this.#onPeer(input.from, input.message);
      else this.#onRequest(input.id, input.request);
    }
  }

  // ---- requests ----------------------------------------------------------------------------

  #reply(id: number, reply: StrongReply): void {
    this.#out.replies.push({ id, reply });
  }

  #refuse(id: number, error: TernError): void {
    this.#reply(id, { ok: false, error });
  }

  #onRequest(id: number, req: StrongRequest): void {
    switch (req.kind) {
      case 'txn': {
        const txn = parseTxnBody(req.body, this.state.tables());
        if (!txn.ok) return this.#refuse(id, txn.error);
        const idem = this.#idem(req.idempotencyKey, { method: 'TXN', body: req.body });
        if (!idem.ok) return this.#refuse(id, idem.error);
        return this.#submit(id, req, 'txn', { t: 'txn', txn: txn.value, idem: idem.value, wallMs: this.#nowMs });
      }
      case 'write':
      case 'delete': {
        const txn = this.#rowTxn(req);
        if ('code' in txn) return this.#refuse(id, txn);
        const body = req.kind === 'delete' ? { method: 'DELETE', table: req.table, key: req.key } : { method: req.method ?? 'PATCH', table: req.table, key: req.key, body: req.body };
        const idem = this.#idem(req.idempotencyKey, body);
        if (!idem.ok) return this.#refuse(id, idem.error);
        return this.#submit(id, req, 'write', { t: 'txn', txn, idem: idem.value, wallMs: this.#nowMs });
      }
      case 'read':
      case 'scan':
        return this.#onRead(id, req);
      case 'put-table': {
        const policy = validatePolicy(req.body, { regions: this.config.regions, mergeFunctions: this.config.mergeFunctions }, 'body');
        if (!policy.ok) return this.#refuse(id, policy.error);
        const unsupported = tableProblem(req.table, policy.value, this.config.mergeFunctions, this.config.regions);
        if (unsupported !== null) return this.#refuse(id, unsupported);
        const problem = alterProblem(req.table, this.state.policy(req.table), policy.value);
        if (problem !== null) return this.#refuse(id, problem);
        return this.#submit(id, req, 'table', { t: 'table', table: req.table, policy: policy.value, wallMs: this.#nowMs });
      }
      case 'fence':
        if (!this.config.regions.includes(req.region)) return this.#refuse(id, badRequest('region', `must be one of ${this.config.regions.join(', ')}`));
        if (!Number.isSafeInteger(req.epoch) || req.epoch < 1) return this.#refuse(id, badRequest('epoch', 'must be a positive integer'));
        return this.#submit(id, req, 'fence', { t: 'fence', region: req.region, epoch: req.epoch, wallMs: this.#nowMs });
      case 'claim': {
        const problem = jsonProblem(req.value);
        if (problem !== null) return this.#refuse(id, badRequest('value', problem));
        return this.#submit(id, req, 'claim', { t: 'claim', table: req.table, field: req.field, value: req.value as JsonValue, key: req.key, wallMs: this.#nowMs });
      }
      case 'release': {
        const problem = req.keep === null ? null : jsonProblem(req.keep);
        if (problem !== null) return this.#refuse(id, badRequest('keep', problem));
        if (!Number.isSafeInteger(req.upTo) || req.upTo < 0) return this.#refuse(id, badRequest('upTo', 'must be a log index'));
        return this.#submit(id, req, 'release', { t: 'release', table: req.table, field: req.field, key: req.key, keep: req.keep as JsonValue | null, upTo: req.upTo, wallMs: this.#nowMs });
      }
    }
  }

  #idem(key: string | undefined, canonical: unknown): { ok: true; value: TxnIdem | null } | { ok: false; error: TernError } {
    if (key === undefined || this.config.knobs?.ignoreIdempotencyKeys === true) return { ok: true, value: null };
    if (key === '' || key.length > limits.idempotencyKeyCharsMax) return { ok: false, error: badRequest('Idempotency-Key', `must have 1 to ${limits.idempotencyKeyCharsMax} characters`) };
    return { ok: true, value: { key, digest: hash64(canonicalJson(canonical)) } };
  }

  /** A single-row PATCH/PUT/DELETE on a strong table is a one-op transaction. */
  #rowTxn(req: Extract<StrongRequest, { kind: 'write' | 'delete' }>): Txn | TernError {
    const policy = strongTable(this.state.tables(), req.table, 'table');
    if (!policy.ok) return policy.error;
    const kp = keyProblem(req.key);
    if (kp !== null) return kp;
    if (req.kind === 'delete') return { compare: [], success: [{ kind: 'delete', table: req.table, key: req.key }], failure: [] };
    const changes = parseWriteBody(req.body, req.method ?? 'PATCH', policy.value);
    if (!changes.ok) return changes.error;
    return { compare: [], success: [{ kind: 'write', table: req.table, key: req.key, changes: changes.value }], failure: [] };
  }

  #submit(id: number, request: StrongRequest, answer: Waiter['answer'], command: StrongCommand): void {
    const w: Waiter = { id, request, deadlineMs: this.#nowMs + this.config.requestTimeoutMs, answer, state: 'waiting', routedTo: null, index: 0, term: 0, seq: 0, proposed: false, command };
    this.#writes.set(id, w);
    this.#route(w);
  }

  /** Proposes at the leader, forwards from a follower, or waits for a leader (retried each tick). */
  #route(w: Waiter): void {
    // Once forwarded, a command may sit in some leader's log under its name: it is never proposed
    // again under another (only forwarded again under the same one), or it could run twice.
    if (this.raft.role === 'leader' && w.seq === 0) {
      const r = this.raft.propose(w.command);
      if (!r.ok) return; // transferring leadership: retried on the next tick
      this.counters.proposals++;
      w.state = 'proposed';
      w.proposed = true;
      w.index = r.index;
      w.term = r.term;
      let set = this.#byIndex.get(r.index);
      if (set === undefined) this.#byIndex.set(r.index, (set = new Set()));
      set.add(w);
      return;
    }
    if (this.raft.role === 'leader') {
      // Forwarded before this node led: propose it here under its name. Copies already sent to
      // a former leader may commit too; the state machine applies the name once.
      const r = this.raft.propose({ ...w.command, from: { origin: this.#origin, seq: w.seq } });
      if (!r.ok) return;
      this.counters.proposals++;
      w.state = 'forwarded';
      w.routedTo = this.config.region;
      return;
    }
    const leader = this.raft.leader;
    if (leader === null) return;
    if (w.seq === 0) {
      w.seq = ++this.#seq;
      this.#forwardedWrites.set(w.seq, w);
    }
    this.counters.forwarded++;
    w.state = 'forwarded';
    w.routedTo = leader;
    w.proposed = true; // the leader may propose it even if its answer is lost
    this.#sendPeer(leader, { t: 'fwd', id: w.seq, command: { ...w.command, from: { origin: this.#origin, seq: w.seq } } });
  }

  #settle(w: Waiter, reply: StrongReply): void {
    this.#writes.delete(w.id);
    this.#forwardedWrites.delete(w.seq);
    const set = this.#byIndex.get(w.index);
    set?.delete(w);
    if (set?.size === 0) this.#byIndex.delete(w.index);
    this.#reply(w.id, reply);
  }

  #timeoutError(w: { proposed: boolean }, what: string): TernError {
    this.counters.quorumTimeouts++;
    const leader = this.raft.leader;
    const where = leader === null ? 'no leader is known' : `the leader is ${leader}`;
    if (what === 'read') {
      return ternError('QUORUM_TIMEOUT', `this strong read could not be confirmed by a quorum within ${this.config.requestTimeoutMs} ms (${where}); retry, or read with consistency=bounded`, {
        mayHaveCommitted: false,
        ...(leader !== null ? { leader } : {}),
      });
    }
    return w.proposed
      ? ternError('QUORUM_TIMEOUT', `${what} did not reach a quorum within ${this.config.requestTimeoutMs} ms (${where}); it may still commit: retry with the same Idempotency-Key to learn the outcome safely`, {
          mayHaveCommitted: true,
          ...(leader !== null ? { leader } : {}),
        })
      : ternError('QUORUM_TIMEOUT', `${what} could not reach the strong group's leader within ${this.config.requestTimeoutMs} ms (${where}); it was not committed: retrying is safe`, {
          mayHaveCommitted: false,
          ...(leader !== null ? { leader } : {}),
        });
  }

  // ---- reads -------------------------------------------------------------------------------

  #onRead(id: number, req: Extract<StrongRequest, { kind: 'read' | 'scan' }>): void {
    const t = strongTable(this.state.tables(), req.table, 'table');
    if (!t.ok) return this.#refuse(id, t.error);
    if (req.kind === 'read') {
      const kp = keyProblem(req.key);
      if (kp !== null) return this.#refuse(id, kp);
    } else {
      const p = this.#scanProblem(req);
      if (p !== null) return this.#refuse(id, p);
    }
    const consistency = req.consistency ?? 'strong';
    if (!['strong', 'session', 'causal', 'bounded', 'eventual'].includes(consistency)) return this.#refuse(id, badRequest('consistency', 'must be one of strong, session, causal, bounded, eventual'));
    if (consistency === 'bounded') {
      const b = req.maxStalenessMs;
      if (typeof b !== 'number' || !Number.isSafeInteger(b) || b < 0) return this.#refuse(id, badRequest('maxStalenessMs', 'bounded reads need a non-negative integer maxStalenessMs'));
      if (this.config.knobs?.boundedReadsUnchecked !== true) {
        // At the leader its own clock says how fresh it is (a deposed leader that does not know it
        // yet vouches only for its last quorum contact); a follower adds the clock offset.
        // A leader whose commit index ran ahead of its applied state in this very turn (its
        // first entry just committed, say) answers from the state it has applied: as fresh as
        // the last time the two met, which may have been measured by a former leader's clock.
        const own = this.raft.role === 'leader' && this.state.index >= this.raft.log.committed;
        const staleness = own ? this.#nowMs - this.raft.freshAsOfMs() : this.#nowMs - this.#freshAsOfLeaderMs + this.config.maxClockOffsetMs;
        if (!(staleness <= b)) {
          const known = Number.isFinite(staleness) ? `${Math.round(staleness)} ms` : 'unknown';
          return this.#refuse(id, ternError('STALE', `region ${this.config.region} may be missing strong writes (staleness ${known} > ${b} ms); retry, or read with consistency=strong`));
        }
      }
      this.counters.followerReads++;
      return this.#serve(id, req);
    }
    if (consistency === 'eventual' || (consistency === 'strong' && this.config.knobs?.strongReadsFromLocalState === true)) return this.#serve(id, req);
    const session = req.session ?? 0;
    const r: ReadWaiter = {
      id,
      seq: ++this.#seq,
      request: req,
      deadlineMs: this.#nowMs + (consistency === 'strong' ? this.config.requestTimeoutMs : this.config.sessionWaitMs),
      index: consistency === 'strong' ? null : this.config.knobs?.sessionReadsUnchecked === true ? 0 : session,
      askedAtMs: 0,
    };
    this.#reads.set(id, r);
    if (consistency === 'strong') this.#askReadIndex(r);
    else this.counters.followerReads++;
    this.#serveReady();
  }

  #scanProblem(req: Extract<StrongRequest, { kind: 'scan' }>): TernError | null {
    const limit = req.limit ?? 100;
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > limits.scanRowsMax) return badRequest('limit', `must be an integer from 1 to ${limits.scanRowsMax}`);
    for (const [name, v] of [['prefix', req.prefix], ['after', req.after]] as const) {
      if (v !== undefined && (typeof v !== 'string' || utf8Length(v) > limits.keyBytesMax)) return badRequest(name, 'must be a key-sized string');
    }
    return null;
  }

  #askReadIndex(r: ReadWaiter): void {
    r.askedAtMs = this.#nowMs;
    if (this.raft.role === 'leader') {
      const ctx = this.#nextCtx++;
      this.#readCtx.set(ctx, { local: r.id });
      if (this.raft.status().leaseValid) this.counters.leaseReads++;
      else this.counters.readIndexReads++;
      this.raft.readIndex(ctx, this.#nowMs);
      return;
    }
    const leader = this.raft.leader;
    if (leader !== null && leader !== this.config.region) {
      this.counters.readIndexReads++;
      this.#forwardedReads.set(r.seq, r);
      this.#sendPeer(leader, { t: 'fwd-read', id: r.seq });
    } else r.askedAtMs = 0; // ask again once a leader is known
  }

  #serve(id: number, req: Extract<StrongRequest, { kind: 'read' | 'scan' }>): void {
    const index = Math.max(this.state.index, req.session ?? 0);
    if (req.kind === 'read') return this.#reply(id, { ok: true, kind: 'read', row: strongRowView(req.key, this.state.get(req.table, req.key)), index });
    const limit = (req.limit as number | undefined) ?? 100;
    const page = this.state.scan(req.table, { limit: limit + 1, ...(req.prefix !== undefined ? { prefix: req.prefix } : {}), ...(req.after !== undefined ? { after: req.after } : {}) });
    const rows: RowView[] = page.slice(0, limit).map(([k, row]) => strongRowView(k, row) as RowView);
    const next = page.length > limit ? (rows[rows.length - 1] as RowView).key : null;
    this.#reply(id, { ok: true, kind: 'scan', rows, next, index });
  }

  /** Serves reads whose point is applied; refuses those past their deadline. */
  #serveReady(): void {
    for (const r of this.#reads.values()) {
      if (r.index !== null && this.state.index >= r.index) {
        this.#reads.delete(r.id);
        this.#forwardedReads.delete(r.seq);
        this.#serve(r.id, r.request);
      }
    }
  }

  // ---- peers -------------------------------------------------------------------------------

  #sendQueue: Array<{ to: RegionId; message: StrongPeerMessage }> = [];

  #sendPeer(to: RegionId, message: StrongPeerMessage): void {
    this.#sendQueue.push({ to, message });
  }

  #onPeer(from: RegionId, msg: StrongPeerMessage): void {
    if (!this.config.regions.includes(from) || from === this.config.region) return;
    switch (msg.t) {
      case 'raft': {
        const m = msg.m;
        if (m.from !== from) return;
        if (m.type === 'append' && m.term >= this.raft.term) this.#heardLeader(m.commit, m.leaderMs);
        this.raft.step(m);
        return;
      }
      case 'fwd': {
        if (this.raft.role !== 'leader') return this.#sendPeer(from, { t: 'fwd-refused', id: msg.id, leader: this.raft.leader });
        const r = this.raft.propose(msg.command);
        if (!r.ok) return this.#sendPeer(from, { t: 'fwd-refused', id: msg.id, leader: null });
        this.counters.proposals++;
        return this.#sendPeer(from, { t: 'fwd-ack', id: msg.id, index: r.index, term: r.term });
      }
      case 'fwd-ack':
        return; // informational: the write is answered when it is applied here
      case 'fwd-refused': {
        const w = this.#forwardedWrites.get(msg.id);
        // This copy was not proposed (others may have been): forward it again, under the same name, on the next tick.
        if (w !== undefined) w.state = 'waiting';
        return;
      }
      case 'fwd-read': {
        if (this.raft.role !== 'leader') return this.#sendPeer(from, { t: 'read-index', id: msg.id, index: null, leader: this.raft.leader });
        const ctx = this.#nextCtx++;
        this.#readCtx.set(ctx, { from, id: msg.id });
        this.raft.readIndex(ctx, this.#nowMs);
        return;
      }
      case 'read-index': {
        const r = this.#forwardedReads.get(msg.id);
        if (r === undefined || r.index !== null) return;
        if (msg.index === null) r.askedAtMs = 0; // ask again
        else r.index = msg.index;
        return;
      }
    }
  }

  /** A follower learns from the leader's appends how fresh its state will be once it applies `commit`. */
  #heardLeader(commit: number, leaderMs: number): void {
    this.#freshness.push({ commit, leaderMs });
    if (this.#freshness.length > 256) this.#freshness.shift();
    this.#advanceFreshness();
  }

  #advanceFreshness(): void {
    while (this.#freshness.length > 0 && (this.#freshness[0] as { commit: number }).commit <= this.state.index) {
      const f = this.#freshness.shift() as { leaderMs: number };
      this.#freshAsOfLeaderMs = Math.max(this.#freshAsOfLeaderMs, f.leaderMs);
    }
  }

  // ---- time --------------------------------------------------------------------------------

  #tick(): void {
    this.raft.tick(this.#nowMs);
    for (const w of [...this.#writes.values()]) {
      if (this.#nowMs >= w.deadlineMs) {
        this.#settle(w, { ok: false, error: this.#timeoutError(w, `this ${w.answer === 'txn' || w.answer === 'write' ? 'write' : w.answer + ' change'}`) });
      } else if (w.state === 'waiting' || (w.state === 'forwarded' && this.raft.leader !== null && this.raft.leader !== w.routedTo)) {
        // Waiting for a leader, refused by a former one, or sent to a leader that is no longer:
        // send its name on to the current one (or propose it here).
        this.#route(w);
      }
    }
    for (const r of [...this.#reads.values()]) {
      if (this.#nowMs >= r.deadlineMs) {
        this.#reads.delete(r.id);
        this.#forwardedReads.delete(r.seq);
        const strong = (r.request.consistency ?? 'strong') === 'strong';
        this.#refuse(
          r.id,
          strong
            ? this.#timeoutError({ proposed: false }, 'read')
            : ternError('SESSION_UNAVAILABLE', `region ${this.config.region} has not yet applied what the session token requires; retry, or read with consistency=strong`),
        );
      } else if (r.index === null && (r.askedAtMs === 0 || this.#nowMs - r.askedAtMs >= this.config.electionMs)) {
        this.#askReadIndex(r); // never asked, or the answer was lost: ask again
      }
    }
  }

  // ---- the Ready cycle -----------------------------------------------------------------------

  /**
   * Persists and applies everything Raft has ready, sending through `send` in the order Raft
   * requires, and returns the replies. Call after `handle`, in the same turn.
   */
  flush(send: (to: RegionId, message: StrongPeerMessage) => void): StrongOutput {
    const sendRaft = (m: RaftMessage): void => send(m.to, { t: 'raft', m });
    for (let guard = 0; guard < 1000 && this.raft.hasReady(); guard++) {
      const rd = this.raft.ready();
      for (const m of rd.sendNow) sendRaft(m);
      this.#persist(rd);
      this.raft.advance(rd);
      for (const m of rd.sendAfterPersist) sendRaft(m);
      if (rd.snapshot !== null) this.#installed(rd.snapshot);
      for (const e of rd.committed) this.#applyEntry(e.index, e.term, e.data);
      for (const rs of rd.reads) this.#readReady(rs.ctx, rs.index);
      for (const ctx of rd.abandonedReads) this.#readReady(ctx, null);
      this.#afterApply();
    }
    // Peer messages queued by request handling go out after the Raft ones of this turn.
    for (const { to, message } of this.#sendQueue) send(to, message);
    this.#sendQueue = [];
    this.#serveReady();
    this.#maybeSnapshot();
    const out = this.#out;
    this.#out = { replies: [], tablesChanged: false };
    return out;
  }

  #persist(rd: Ready<StrongCommand, StrongSnapshotData>): void {
    const hs = rd.hardState;
    // The commit index alone need not be durable (a restarted node learns it again): a Ready that
    // only moves it costs no fsync.
    const hardChanged = hs !== null && (this.#written === null || hs.term !== this.#written.term || hs.vote !== this.#written.vote);
    if (rd.entries.length === 0 && rd.snapshot === null && !hardChanged) return;
    this.#storage.transaction(() => {
      if (rd.snapshot !== null) this.#store.installSnapshot(rd.snapshot as StrongSnapshot);
      this.#store.appendEntries(rd.entries);
      if (hs !== null) {
        this.#store.saveHardState(hs);
        this.#written = hs;
      }
    });
  }

  #installed(snapshot: StrongSnapshot): void {
    this.state.restore(snapshot.data);
    this.#snapshotIndex = snapshot.index;
    this.#out.tablesChanged = true;
    // Waiters inside the snapshot cannot learn their entry's fate here.
    for (const [index, set] of [...this.#byIndex]) {
      if (index > snapshot.index) continue;
      for (const w of set) this.#settle(w, { ok: false, error: this.#timeoutError(w, 'this write') });
    }
    // Forwarded writes inside the snapshot were either applied there or not: we cannot tell.
    for (const w of [...this.#forwardedWrites.values()]) {
      if (w.state !== 'waiting') this.#settle(w, { ok: false, error: this.#timeoutError(w, 'this write') });
    }
  }

  #applyEntry(index: number, term: number, data: StrongCommand | null): void {
    const result = this.state.apply(index, data);
    if (data?.t === 'table' && result?.ok === true) {
      this.#out.tablesChanged = true;
      // Make the table durable before anyone writes to it (the async replica may at once).
      this.#storage.transaction(() => this.#store.saveHardState({ term: this.raft.term, vote: this.raft.vote, commit: index }));
      this.#written = { term: this.raft.term, vote: this.raft.vote, commit: index };
    }
    const from = data?.from;
    if (from !== undefined && from.origin === this.#origin && result !== null) {
      const w = this.#forwardedWrites.get(from.seq);
      if (w !== undefined) this.#settle(w, this.#answer(w, result, index));
    }
    const waiters = this.#byIndex.get(index);
    if (waiters === undefined) return;
    for (const w of [...waiters]) {
      if (w.term !== term || result === null) {
        // Another leader's entry took the position of our proposal: it was never committed,
        // and no copy of it exists (we proposed it once, here).
        this.#settle(w, {
          ok: false,
          error: ternError('QUORUM_TIMEOUT', 'leadership changed before this write committed; it was not applied: retrying is safe', { mayHaveCommitted: false }),
        });
      } else this.#settle(w, this.#answer(w, result, index));
    }
  }

  #answer(w: Waiter, result: ApplyResult, index: number): StrongReply {
    if (!result.ok) return result;
    switch (result.kind) {
      case 'txn':
        if (w.answer === 'write') return { ok: true, kind: 'write', row: result.outcome.results[0] ?? null, replayed: result.replayed, index };
        return { ok: true, kind: 'txn', outcome: result.outcome, replayed: result.replayed, index };
      case 'table':
        return { ok: true, kind: 'table', table: result.table, policy: result.policy, index };
      case 'fence':
        return { ok: true, kind: 'fence', region: result.region, epoch: result.epoch, index };
      case 'claim':
        return { ok: true, kind: 'claim', granted: result.granted, holder: result.holder, index };
      case 'release':
        return { ok: true, kind: 'release', released: result.released, index };
    }
  }

  #readReady(ctx: number, index: number | null): void {
    const c = this.#readCtx.get(ctx);
    if (c === undefined) return;
    this.#readCtx.delete(ctx);
    if ('local' in c) {
      const r = this.#reads.get(c.local);
      if (r === undefined) return;
      if (index === null) r.askedAtMs = 0;
      else r.index = index;
    } else this.#sendPeer(c.from, { t: 'read-index', id: c.id, index, leader: index === null ? null : this.config.region });
  }

  #afterApply(): void {
    this.#advanceFreshness();
    if (this.raft.role === 'leader' && this.state.index >= this.raft.log.committed) this.#freshAsOfLeaderMs = Math.max(this.#freshAsOfLeaderMs, this.raft.freshAsOfMs());
  }

  #maybeSnapshot(): void {
    const applied = this.state.index;
    if (applied - this.#snapshotIndex < this.config.snapshotEveryEntries) return;
    const term = this.raft.log.termAt(applied);
    if (term === undefined) return;
    const snapshot: StrongSnapshot = { index: applied, term, voters: this.config.regions, data: this.state.snapshot() };
    // Keep one interval of entries below the snapshot for followers a little behind.
    const through = this.#snapshotIndex;
    this.#storage.transaction(() => this.#store.saveSnapshot(snapshot, through));
    this.raft.compact(snapshot, Math.max(through, this.raft.log.offset));
    this.#snapshotIndex = applied;
    this.counters.snapshots++;
  }

  status(): StrongStatus {
    const s = this.raft.status();
    return { term: s.term, role: s.role, leader: s.leader, commitIndex: s.commit, appliedIndex: this.state.index, leaseValid: s.leaseValid, logEntries: this.#store.entryCount };
  }
}
