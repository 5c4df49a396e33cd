/**
 * One region's core (docs/internals/failover.md): the async replica, the strong group's member,
 * the unique-claims gate, the write leases, the clock guard and the stage, behind one step.
 *
 *   const core = RegionCore.open(config, storage, time);
 *   const out = core.step(inputs, time);     // messages, replies and events, all durable
 *
 * or, to let the leader's appends leave before its own fsync (thesis §10.2.1):
 *
 *   send(core.begin(inputs, time));          // the strong group's appends: safe before the commit
 *   const out = core.commit();               // persists, applies, steps the replica
 *
 * Pure like the engines it composes: time enters as the two readings of a NodeTime, randomness
 * through the strong group's injected source, IO through the Storage port.
 */
import { nodeTime, type NodeTime } from '../clock/node-time.js';
import { dominates, get, type RegionId, type VersionVector } from '../clock/version-vector.js';
import { badRequest, ternError, type TernError } from '../errors.js';
import { assert } from '../util/assert.js';
import { majorityOf } from '../util/majority.js';
import type { Op } from '../model/op.js';
import type { ClientReply, ClientRequest, Input as ReplicaInput } from '../replica/messages.js';
import { Replica, type ReplicaStatus } from '../replica/replica.js';
import type { ReplicaMetrics } from '../replica/metrics.js';
import type { TablePolicy } from '../schema/policy.js';
import type { Storage } from '../storage/storage.js';
import type { StrongStatus } from '../strong/config.js';
import type { StrongCounters } from '../strong/context.js';
import type { LeaseCommandBody, LeaseSlot } from '../strong/lease-table.js';
import type { StrongInput, StrongReply, StrongRequest } from '../strong/messages.js';
import { StrongNode } from '../strong/strong-node.js';
import { admissionProblem, type Elsewhere } from './admission.js';
import { ClockGuard, type PeerOffset } from './clock-guard.js';
import type { RegionCoreConfig } from './config.js';
import { drainProblem, drainTooSoon, type DrainScope } from '../strong/drain-rules.js';
import { LeaseAgent, type Holding } from './lease-agent.js';
import type { AdminReply, AdminRequest, CallAnswer, ControlMessage, Envelope, NodeEvent, NodeMessage, PeerInfo, RegionInput, RegionOutput, RegionReply, RegionRequest } from './messages.js';
import type { ClientCall } from './client-call.js';
import { routeCall, type Routed } from './front-door.js';
import { authOff, authorize, rightsOf } from './authorize.js';
import { NodeClock } from './node-clock.js';
import { PeerBook, type PeerView } from './peer-book.js';
import { computeStage, type StageView } from './stage.js';
import { UniqueGate } from './unique-gate.js';
import { TableWait } from './table-wait.js';
import { EvictionAgent, membershipView } from './eviction-agent.js';
import type { Eviction, MembershipCommandBody } from '../strong/membership.js';
import { RegionWriteGuard } from './write-guard.js';

/** What a membership command this region made says, for the log. */
function membershipMessage(c: MembershipCommandBody): string {
  switch (c.t) {
    case 'evict':
      return `proposed evicting ${c.region} from stability: ${c.why === 'log-bytes' ? "it holds up more than retention.logBytesMax of this region's logs" : 'unheard for longer than retention.logMs'}`;
    case 'evict-ack':
      return `acknowledged the eviction of ${c.region}: holds its ops through ${c.through}`;
    case 'readmit':
      return 'asked to be readmitted to stability (it will rejoin from a snapshot of a member)';
    case 'readmit-ack':
      return c.by === c.region ? 'installed a snapshot of a member for its readmission: a member again once it holds what the members made stable' : `acknowledged the readmission of ${c.region}`;
  }
}

export interface LeaseView {
  /** The region whose rows the slot covers. */
  readonly region: RegionId;
  readonly holder: RegionId | null;
  readonly epoch: number;
  /** The holder's stamp when it asked, plus the lease (the holder itself stops maxClockOffsetMs earlier, by its monotonic clock). */
  readonly expiresAtMs: number | null;
  readonly drained: boolean;
  readonly handback: boolean;
  /** This region holds the slot now (and for how much longer, by its own clock). */
  readonly heldHere: boolean;
  readonly heldForMs: number | null;
}

export interface RegionCoreStatus {
  readonly region: RegionId;
  readonly stage: StageView;
  readonly replica: ReplicaStatus;
  readonly raft: StrongStatus;
  readonly strongCounters: StrongCounters;
  readonly leases: readonly LeaseView[];
  readonly clock: { readonly trusted: boolean; readonly measured: boolean; readonly offsets: Readonly<Record<RegionId, PeerOffset | null>> };
  readonly peers: readonly PeerView[];
  /** Regions evicted from causal stability through the strong log (pending: `through` null), src/core/strong/membership.ts. */
  readonly evictions: readonly Eviction[];
}

type Callback<R> = (reply: R) => void;

