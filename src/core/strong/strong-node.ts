/**
 * One region's member of the strong group: the Raft node, its durable log, the state machine,
 * and the client requests waiting on them (writes.ts, reads.ts). Pure like the replica: the caller
 * hands it inputs with the time, then takes its output in the order Raft requires:
 *
 *   prepare()  the leader's appends of the first Ready: safe to send before the leader's own
 *              fsync, so followers write while it writes (thesis §10.2.1)
 *   flush()    persists (one storage transaction per Ready: entries, snapshot, term and vote),
 *              applies, and returns everything else: votes and acknowledgements only after they
 *              are durable, then the replies
 *
 * A caller that does not need the overlap calls flush() alone: its messages then include the
 * appends, first.
 */
import { nodeTime, type NodeTime } from '../clock/node-time.js';
import type { RegionId } from '../clock/version-vector.js';
import { Raft } from '../raft/raft.js';
import type { HardState, Ready } from '../raft/types.js';
import type { TablePolicy } from '../schema/policy.js';
import { limits } from '../limits.js';
import type { Storage } from '../storage/storage.js';
import { proposalFor } from './commands.js';
import type { StrongConfig, StrongStatus } from './config.js';
import { reply, type StrongContext, type StrongCounters } from './context.js';
import type { RaftMessage, StrongInput, StrongOutput, StrongPeerMessage, StrongRequest } from './messages.js';
import { RaftStore, type StrongSnapshot } from './raft-store.js';
import { StrongReads } from './reads.js';
import { StrongState, type StrongSnapshotData } from './state-machine.js';
import type { StrongCommand } from './types.js';
import { StrongWrites } from './writes.js';

export { strongDefaults, type StrongConfig, type StrongKnobs, type StrongStatus } from './config.js';

type StrongReady = Ready<StrongCommand, StrongSnapshotData>;
type Envelope = { readonly to: RegionId; readonly message: StrongPeerMessage };


export class StrongNode {
  readonly config: StrongConfig;
  readonly raft: Raft<StrongCommand, StrongSnapshotData>;
  readonly state: StrongState;
  readonly counters: StrongCounters = { proposals: 0, forwarded: 0, quorumTimeouts: 0, leaseReads: 0, readIndexReads: 0, followerReads: 0, snapshots: 0 };
  readonly #ctx: StrongContext;
  readonly #storage: Storage;
  readonly #store: RaftStore;
  readonly #writes: StrongWrites;
  readonly #reads: StrongReads;
  #written: HardState | null;
  #snapshotIndex: number;
  /** The Ready whose appends prepare() handed out; flush() persists it first. */
  #prepared: StrongReady | null = null;
  #tablesChanged = false;

  private constructor(config: StrongConfig, storage: Storage, time: NodeTime) {
    this.config = config;
    this.#storage = storage;
    this.#store = new RaftStore(storage);
    const disk = this.#store.load();
    this.#written = disk.hardState;
    this.state = new StrongState(config.tables, config.idempotencyRetentionMs, config.regions);
    if (disk.snapshot !== null) this.state.restore(disk.snapshot.data);
    this.#snapshotIndex = disk.snapshot?.index ?? 0;
    // This boot's name for the commands it forwards (drawn first: the seeded source's order).
    const origin = `${config.region}.${Math.floor(config.random() * 2 ** 40).toString(36)}`;
    const seq = Math.floor(config.random() * 2 ** 40);
    const ticks = (ms: number): number => Math.max(1, Math.round(ms / config.tickMs));
    const tooLong = config.knobs?.leaseTooLong === true;
    this.raft = new Raft<StrongCommand, StrongSnapshotData>(
      {
        id: config.region,
        voters: config.regions,
        electionTicks: ticks(config.electionMs),
        heartbeatTicks: ticks(config.heartbeatMs),
        tickMs: config.tickMs,
        maxClockOffsetMs: tooLong ? -4 * config.electionMs : config.maxClockOffsetMs,
        ...(tooLong ? { checkQuorum: false } : {}),
        random: config.random,
        ...(config.preferredLeader !== undefined ? { preferredLeader: config.preferredLeader } : {}),
        ...(config.raftWire ?? {}),
      },
      { hardState: disk.hardState, snapshot: disk.snapshot, entries: disk.entries },
    );
    this.#ctx = { config, raft: this.raft, state: this.state, counters: this.counters, monoMs: time.monoMs, wallMs: time.wallMs, replies: [], sendQueue: [] };
    this.raft.setWallOffset(time.wallMs - time.monoMs);
    this.#writes = new StrongWrites(this.#ctx, origin, seq);
    this.#reads = new StrongReads(this.#ctx);
  }

  /** Opens the node on its storage: the state machine is rebuilt from the snapshot and the committed log. */
  static open(config: StrongConfig, storage: Storage, time: number | NodeTime): StrongNode {
    const node = new StrongNode(config, storage, nodeTime(time));
    node.flush(); // apply what is committed on disk
    return node;
  }

  /** Every table's effective policy (configuration overridden by the log). */
  tables(): Readonly<Record<string, TablePolicy>> {
    return this.state.tables();
  }

  /** Writes and reads waiting for an answer. */
  get waiting(): number {
    return this.#writes.size;
  }

  /** Handles inputs at `time`; then call prepare (optionally) and flush. */
  handle(inputs: readonly StrongInput[], time: number | NodeTime): void {
    const t = nodeTime(time);
    const ctx = this.#ctx;
    ctx.monoMs = Math.max(ctx.monoMs, t.monoMs);
    ctx.wallMs = t.wallMs;
    this.raft.setWallOffset(t.wallMs - t.monoMs);
    for (const input of inputs) {
      if (input.kind === 'tick') this.#tick();
      else if (input.kind === 'peer') this.#onPeer(input.from, input.message);
      else this.#onRequest(input.id, input.request);
    }
  }

  #onRequest(id: number, req: StrongRequest): void {
    if (req.kind === 'read' || req.kind === 'scan') return this.#reads.onRead(id, req);
    const p = proposalFor(this.config, this.state, req, this.#ctx.wallMs);
    if ('code' in p) return reply(this.#ctx, id, { ok: false, error: p });
    this.#writes.submit(id, req, p.answer, p.command);
  }

  #onPeer(from: RegionId, msg: StrongPeerMessage): void {
    if (!this.config.regions.includes(from) || from === this.config.region) return;
    switch (msg.t) {
      case 'raft': {
        const m = msg.m;
        if (m.from !== from) return;
        if (m.type === 'append' && m.term >= this.raft.term) this.#reads.heardLeader(m.commit, m.leaderMs);
        this.raft.step(m);
        return;
      }
      case 'fwd':
        return this.#writes.onForward(from, msg.id, msg.command);
      case 'fwd-ack':
        return; // informational: the write is answered when it is applied here
      case 'fwd-refused':
        return this.#writes.onForwardRefused(msg.id);
      case 'fwd-read':
        return this.#reads.onForwardedRead(from, msg.id);
      case 'read-index':
        return this.#reads.onReadIndex(msg.id, msg.index);
    }
  }

  #tick(): void {
    this.raft.tick(this.#ctx.monoMs);
    this.#writes.tick();
    this.#reads.tick();
  }

  // ---- the Ready cycle -----------------------------------------------------------------------

  /** The leader's appends of the first Ready, to send before flush() persists it. */
  prepare(): Envelope[] {
    if (this.#prepared !== null || !this.raft.hasReady()) return [];
    this.#prepared = this.raft.ready();
    return this.#prepared.sendNow.map(raftEnvelope);
  }

  /** Persists and applies everything Raft has ready; returns the messages (in order) and replies. */
  flush(): StrongOutput {
    const messages: Envelope[] = [];
    // Readies handled in one flush at most (each applies what the previous made possible); the rest wait for the next flush.
    const readiesMax = this.config.readiesPerFlushMax ?? limits.strongReadiesPerFlushMax;
    for (let guard = 0; guard < readiesMax; guard++) {
      let rd = this.#prepared;
      this.#prepared = null;
      if (rd === null) {
        if (!this.raft.hasReady()) break;
        rd = this.raft.ready();
        for (const m of rd.sendNow) messages.push(raftEnvelope(m));
      }
      this.#persist(rd);
      this.raft.advance(rd);
      for (const m of rd.sendAfterPersist) messages.push(raftEnvelope(m));
      if (rd.snapshot !== null) this.#installed(rd.snapshot);
      for (const e of rd.committed) this.#applyEntry(e.index, e.term, e.data);
      for (const rs of rd.reads) this.#reads.readReady(rs.ctx, rs.index);
      for (const c of rd.abandonedReads) this.#reads.readReady(c, null);
      this.#reads.afterApply();
    }
    // Peer messages queued by request handling go out after the Raft ones of this turn.
    messages.push(...this.#ctx.sendQueue);
    this.#ctx.sendQueue = [];
    this.#reads.serveReady();
    this.#maybeSnapshot();
    const out: StrongOutput = { messages, replies: this.#ctx.replies, tablesChanged: this.#tablesChanged };
    this.#ctx.replies = [];
    this.#tablesChanged = false;
    return out;
  }

  #persist(rd: StrongReady): void {
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
    this.#tablesChanged = true;
    this.#writes.onSnapshotInstalled(snapshot.index);
  }

  #applyEntry(index: number, term: number, data: StrongCommand | null): void {
    const result = this.state.apply(index, data);
    if (data?.t === 'table' && result?.ok === true) {
      this.#tablesChanged = true;
      // Make the table durable before anyone writes to it (the async replica may at once).
      this.#storage.transaction(() => this.#store.saveHardState({ term: this.raft.term, vote: this.raft.vote, commit: index }));
      this.#written = { term: this.raft.term, vote: this.raft.vote, commit: index };
    }
    this.#writes.onApplied(index, term, data, result);
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
    return { term: s.term, role: s.role, learner: this.raft.learner, leader: s.leader, commitIndex: s.commit, appliedIndex: this.state.index, leaseEntries: this.state.leaseEntries, leaseValid: s.leaseValid, logEntries: this.#store.entryCount };
  }
}

function raftEnvelope(m: RaftMessage): Envelope {
  return { to: m.to, message: { t: 'raft', m } };
}