export class RegionCore {
  readonly config: RegionCoreConfig;
  readonly region: RegionId;
  readonly strong: StrongNode;
  readonly replica: Replica;
  readonly #regions: readonly RegionId[];
  readonly #clock: NodeClock;
  readonly #guard: ClockGuard;
  readonly #leases: LeaseAgent;
  readonly #peers: PeerBook;
  readonly #gate: UniqueGate;
  #trusted = false;
  /** The shell found the disk full (setStorageFull): fenced (storage) until it says otherwise. */
  #storageFull = false;
  #stage: StageView = { stage: 'catching-up', reason: 'starting', lagMs: null };
  #strongInbox: StrongInput[] = [];
  #replicaInbox: ReplicaInput[] = [];
  /** Requests the core itself made of either engine (negative ids), with what to do with the answer. */
  readonly #internalStrong = new Map<number, Callback<StrongReply>>();
  readonly #internalAsync = new Map<number, Callback<ClientReply>>();
  #nextInternalId = -1;
  /** This turn's output, filled as it goes. */
  #messages: Envelope[] = [];
  #replies: Array<{ id: number; reply: RegionReply }> = [];
  #answers: CallAnswer[] = [];
  /** Client calls handed to an engine, by id: how to turn the engine's reply into the call's. */
  readonly #calls = new Map<number, { readonly call: ClientCall; readonly finish: Routed['finish'] }>();
  #events: NodeEvent[] = [];
  #began = false;
  /** When each peer's replica last told its vector (a sync), by our monotonic clock. */
  readonly #syncedAtMs = new Map<RegionId, number>();
  /** This region could not reach a majority (it was the one away). */
  #away = false;
  /** Since when it reaches a majority again after being away, until it has heard a majority's vectors since (null: not rejoining). */
  #rejoiningSinceMs: number | null = null;
  /** The guarded writes answered in the last commit: reply id → when the lease they were written under runs out (monotonic). */
  readonly #leaseBound = new Map<number, number>();
  #lastSlots = new Map<RegionId, { holder: RegionId | null; epoch: number; drained: boolean; handback: boolean }>();
  /** Requests for a table not here yet, from sessions that saw a later strong log (table-wait.ts). */
  readonly #tableWait: TableWait<ClientRequest>;
  readonly #evictions: EvictionAgent;
  /** The membership version the replica was last told (Membership.version). */
  #membershipSeen = -1;
  /** When this core opened, by the replica's clock: a peer is not judged gone for longer than this core has run. */
  readonly #openedAtMs: number;
  private constructor(config: RegionCoreConfig, storage: Storage, t: NodeTime) {
    this.config = config;
    this.region = config.region;
    this.#regions = config.replica.regions;
    this.#clock = new NodeClock(t);
    const f = config.failover;
    const offset = config.replica.maxClockOffsetMs;
    this.#guard = new ClockGuard(this.region, this.#regions, offset, f.clockProbeMs, config.knobs?.noClockGuard === true);
    this.#peers = new PeerBook(this.region, this.#regions, f.reachableWithinMs);
    // The strong log first: it says which tables exist (the configuration's, changed by the log).
    this.strong = StrongNode.open(config.strong, storage, this.#clock.strongTime());
    const boot = `${this.region}.${Math.floor(config.strong.random() * 2 ** 40).toString(36)}`;
    this.#leases = new LeaseAgent(this.region, this.#regions, f, offset, boot, t.monoMs, config.knobs?.ignoreLeaseTime === true);
    const guard = new RegionWriteGuard({
      self: this.region,
      regions: this.#regions,
      table: () => this.strong.state.leases,
      strongIndex: () => this.strong.state.index,
      holds: (slot, s) => this.#holds(slot, s),
      fencedReason: () => (this.#stage.stage === 'fenced' && this.#stage.reason !== null ? this.#stage.reason : 'lease'),
      ableRegions: (slot, policy) => this.#ableRegions(slot, policy),
      expectedTaker: (slot, policy) => this.#expectedTaker(slot, policy),
      fenceByLatestEpoch: config.knobs?.fenceByLatestEpoch === true,
    });
    this.replica = Replica.open({ ...config.replica, tables: this.strong.tables() }, storage, this.#clock.replicaMs(false), { guard });
    this.#gate = new UniqueGate({
      tables: () => this.strong.tables(),
      strongIndex: () => this.strong.state.index,
      freshAsOfMs: () => this.replica.freshAsOfMs(),
      row: (table, key) => this.replica.peekRow(table, key),
      askStrong: (request, done) => this.#askStrong(request, done),
      write: (request, done) => this.#askAsync(request, done),
      warn: (message, details) => this.#events.push({ kind: 'warn', message, details }),
      maxClockOffsetMs: offset,
      claimValidityMs: config.strong.requestTimeoutMs,
    });
    this.#leases.observe(this.strong.state.leases, t.monoMs);
    this.#tableWait = new TableWait(config.replica.sessionWaitMs);
    this.#evictions = new EvictionAgent(this.region, this.#regions, { ms: config.replica.logRetentionMs, bytesMax: config.replica.logRetentionBytesMax });
    this.#openedAtMs = this.#clock.replicaMs(false);
    this.#syncMembership();
  }

  /**
   * Tells the replica the strong log's evictions when they changed. The replica refuses a view
   * while the strong state is behind the one it took before a restart (#membershipBehind): it keeps
   * its freezes until the log is re-applied that far, and the view is offered again at every turn.
   */
  #syncMembership(): void {
    const m = this.strong.state.membership;
    if (m.version === this.#membershipSeen) return;
    if (this.replica.setMembership(membershipView(m), this.strong.state.index)) this.#membershipSeen = m.version;
  }

  /**
   * The strong state machine is behind the membership this region's replica had taken: after a
   * restart it is rebuilt from the last Raft snapshot, and re-applies the log only as it learns the
   * commit index again (the commit index is not durable). Until then what it says of evictions
   * (this region's own included) is out of date: an eviction or a readmission may be missing.
   */
  #membershipBehind(): boolean {
    return this.strong.state.index < this.replica.membershipIndex;
  }

  static open(config: RegionCoreConfig, storage: Storage, time: number | NodeTime): RegionCore {
    return new RegionCore(config, storage, nodeTime(time));
  }

  /** Every table's effective policy (the configuration's, changed through the strong log). */
  tables(): Readonly<Record<string, TablePolicy>> {
    return this.strong.tables();
  }

  get stage(): StageView {
    return this.#stage;
  }

  /**
   * The shell's word on the disk (src/server/region-node.ts): while full, the stage is `fenced`
   * (`storage`), writes and table changes are refused 507 INSUFFICIENT_STORAGE, and the shell feeds
   * only client requests and the peers' clock probes (nothing that writes). Takes effect at once
   * (the stage change is reported with the next step's events).
   */
  setStorageFull(full: boolean): void {
    if (full === this.#storageFull) return;
    this.#storageFull = full;
    this.#updateStage();
  }

  get metrics(): Readonly<ReplicaMetrics> {
    return this.replica.metrics;
  }

  /** Inputs the core queued for itself (a claim granted mid-turn, say): step again soon. */
  hasPendingWork(): boolean {
    return this.#strongInbox.length > 0 || this.#replicaInbox.length > 0;
  }

  /** begin + commit + release at once, for callers that do not overlap the leader's fsync with replication. */
  step(inputs: readonly RegionInput[], time: number | NodeTime): RegionOutput {
    const early = this.begin(inputs, time);
    const out = this.commit();
    return { ...out, messages: [...early, ...out.messages], replies: this.release(out.replies, this.#clock.monoMs), answers: this.release(out.answers, this.#clock.monoMs) };
  }

  /**
   * The last commit's replies as they may leave at `monoMs`, read after that commit returned: the
   * write lease is checked again before an answer leaves. A guarded write whose lease ran out
   * meanwhile (the process paused between its lease check and here) is answered FENCED with
   * `mayHaveCommitted`: it is durable here and will replicate (it was made under the lease), but it
   * is not acknowledged after the lease, when another region may already write the row; the
   * client retries with its idempotency key, which makes the two one effect.
   */
  release<R extends RegionReply | CallAnswer['reply']>(replies: ReadonlyArray<{ readonly id: number; readonly reply: R }>, monoMs: number): ReadonlyArray<{ readonly id: number; readonly reply: R | { ok: false; error: TernError } }> {
    const bound = this.#leaseBound;
    const knobs = this.config.knobs;
    if (bound.size === 0 || knobs?.skipLeaseRecheck === true || knobs?.ignoreLeaseTime === true) return replies;
    return replies.map((r) => {
      const deadline = bound.get(r.id);
      bound.delete(r.id);
      if (deadline === undefined || monoMs < deadline) return r;
      this.#events.push({ kind: 'warn', message: 'a guarded write committed as its write lease ran out (the process was paused?): answered as possibly committed', details: { id: r.id, lateMs: Math.round(monoMs - deadline) } });
      const writers = this.#peers.serving(monoMs).writers;
      const error = ternError('FENCED', `region ${this.region}'s write lease ran out while this write was being committed (the process was paused or slow): it may have committed; retry with the same Idempotency-Key, here or in a region that holds the lease`, { reason: 'lease', mayHaveCommitted: true, regions: [...writers] });
      return { id: r.id, reply: { ok: false, error } };
    });
  }

  /**
   * Handles the inputs at `time` and returns the strong group's appends that may leave before
   * this turn's commit. Then call commit(), in the same turn. If commit throws (a crash), nothing
   * of the turn happened durably and this object must be discarded.
   */
  begin(inputs: readonly RegionInput[], time: number | NodeTime): Envelope[] {
    this.#began = true;
    const t = nodeTime(time);
    // The guard sees a step of the wall clock before anything uses it: a request in this very turn
    // must not be admitted, nor the clocks anchored, on a reading that just stepped.
    this.#guard.observe({ wallMs: t.wallMs, steadyMs: this.#clock.steadyMs, monoMs: Math.max(this.#clock.monoMs, t.monoMs) });
    if (this.#trusted && !this.#guard.trusted()) this.#updateStage();
    this.#clock.advance(t, this.#trusted);
    const reading = this.#clock.reading();
    this.#gate.setTime({ wallMs: this.#clock.replicaMs(this.#trusted), monoMs: reading.monoMs });
    let ticked = false;
    for (const input of inputs) {
      if (input.kind === 'tick') ticked = true;
      else if (input.kind === 'request') this.#onRequest(input.id, input.request);
      else if (input.kind === 'call') this.#onCall(input.id, input.call);
      else this.#onPeer(input.from, input.message);
    }
    if (ticked) this.#onTick();
    const strongInputs = this.#strongInbox;
    this.#strongInbox = [];
    this.strong.handle(strongInputs, this.#clock.strongTime());
    return this.strong.prepare().map(({ to, message }) => ({ to, message: { ch: 'strong', m: message } }));
  }

  /** Persists and applies the turn begun by begin(); returns everything else it produced. */
  commit(): RegionOutput {
    if (!this.#began) this.begin([], { wallMs: this.#clock.wallMs, monoMs: this.#clock.monoMs });
    this.#began = false;
    const strongOut = this.strong.flush();
    for (const { to, message } of strongOut.messages) this.#messages.push({ to, message: { ch: 'strong', m: message } });
    if (strongOut.tablesChanged) this.replica.setTables(this.strong.tables());
    this.#syncMembership();
    for (const w of this.#tableWait.release(this.strong.state.index, this.#clock.monoMs)) {
      // The front door chose the async path because the table was unknown; a strong one must come in again.
      const arrived = this.strong.tables()[w.request.kind === 'conflicts' ? '' : w.request.table];
      if (arrived?.mode === 'strong') this.#replies.push({ id: w.id, reply: { ok: false, error: ternError('NOT_READY', `table ${(w.request as { table: string }).table} arrived while this request waited for it; it is a strong table: send the request again`) } });
      else {
        // Admitted and authorized when it arrived: the stage and the users of now must allow it too
        // (a region whose clock stepped meanwhile must not write with it, nor a user deleted meanwhile).
        const call = this.#calls.get(w.id)?.call;
        const refused = this.#refusal({ api: 'async', request: w.request }) ?? (call === undefined ? null : this.#authorize(call));
        if (refused !== null) this.#replies.push({ id: w.id, reply: { ok: false, error: refused } });
        else this.#submitAsync(w.id, w.request);
      }
    }
    // The lease agent sees what the log changed before any answer is handed out: an operator
    // request waiting on another is judged afresh against the change that answer reports.
    this.#afterStrong();
    for (const { id, reply } of strongOut.replies) this.#routeStrong(id, reply);
    const inputs = this.#replicaInbox;
    this.#replicaInbox = [];
    // A region back from an eviction reports its orphaned writes as soon as it is a member again, before it writes anything new (replica/orphans.ts).
    const member = this.strong.state.membership.eviction(this.region) === undefined && !this.#membershipBehind();
    const out = this.replica.step(inputs, this.#clock.replicaMs(this.#trusted), { clockTrusted: this.#trusted, publishOrphans: member && this.#trusted });
    for (const { to, message } of out.messages) this.#messages.push({ to, message: { ch: 'async', m: message } });
    for (const { id, reply } of out.replies) this.#routeAsync(id, reply);
    this.#noteLeaseBound(out.created as Op[]);
    this.#updateStage();
    const replies: Array<{ id: number; reply: RegionReply }> = [];
    for (const r of this.#replies) {
      const finish = this.#calls.get(r.id)?.finish;
      if (finish === undefined) replies.push(r);
      else {
        this.#calls.delete(r.id);
        this.#answers.push({ id: r.id, reply: finish(r.reply) });
      }
    }
    const result: RegionOutput = { messages: this.#messages, replies, answers: this.#answers, created: out.created as Op[], appliedRemote: out.appliedRemote, events: this.#events };
    this.#messages = [];
    this.#replies = [];
    this.#answers = [];
    this.#events = [];
    return result;
  }

  // ---- inputs ------------------------------------------------------------------------------

  #onPeer(from: RegionId, message: NodeMessage): void {
    if (!this.#peers.peers.includes(from)) return;
    this.#peers.heard(from, this.#clock.monoMs);
    if (message.ch === 'async' && message.m.t === 'sync') this.#syncedAtMs.set(from, this.#clock.monoMs);
    if (message.ch === 'async') this.#replicaInbox.push({ kind: 'peer', from, message: message.m });
    else if (message.ch === 'strong') this.#strongInbox.push({ kind: 'peer', from, message: message.m });
    else this.#onControl(from, message.m);
  }

  #onControl(from: RegionId, m: ControlMessage): void {
    this.#peers.told(from, m.info);
    if (m.t === 'ping') this.#messages.push({ to: from, message: { ch: 'node', m: this.#guard.answer(m.id, this.#clock.reading(), this.#info()) } });
    else this.#guard.onPong(from, m, this.#clock.reading());
  }

  /**
   * A client call: the front door routes it to the engine of its table's mode (front-door.ts) and
   * its reply comes back through the same door. A status call is answered at once (it reads only
   * this core). Every call is authorized first (authorize.ts: `call.caller` against the users and
   * roles of the strong log, when the cluster requires authentication).
   */
  #onCall(id: number, call: ClientCall): void {
    const refused = this.#authorize(call);
    if (refused !== null) return void this.#answers.push({ id, reply: { ok: false, error: refused } });
    if (call.kind === 'status') return void this.#answers.push({ id, reply: { ok: true, result: { kind: 'status', status: this.status() }, replayed: false } });
    if (call.kind === 'whoami') {
      const access = this.strong.state.access;
      const user = call.caller?.user ?? null;
      const rights = rightsOf(call.caller, access, this.config.auth ?? authOff);
      const result = { kind: 'whoami' as const, user, roles: user === null ? [] : [...(access.user(user)?.roles ?? [])], clusterAdmin: !('code' in rights) && rights.clusterAdmin };
      return void this.#answers.push({ id, reply: { ok: true, result, replayed: false } });
    }
    const routed = routeCall(call, this.strong.tables());
    if ('error' in routed) return void this.#answers.push({ id, reply: { ok: false, error: routed.error } });
    this.#calls.set(id, { call, finish: routed.finish });
    this.#onRequest(id, routed.request);
  }

  /** Why `call.caller` may not make `call` now (authorize.ts), or null. */
  #authorize(call: ClientCall): TernError | null {
    return authorize(call, call.caller, this.strong.state.access, this.config.auth ?? authOff, (t) => Object.hasOwn(this.strong.tables(), t));
  }

  /**
   * Why this region's stage does not admit `request` now (admission.ts), or null. `elsewhere`
   * (where to retry) only shapes the message, so the assertion below passes none.
   */
  #refusal(request: RegionRequest, elsewhere?: Elsewhere): TernError | null {
    if (this.config.knobs?.ignoreStage === true) return null;
    return admissionProblem(this.region, request, this.#stage, elsewhere ?? this.#peers.serving(this.#clock.monoMs), this.strong.state.index);
  }

  /**
   * A client's request reaches an engine only if the stage admits it at that moment: asserted at
   * the boundary, so that a path that holds a request back (a table wait, say) and hands it on
   * later cannot skip the stage (one did: a write parked for its table was taken after the
   * region's clock stepped).
   */
  #assertAdmitted(id: number, request: RegionRequest): void {
    if (id < 0) return; // the core's own requests (leases, claims, evictions) follow their own rules
    assert(this.#refusal(request, { readers: [], writers: [] }) === null, () => `request ${id} (${request.api} ${request.request.kind}) reached its engine in stage ${this.#stage.stage}${this.#stage.reason === null ? '' : ` (${this.#stage.reason})`}, which does not admit it`);
  }

  #onRequest(id: number, request: RegionRequest): void {
    const refused = this.#refusal(request);
    if (refused !== null) return void this.#replies.push({ id, reply: { ok: false, error: refused } });
    switch (request.api) {
      case 'async': {
        const table = (request.request as { table?: unknown }).table;
        const waits = (request.strongSeen ?? 0) > this.strong.state.index && typeof table === 'string' && this.strong.tables()[table] === undefined;
        if (waits && this.#tableWait.park(id, request.request, request.strongSeen ?? 0, this.#clock.monoMs)) return;
        return this.#submitAsync(id, request.request);
      }
      case 'strong':
        this.#assertAdmitted(id, request);
        this.#strongInbox.push({ kind: 'request', id, request: request.request });
        return;
      case 'admin':
        return this.#onAdmin(id, request.request);
    }
  }

  /**
   * Per region, the operator's drain or undrain this node has proposed and not yet seen answered,
   * with whoever waits for that answer: one proposal per region at a time (drain-rules.ts).
   */
  readonly #adminInFlight = new Map<RegionId, { kind: AdminRequest['kind']; force: boolean; waiters: Array<(reply: AdminReply) => void> }>();

  /**
   * Drain and undrain (src/core/strong/drain-rules.ts has the rules): a no-op is answered at the
   * leader without a log entry; identical requests in flight coalesce; a drain is refused
   * TOO_SOON within leaseMs of the region's last change, and DRAIN_UNSAFE (unless forced) if it
   * would strand guarded rows, here and again when the log applies it.
   */
  #onAdmin(id: number, r: AdminRequest): void {
    const answer = (reply: AdminReply): void => void this.#replies.push({ id, reply });
    if (typeof r.region !== 'string' || !this.#regions.includes(r.region)) {
      return answer({ ok: false, error: badRequest('region', `must be one of the cluster's regions (${this.#regions.join(', ')}), not ${JSON.stringify(r.region)}`) });
    }
    if (r.force !== undefined && typeof r.force !== 'boolean') return answer({ ok: false, error: badRequest('force', `must be true or false, not ${JSON.stringify(r.force)}`) });
    const region = r.region;
    const drain = r.kind === 'drain';
    const force = drain && r.force === true;
    // While this node's proposal for the region is in flight, the same request takes its answer and
    // any other is handled afresh once it is answered (against the state it left).
    const busy = this.#adminInFlight.get(region);
    if (busy !== undefined) return void busy.waiters.push(busy.kind === r.kind && busy.force === force ? answer : () => this.#onAdmin(id, r));
    const leases = this.strong.state.leases;
    const scope: DrainScope = { regions: this.#regions, failoverOrder: this.config.failover.failoverOrder };
    const command: LeaseCommandBody = drain ? { t: 'lease', op: 'drain', slot: region, wallMs: 0, force, scope } : { t: 'lease', op: 'undrain', slot: region, wallMs: 0 };
    if (leases.slot(region).drained === drain) {
      // Nothing to change, as far as this node has applied. Only the strong group's leader under its
      // lease, having applied all it committed, knows that no change it has not applied was
      // acknowledged (made through another region a moment ago): it answers at once, without a log
      // entry. Elsewhere the request goes through the log, which answers `changed: false` if so.
      const raft = this.strong.raft;
      const current = raft.status().leaseValid && Number.isFinite(raft.freshAsOfMs()) && this.strong.state.index >= raft.log.committed;
      if (current) return answer({ ok: true, kind: r.kind, region, index: this.strong.state.index, changed: false });
    } else if (drain) {
      const leaseMs = this.config.failover.leaseMs;
      const agoMs = this.#clock.monoMs - this.#leases.drainChangedMonoMs(region);
      if (agoMs < leaseMs) return answer({ ok: false, error: drainTooSoon(region, agoMs, leaseMs) });
      const unsafe = force ? null : drainProblem(region, this.strong.tables(), scope, leases.drainedOf(this.#regions));
      if (unsafe !== null) return answer({ ok: false, error: unsafe });
    }
    const waiters = [answer];
    this.#adminInFlight.set(region, { kind: r.kind, force, waiters });
    this.#askStrong({ kind: 'lease', command }, (reply) => {
      this.#adminInFlight.delete(region);
      const out: AdminReply = !reply.ok ? reply : { ok: true, kind: r.kind, region, index: reply.index, changed: reply.kind === 'lease' && reply.granted };
      for (const w of waiters) w(out);
    });
  }

  /** Origins already reported as making this restored region's recovery impossible (replica/recovery.ts). */
  readonly #goneReported = new Set<RegionId>();

  /** A restored region whose backup is older than what a peer keeps says so once per origin: it will never become ready. */
  #warnIfRestoreBlocked(): void {
    for (const [origin, g] of this.replica.recoveryGone) {
      if (this.#goneReported.has(origin)) continue;
      this.#goneReported.add(origin);
      this.#events.push({
        kind: 'warn',
        message: `this region was restored from a backup older than what ${g.peer} keeps: ops of ${origin} through ${g.through} it lacks were already collected, so it can never catch up; stop this node, move its data aside and restore again from a fresh copy (terndb restore --from <a healthy region>)`,
        details: { origin, through: g.through, peer: g.peer },
      });
    }
  }

  #submitAsync(id: number, request: ClientRequest): void {
    this.#assertAdmitted(id, { api: 'async', request });
    if (!this.#gate.submit(request, (reply) => this.#replies.push({ id, reply }))) this.#replicaInbox.push({ kind: 'request', id, request });
  }

  #onTick(): void {
    const reading = this.#clock.reading();
    this.#strongInbox.push({ kind: 'tick' });
    this.#replicaInbox.push({ kind: 'tick' });
    for (const { to, message } of this.#guard.tick(reading, this.#info())) this.#messages.push({ to, message: { ch: 'node', m: message } });
    for (const command of this.#leases.proposals(this.strong.state.leases, this.#leaseConditions())) this.#askLease(command);
    this.#proposeMembership();
    this.#gate.tick();
  }

  /** Evictions, readmissions and their acknowledgements this region owes the strong log (eviction-agent.ts). */
  #proposeMembership(): void {
    const replica = this.replica;
    const stage = this.#stage;
    const conditions = {
      // Current data: not catching up, not behind what the others hold (its lag within the write
      // threshold), and a clock it trusts to measure how long a peer went unheard. A region whose
      // own replica is stalled (cut from the strong leader, its peers' guarded ops wait for log
      // entries it cannot get, and every op after them waits on those) has not heard its peers
      // because of its own fault: it must not evict them (the simulator found it evicting the
      // majority that holds the current data).
      current: !this.#away && stage.stage !== 'catching-up' && !(stage.stage === 'fenced' && stage.reason === 'clock') && stage.lagMs !== null && stage.lagMs <= this.config.failover.writeReadyLagMs,
      unheardMs: (r: RegionId) => replica.unheardMs(r, this.#openedAtMs),
      frozenAt: (r: RegionId) => replica.frozenAt(r),
      logBytes: replica.logBytes,
      holdingUp: replica.logBytes > this.config.replica.logRetentionBytesMax ? replica.holdingUp() : null,
      stable: () => replica.status().stable,
      installedFor: replica.recovering ? null : replica.installedFor,
    };
    for (const command of this.#evictions.proposals(this.strong.state.membership, conditions)) {
      this.#askStrong({ kind: 'membership', command }, (reply) => {
        this.#evictions.answered(command);
        if (reply.ok && reply.kind === 'membership' && reply.changed) this.#events.push({ kind: 'warn', message: membershipMessage(command), details: { ...command } });
      });
    }
  }

  // ---- the core's own requests ---------------------------------------------------------------

  #askStrong(request: StrongRequest, done: Callback<StrongReply>): void {
    const id = this.#nextInternalId--;
    this.#internalStrong.set(id, done);
    this.#strongInbox.push({ kind: 'request', id, request });
  }

  #askAsync(request: ClientRequest, done: Callback<ClientReply>): void {
    const id = this.#nextInternalId--;
    this.#internalAsync.set(id, done);
    this.#replicaInbox.push({ kind: 'request', id, request });
  }

  #askLease(command: LeaseCommandBody): void {
    this.#askStrong({ kind: 'lease', command }, () => this.#leases.answered(command.slot));
  }

  #routeStrong(id: number, reply: StrongReply): void {
    const internal = this.#internalStrong.get(id);
    if (internal === undefined) return void this.#replies.push({ id, reply });
    this.#internalStrong.delete(id);
    internal(reply);
  }

  #routeAsync(id: number, reply: ClientReply): void {
    const internal = this.#internalAsync.get(id);
    if (internal === undefined) return void this.#replies.push({ id, reply });
    this.#internalAsync.delete(id);
    internal(reply);
  }

  // ---- leases, clocks and the stage ------------------------------------------------------------

  /** Remembers, for each guarded write answered in this commit, when the lease it was written under runs out. */
  #noteLeaseBound(created: readonly Op[]): void {
    this.#leaseBound.clear();
    const fenced = new Map<string, Op>();
    for (const op of created) if (op.fence !== undefined) fenced.set(`${op.dot.origin}.${op.dot.seq}`, op);
    if (fenced.size === 0) return;
    for (const { id, reply } of this.#replies) {
      if (!reply.ok || !('kind' in reply) || reply.kind !== 'write' || !('result' in reply) || reply.replayed) continue;
      const fence = fenced.get(`${reply.result.dot.origin}.${reply.result.dot.seq}`)?.fence;
      if (fence === undefined) continue;
      const s = this.strong.state.leases.slot(fence.slot);
      const deadline = s.epoch === fence.epoch ? this.#leases.deadlineMs(s) : null;
      this.#leaseBound.set(id, deadline ?? -Infinity);
    }
  }

  #holds(slot: RegionId, s: LeaseSlot): Holding | null {
    if (!this.#trusted) return null;
    // A drained region writes no guarded rows: not its own, nor those it took over.
    if (slot !== this.region && this.strong.state.leases.slot(this.region).drained) return null;
    return this.#leases.holds(s, slot, this.#clock.monoMs);
  }

  #ownLease(): boolean {
    return this.#holds(this.region, this.strong.state.leases.slot(this.region)) !== null;
  }

  #failoverTables(): boolean {
    return Object.values(this.strong.tables()).some((p) => p.ownership === 'home-with-failover');
  }

  /** The regions that take over `home`'s rows, best first: the configured order, else by round trip to it. */
  #failoverOrder(home: RegionId): readonly RegionId[] {
    const configured = this.config.failover.failoverOrder[home];
    if (configured !== undefined) return configured;
    const mine = this.#guard.rtts();
    const rtt = (r: RegionId): number => (r === this.region ? mine[home] : this.#peers.info(r)?.rttMs[home]) ?? Infinity;
    return this.#regions.filter((r) => r !== home).sort((a, b) => rtt(a) - rtt(b) || (a < b ? -1 : 1));
  }

  #leaseConditions() {
    const vector = this.replica.vector;
    const mono = this.#clock.monoMs;
    return {
      monoMs: mono,
      trusted: this.#trusted,
      caughtUp: this.#stage.stage === 'write-ready' || (this.#stage.stage === 'fenced' && this.#stage.reason === 'lease'),
      ownLease: this.#ownLease(),
      ownSeq: get(vector, this.region),
      appliedSeqOf: (r: RegionId) => get(vector, r),
      failoverTables: this.#failoverTables(),
      failoverOrder: (home: RegionId) => this.#failoverOrder(home),
      healthy: (r: RegionId) => this.#peers.healthy(r, mono),
    };
  }

  /** Regions that could take a write of `slot`'s rows of a table with `policy` now, as far as this one knows. */
  #ableRegions(slot: RegionId, policy: TablePolicy): RegionId[] {
    const writers = this.#peers.serving(this.#clock.monoMs).writers;
    // Multi-writer rows (whenIsolated: reject): any region writes them under its own lease.
    if (policy.ownership === 'multi-writer') return [...writers];
    // Home rows: only their home, which is this region (elsewhere the answer is WRONG_REGION).
    if (policy.ownership === 'home') return [];
    const s = this.strong.state.leases.slot(slot);
    if (s.holder !== null && s.holder !== this.region) return [s.holder];
    if (slot !== this.region) return writers.includes(slot) ? [slot] : [];
    return writers.filter((r) => this.#failoverOrder(slot).includes(r));
  }

  /**
   * Who is expected to take `slot`'s rows of a `home-with-failover` table next, and in how long, as
   * far as this region knows: the first region of the failover order that last said it was
   * write-ready (this one included), once the slot lapses (a lease plus the offset after its last change, as every taker
   * waits) or at once if it was drained and released. Null for other tables, or with no candidate.
   */
  #expectedTaker(slot: RegionId, policy: TablePolicy): { region: RegionId; inMs: number } | null {
    if (policy.ownership !== 'home-with-failover') return null;
    const s = this.strong.state.leases.slot(slot);
    const mono = this.#clock.monoMs;
    const lapsesAt = this.#leases.lapsesAtMs(slot, s);
    if (lapsesAt === null) return null;
    const leases = this.strong.state.leases;
    // A peer counts by what it last said of itself, reachable or not: an island cannot hear the
    // others, but they go on (and one of them takes its rows).
    const candidate = this.#failoverOrder(slot).find((r) => !leases.slot(r).drained && (r === this.region ? this.#stage.stage === 'write-ready' : this.#peers.info(r)?.stage === 'write-ready'));
    return candidate === undefined ? null : { region: candidate, inMs: Math.max(0, Math.round(lapsesAt - mono)) };
  }

  #info(): PeerInfo {
    return { stage: this.#stage.stage, reason: this.#stage.reason, rttMs: this.#guard.rtts() };
  }

  /** After the strong log moved: note lease changes (for takeover timing and the log). */
  #afterStrong(): void {
    const table = this.strong.state.leases;
    this.#leases.observe(table, this.#clock.monoMs);
    for (const [region, s] of table.slots()) {
      const now = { holder: s.holder, epoch: s.epoch, drained: s.drained, handback: s.handback };
      const before = this.#lastSlots.get(region);
      this.#lastSlots.set(region, now);
      if (before === undefined ? s.changedIndex === 0 : before.holder === now.holder && before.epoch === now.epoch && before.drained === now.drained && before.handback === now.handback) continue;
      const what =
        before !== undefined && before.drained !== now.drained
          ? now.drained ? 'drained' : 'undrained'
          : before !== undefined && before.handback !== now.handback && now.handback
            ? 'handback asked'
            : s.holder === null ? 'released' : s.holder === region ? 'held by its region' : `taken over by ${s.holder}`;
      this.#events.push({ kind: 'lease', slot: region, holder: s.holder, epoch: s.epoch, what });
    }
  }

  /**
   * The replica's backlog (what a majority holds that this region lacks), unknown (Infinity) while
   * this region rejoins: after it could not reach a majority, the vectors it last heard are stale
   * (the others went on without it), so until a majority has told it fresh ones since it is back,
   * it cannot know what it missed; then it is behind whatever those peers hold (not only what a
   * majority holds) until it is within the write threshold. Only the region that was away waits: the others kept a majority
   * throughout, and an island coming back never demotes them. While away, the backlog is 0: what it
   * lacks cannot reach it, and it keeps serving what its policies allow an island.
   */
  #backlogMs(): number {
    const mono = this.#clock.monoMs;
    const quorum = majorityOf(this.#regions.length);
    const reachable = this.#peers.peers.filter((p) => this.#peers.reachable(p, mono)).length;
    if (1 + reachable < quorum) {
      // Cut off from a majority: nothing it lacks can reach it, and an island keeps serving what
      // its policies allow (multi-writer writes) rather than wait for a heal to catch up.
      this.#away = true;
      return 0;
    }
    if (this.#away) {
      this.#away = false;
      this.#rejoiningSinceMs = mono;
    }
    if (this.#rejoiningSinceMs !== null) {
      const since = this.#rejoiningSinceMs;
      const fresh = this.#peers.peers.filter((p) => (this.#syncedAtMs.get(p) ?? -Infinity) >= since);
      if (1 + fresh.length < quorum) return Infinity;
      // Back: behind whatever any peer heard since holds, until caught up to within the write threshold.
      const backlog = this.replica.backlogMs(fresh);
      if (backlog <= this.config.failover.writeReadyLagMs) this.#rejoiningSinceMs = null;
      return backlog;
    }
    return this.replica.backlogMs();
  }

  /** The broken reading behind the `readinessFromPeerClocks` knob: any reachable peer's clock and silence count. */
  #peerClockLagMs(): number {
    const mono = this.#clock.monoMs;
    let lag = 0;
    for (const peer of this.#peers.peers) if (this.#peers.reachable(peer, mono)) lag = Math.max(lag, this.replica.lagMs(peer));
    return lag;
  }

  /**
   * While this region, evicted, is being readmitted and every member has acknowledged: the snapshot
   * it must install (of a member holding at least `after`; its `readmit` entry's index goes into
   * the installed store, eviction.ts snapshotMetaKey). Null otherwise, and once it installed one.
   */
  snapshotWanted(): { readonly after: VersionVector; readonly readmitIndex: number; readonly through: number } | null {
    const m = this.strong.state.membership;
    const own = m.eviction(this.region);
    const readmit = own?.readmit;
    const after = m.readmitJoin(this.region);
    if (own === undefined || readmit === undefined || readmit === null || readmit.installed || after === null || this.replica.installedFor === readmit.index || this.#membershipBehind()) return null;
    return { after, readmitIndex: readmit.index, through: own.through ?? 0 };
  }

  /**
   * Evicted, or readmitted and not yet holding what the members had made stable without it
   * (membership.ts, "Readmission"): its data may not be merged with new writes yet.
   */
  #outOfStability(): boolean {
    const m = this.strong.state.membership;
    if (m.eviction(this.region) !== undefined) return true;
    if (this.replica.orphansPending) return true;
    const back = m.readmitted(this.region);
    return back !== undefined && !dominates(this.replica.vector, back.after);
  }

  #updateStage(): void {
    this.#warnIfRestoreBlocked();
    const trusted = this.#guard.trusted();
    if (trusted !== this.#trusted) {
      const why = trusted ? 'its clocks are within maxClockOffsetMs of a majority of regions' : (this.#guard.lastForgetReason ?? (this.#guard.measured() ? 'its clock is beyond maxClockOffsetMs of a majority of regions' : 'its clock offset to a majority of regions is not measured yet'));
      this.#events.push({ kind: 'clock', trusted, why });
      this.#guard.lastForgetReason = null;
      this.#trusted = trusted;
    }
    const f = this.config.failover;
    const next = computeStage({
      storageFull: this.#storageFull,
      drained: this.strong.state.leases.slot(this.region).drained,
      restoring: this.replica.recovering,
      evicted: this.#outOfStability(),
      membershipBehind: this.#membershipBehind(),
      clockMeasured: this.#guard.measured(),
      clockTrusted: trusted,
      lagMs: this.config.knobs?.readinessFromPeerClocks === true ? this.#peerClockLagMs() : this.#backlogMs(),
      ownLease: this.#ownLease(),
      readReadyLagMs: f.readReadyLagMs,
      writeReadyLagMs: f.writeReadyLagMs,
    });
    if (next.stage !== this.#stage.stage || next.reason !== this.#stage.reason) this.#events.push({ kind: 'stage', from: this.#stage.stage, to: next.stage, reason: next.reason, lagMs: next.lagMs });
    this.#stage = next;
  }

  status(): RegionCoreStatus {
    const mono = this.#clock.monoMs;
    const leases: LeaseView[] = this.#regions.map((region) => {
      const s = this.strong.state.leases.slot(region);
      const held = this.#holds(region, s) !== null;
      const deadline = this.#leases.deadlineMs(s);
      return {
        region,
        holder: s.holder,
        epoch: s.epoch,
        expiresAtMs: s.holder === null ? null : s.stampMs + this.config.failover.leaseMs,
        drained: s.drained,
        handback: s.handback,
        heldHere: held,
        heldForMs: held && deadline !== null ? Math.max(0, deadline - mono) : null,
      };
    });
    return {
      region: this.region,
      stage: this.#stage,
      replica: this.replica.status(),
      raft: this.strong.status(),
      strongCounters: this.strong.counters,
      leases,
      clock: { trusted: this.#trusted, measured: this.#guard.measured(), offsets: this.#guard.offsets() },
      peers: this.#peers.views(mono),
      evictions: [...this.strong.state.membership.evictions()],
    };
  }
}

