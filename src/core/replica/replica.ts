/**
 * The async replication engine of one region (docs/internals/replication.md, "The replica as a
 * state machine"): a deterministic state machine.
 *
 *   const replica = Replica.open(config, storage, nowMs);
 *   const out = replica.step(inputs, nowMs);   // one storage transaction
 *   // then send out.messages and give out.replies: they depend on what was just committed.
 *
 * Time enters only as `nowMs`; randomness not at all. The simulator drives the same code with
 * simulated clocks, network and disks.
 */
import type { TablePolicy } from '../schema/policy.js';
import { assert } from '../util/assert.js';
import { majorityOf } from '../util/majority.js';
import { HybridClock, type Hlc } from '../clock/hlc.js';
import { LiveVector } from '../clock/live-vector.js';
import { get, type RegionId, type VersionVector } from '../clock/version-vector.js';
import type { Storage } from '../storage/storage.js';
import { collect, expireIdempotency, purgeDueTombstones } from './collect.js';
import { collectFeed } from './feed-retention.js';
import { applyLimit, freezeEvicted, noEvictions, snapshotMetaKey, type MembershipView } from './eviction.js';
import { orphansPending, publishOrphans } from './orphans.js';
import { configProblem, type ReplicaConfig } from './config.js';
import type { ReplicaContext } from './context.js';
import { Freshness } from './freshness.js';
import type { ClientRequest, Input, Output, PeerMessage } from './messages.js';
import { newMetrics, type ReplicaMetrics } from './metrics.js';
import { handleConflicts, handleRead, visibleRow } from './reads.js';
import { policyOf } from './apply.js';
import type { RowView } from '../model/row-view.js';
import { drainBuffer, receiveOps } from './receive.js';
import { releaseParked } from './session.js';
import { StabilityTracker } from './stability.js';
import { due, flushPushed, maybeSendSyncs, receiveSync } from './sync.js';
import { handleWrite } from './writes.js';
import { homeOnlyGuard, type WriteGuard } from './guard.js';
import { maybeRecovered, newRecovery, noteGone, recoveryStatus, restoreMetaKey, type RecoveryStatus } from './recovery.js';

/** How often expired idempotency records are looked for. */
const idemSweepIntervalMs = 1_000;

interface Meta {
  applied?: VersionVector;
  stable?: VersionVector;
  hlc?: Hlc;
  gcPoint?: VersionVector;
  feedSeq?: number;
  feedGoneThrough?: number;
  stableWallMs?: number;
  logBytes?: number;
  /** Evicted regions frozen here (eviction.ts), as [region, seq] pairs. */
  frozen?: Array<[RegionId, number]>;
  /** The strong log index of the membership view this replica last took (eviction.ts, membershipIndex). */
  membershipIndex?: number;
}

export interface PeerStatus {
  readonly region: RegionId;
  /** When we last heard from it directly, by our clock (null: not since start). */
  readonly heardAtMs: number | null;
  /** How far behind that region's writes we may be, in ms (null: unknown). */
  readonly lagMs: number | null;
  /** Ops it had applied (as it last reported) that we have not. */
  readonly lagOps: number;
}

export interface ReplicaStatus {
  readonly region: RegionId;
  /** Non-null while restored from a backup and recovering its own writes from its peers. */
  readonly recovery: RecoveryStatus | null;
  readonly hlc: Hlc;
  readonly vector: VersionVector;
  readonly stable: VersionVector;
  /** How far garbage collection has visited the logs. */
  readonly gcPoint: VersionVector;
  readonly bufferedOps: number;
  readonly parkedRequests: number;
  /** Approximate bytes of ops its logs hold (retention.logBytesMax bounds what a region away may hold up). */
  readonly logBytes: number;
  readonly peers: readonly PeerStatus[];
}

/** Shared by every call that is not recovering: #updateStage asks at every step. */
const noneGone: ReadonlyMap<RegionId, { readonly through: number; readonly peer: RegionId }> = new Map();

export class Replica {
  readonly #ctx: ReplicaContext;
  /** Read once at open: the shell writes it before it opens a store it installed. */
  readonly #installedFor: number | null;
  #orphansPending: boolean;

  private constructor(ctx: ReplicaContext) {
    this.#ctx = ctx;
    const meta = ctx.storage.getMeta(snapshotMetaKey) as { readmitIndex?: number } | undefined;
    this.#installedFor = typeof meta?.readmitIndex === 'number' ? meta.readmitIndex : null;
    this.#orphansPending = orphansPending(ctx);
  }

  /** Opens the replica on its storage (recovering whatever was committed). Asserts a valid config: check it with configProblem first. */
  static open(config: ReplicaConfig, storage: Storage, nowMs: number, options: { guard?: WriteGuard } = {}): Replica {
    const problem = configProblem(config);
    assert(problem === null, () => `invalid replica config: ${problem?.message}`);
    const meta = (storage.getMeta('replica') as Meta | undefined) ?? {};
    const live = new LiveVector(meta.applied ?? {});
    const ctx: ReplicaContext = {
      config,
      storage,
      clock: new HybridClock(config.region, config.maxClockOffsetMs, meta.hlc ?? null),
      stability: new StabilityTracker(config.region, config.regions, meta.stable ?? {}),
      freshness: new Freshness(config.regions),
      metrics: newMetrics(),
      peers: new Map(),
      buffer: new Map(),
      bufferedCount: 0,
      parked: [],
      live,
      get applied() {
        return live.snapshot();
      },
      gcPoint: meta.gcPoint ?? {},
      feedSeq: meta.feedSeq ?? 0,
      feedGoneThrough: meta.feedGoneThrough ?? 0,
      stableWallMs: meta.stableWallMs ?? 0,
      logBytes: meta.logBytes ?? 0,
      lastSyncMs: -Infinity,
      lastIdemSweepMs: nowMs,
      lastGcMs: -Infinity,
      lastBeatMs: -Infinity,
      nowMs,
      physicalMs: nowMs,
      out: { messages: [], replies: [], created: [], appliedRemote: [] },
      pushed: [],
      metaDirty: false,
      guard: options.guard ?? homeOnlyGuard(config.region),
      clockTrusted: true,
      recovery: (storage.getMeta(restoreMetaKey) ?? null) !== null ? newRecovery() : null,
      membership: noEvictions,
      frozen: new Map(meta.frozen ?? []),
      membershipIndex: meta.membershipIndex ?? 0,
      // A store that never took a view from a later log position than 0 has nothing to wait for.
      membershipKnown: (meta.membershipIndex ?? 0) === 0,
    };
    return new Replica(ctx);
  }

  /**
   * The strong log created or altered a table: from now on the replica serves it. Table changes
   * are validated by the strong state machine (src/core/strong/table-change.ts); ops that
   * arrived for a table we did not know yet are resent by their origin and now apply.
   */
  setTables(tables: Readonly<Record<string, TablePolicy>>): void {
    this.#ctx.config = { ...this.#ctx.config, tables };
  }

  /**
   * The strong log's evictions (src/core/strong/membership.ts) as of log index `index`: the next
   * step freezes regions being evicted, and stability leaves out those evicted once their surviving
   * ops are here. A view older than one this replica already took (the strong state machine of a
   * restarted node is rebuilt from its last snapshot, and re-applies the log only as it learns the
   * commit index again) is refused: false. Until a view at least as new arrives, the replica keeps
   * its freezes and counts every region in stability (eviction.ts, freezeEvicted).
   */
  setMembership(view: MembershipView, index: number): boolean {
    const ctx = this.#ctx;
    if (index < ctx.membershipIndex) return false;
    ctx.membership = view;
    ctx.stability.setEvicted(view.evicted);
    ctx.membershipKnown = true;
    // Persisted with the next metadata write, not by itself: taking a view writes nothing (a node
    // fenced for a full disk takes one at every reopen, and a write there fails and reopens again).
    // Enough, because what the index guards is the freezes, and every change of them writes the
    // metadata, this index with it: a restarted replica never takes a view older than its freezes.
    ctx.membershipIndex = Math.max(ctx.membershipIndex, index);
    return true;
  }

  /** The strong log index of the membership view this replica last took (persisted; 0: none since the store was made). */
  get membershipIndex(): number {
    return this.#ctx.membershipIndex;
  }

  /** Approximate bytes of ops its logs hold (what retention.logBytesMax bounds). */
  get logBytes(): number {
    return this.#ctx.logBytes;
  }

  /**
   * The member peer holding stability back the most: the one whose usable report lacks the most of
   * what this replica has applied (null when none lacks anything). Evicted regions are not members.
   */
  holdingUp(): RegionId | null {
    const ctx = this.#ctx;
    let worst: RegionId | null = null;
    let most = 0;
    for (const region of ctx.config.regions) {
      if (region === ctx.config.region || ctx.frozen.has(region)) continue;
      const report = ctx.stability.reportOf(region);
      let lacks = 0;
      for (const origin of ctx.config.regions) lacks += Math.max(0, get(ctx.applied, origin) - get(report, origin));
      if (lacks > most) [worst, most] = [region, lacks];
    }
    return worst;
  }

  /** Orphaned writes of this region not yet reported (replica/orphans.ts): it writes nothing new until they are. */
  get orphansPending(): boolean {
    // Read from the store at open, then kept by publishOrphans: only a copy installed before the
    // replica opens ever writes the record (snapshot/install.ts), and reported ones stay reported.
    return this.#orphansPending;
  }

  /** The readmission (its strong log index) a snapshot installed here was taken for (eviction.ts, snapshotMetaKey), or null. */
  get installedFor(): number | null {
    return this.#installedFor;
  }

  /** How far this replica held `region`'s ops when it froze them for its eviction (undefined: not frozen). */
  frozenAt(region: RegionId): number | undefined {
    return this.#ctx.frozen.get(region);
  }

  /**
   * How long `region` has gone unheard, by this replica's clock: since the newest heartbeat of its
   * that reached this replica (relayed ones count; Freshness.heardAsOf), or since `sinceMs` if
   * later (the caller's start: a restart does not make a region look long gone). Not since the
   * newest heartbeat this replica holds every op before: a replica that cannot apply a region's
   * ops (they wait on strong log entries it lacks, cut off from the leader, or on a third region's
   * ops) is the one behind, and that region is not gone (the simulator found a region, stalled so,
   * evicting the two that made up the majority). A region whose clock it does not trust (not
   * measured yet after a restart, or fenced) sends no heartbeat, but its own syncs say it is alive:
   * the newest that reached here counts as heard half a window earlier, so a region that talks to
   * this one is never judged gone, while its heartbeats stay the measure whenever it sends them (the
   * simulator found a region back from its own absence evicting such a peer, restarted and talking
   * to it, with the other member).
   */
  unheardMs(region: RegionId, sinceMs: number): number {
    const synced = (this.#ctx.peers.get(region)?.heardAtMs ?? -Infinity) - this.#ctx.config.logRetentionMs / 2;
    return this.#ctx.nowMs - Math.max(sinceMs, this.#ctx.freshness.heardAsOf(region), synced);
  }

  /**
   * A time before which this replica holds every op of every region (each by its own clock; ours
   * is now), or null while some region has not been heard from. Cheap: for periodic callers.
   */
  freshAsOfMs(): number | null {
    const ctx = this.#ctx;
    let min = ctx.nowMs;
    for (const region of ctx.config.regions) {
      if (region === ctx.config.region) continue;
      const fresh = ctx.freshness.freshAsOf(region);
      if (!Number.isFinite(fresh)) return null;
      min = Math.min(min, fresh);
    }
    return min;
  }

  /**
   * How far behind `origin`'s writes this replica may be, by its own clock (Infinity: nothing heard
   * yet). Cheap: the region core asks it of every reachable peer at every step.
   */
  lagMs(origin: RegionId): number {
    return this.#ctx.nowMs - this.#ctx.freshness.freshAsOf(origin);
  }

  /**
   * How far behind the cluster this replica is, for the region's stage (docs/internals/failover.md,
   * "readiness is about oneself"). Per other origin, the ops a majority of regions hold (by every
   * region's latest reported vector; an origin holds all its own) that this replica has not
   * applied, measured in the origin's own clock (Freshness.backlogMs); the largest. Ops only a
   * minority holds (an island's writes, just back) do not count: the majority is not behind them.
   * Infinity while this replica has heard the vectors of fewer than a majority of regions since it
   * started: it cannot yet know what it missed. With `behindAnyOf` (a region catching up after it was
   * away), what any of those peers holds counts, not only what a majority holds.
   */
  backlogMs(behindAnyOf?: readonly RegionId[]): number {
    const ctx = this.#ctx;
    const regions = ctx.config.regions;
    const quorum = majorityOf(regions.length);
    const heard = regions.filter((r) => r !== ctx.config.region && ctx.stability.heard(r));
    if (1 + heard.length < quorum) return Infinity;
    const reports = ctx.stability.latest();
    const holds = (r: RegionId, origin: RegionId): number => get(reports[r] ?? {}, origin);
    let backlog = 0;
    for (const origin of regions) {
      if (origin === ctx.config.region) continue;
      const mine = get(ctx.applied, origin);
      // A region catching up after being away counts what any of the given peers holds; otherwise
      // what the quorum-th largest holder (this replica included) holds, which a majority has.
      const held = behindAnyOf !== undefined ? Math.max(mine, ...behindAnyOf.map((r) => holds(r, origin))) : ([mine, ...heard.map((r) => holds(r, origin))].sort((a, b) => b - a)[quorum - 1] ?? 0);
      // Of an evicted (or frozen) origin, nothing beyond its bound will ever be applied here: what
      // others hold past it (its orphans, held by it alone or by other evicted regions) is not a
      // backlog, or a lone member would wait for it forever and never donate the snapshot the
      // evicted regions need to come back.
      const target = Math.min(held, applyLimit(ctx, origin));
      backlog = Math.max(backlog, ctx.freshness.backlogMs(origin, mine, target));
    }
    return backlog;
  }

  /** The row as an eventual read would return it (masked for unique fields), outside any step. */
  peekRow(table: string, key: string): RowView | null {
    const policy = policyOf(this.#ctx, table);
    return policy === undefined || policy.mode !== 'async' ? null : visibleRow(this.#ctx, table, key, policy);
  }

  get region(): RegionId {
    return this.#ctx.config.region;
  }

  get metrics(): Readonly<ReplicaMetrics> {
    return this.#ctx.metrics;
  }

  /** The latest HLC issued or adopted. */
  get hlc(): Hlc {
    return this.#ctx.clock.last;
  }

  get vector(): VersionVector {
    return this.#ctx.applied;
  }

  /**
   * Handles a batch of inputs at physical time nowMs in one storage transaction. If the
   * transaction throws (a crash), nothing of the step happened and this object must be discarded.
   * `clockTrusted: false` (the region core's clock guard): see ReplicaContext.clockTrusted.
   */
  step(inputs: readonly Input[], nowMs: number, options: { clockTrusted?: boolean; publishOrphans?: boolean } = {}): Output {
    const ctx = this.#ctx;
    ctx.clockTrusted = options.clockTrusted ?? true;
    // Time in the core never goes backwards, even if the physical clock does: deadlines and
    // staleness then err on the safe side.
    ctx.nowMs = Math.max(ctx.nowMs, nowMs);
    ctx.physicalMs = nowMs;
    ctx.out = { messages: [], replies: [], created: [], appliedRemote: [] };
    ctx.pushed = [];
    ctx.storage.transaction(() => {
      freezeEvicted(ctx);
      let ticked = false;
      for (const input of inputs) {
        if (input.kind === 'tick') ticked = true;
        else if (input.kind === 'peer') this.#onPeer(input.from, input.message);
        else this.#onRequest(input.id, input.request);
      }
      drainBuffer(ctx);
      maybeRecovered(ctx);
      ctx.stability.advance(ctx.applied);
      ctx.freshness.advance(ctx.applied);
      releaseParked(ctx, (id, request) => this.#onRequest(id, request));
      // Only while some are pending (reading the record decodes every orphaned write it keeps).
      if (options.publishOrphans === true && this.#orphansPending) this.#orphansPending = publishOrphans(ctx);
      if (ticked) this.#onTick();
      flushPushed(ctx);
      if (ctx.metaDirty || ctx.out.created.length > 0) this.#persistMeta();
    });
    return ctx.out;
  }

  #onPeer(from: RegionId, message: PeerMessage): void {
    if (!this.#ctx.config.regions.includes(from) || from === this.#ctx.config.region) return;
    if (message.t === 'ops') receiveOps(this.#ctx, message.ops);
    else if (message.t === 'gone') noteGone(this.#ctx, from, message.origin, message.through);
    else receiveSync(this.#ctx, from, message);
  }

  #onRequest(id: number, request: ClientRequest): void {
    switch (request.kind) {
      case 'write':
      case 'delete':
        return handleWrite(this.#ctx, id, request);
      case 'read':
      case 'scan':
        return handleRead(this.#ctx, id, request);
      case 'conflicts':
        return handleConflicts(this.#ctx, id, request);
    }
  }

  #onTick(): void {
    const ctx = this.#ctx;
    maybeSendSyncs(ctx);
    if (due(ctx.physicalMs, ctx.lastGcMs, ctx.config.gcIntervalMs)) {
      ctx.lastGcMs = ctx.physicalMs;
      collect(ctx);
    }
    if (due(ctx.physicalMs, ctx.lastIdemSweepMs, idemSweepIntervalMs)) {
      ctx.lastIdemSweepMs = ctx.physicalMs;
      expireIdempotency(ctx);
      purgeDueTombstones(ctx);
      collectFeed(ctx);
    }
  }

  #persistMeta(): void {
    const ctx = this.#ctx;
    const meta: Meta = { applied: ctx.applied, stable: ctx.stability.stable(ctx.applied), hlc: ctx.clock.last, gcPoint: ctx.gcPoint, feedSeq: ctx.feedSeq, feedGoneThrough: ctx.feedGoneThrough, stableWallMs: ctx.stableWallMs, logBytes: ctx.logBytes, frozen: [...ctx.frozen], membershipIndex: ctx.membershipIndex };
    ctx.storage.putMeta('replica', meta);
    ctx.metaDirty = false;
  }

  /** A snapshot of where this replica stands, for status endpoints and the simulator. */
  status(): ReplicaStatus {
    const ctx = this.#ctx;
    const peers: PeerStatus[] = [];
    for (const region of ctx.config.regions) {
      if (region === ctx.config.region) continue;
      const link = ctx.peers.get(region);
      const fresh = ctx.freshness.freshAsOf(region);
      const reported = ctx.stability.reportOf(region);
      let lagOps = 0;
      for (const origin of ctx.config.regions) lagOps += Math.max(0, get(reported, origin) - get(ctx.applied, origin));
      peers.push({
        region,
        heardAtMs: link !== undefined && Number.isFinite(link.heardAtMs) ? link.heardAtMs : null,
        lagMs: Number.isFinite(fresh) ? Math.max(0, ctx.nowMs - fresh) : null,
        lagOps,
      });
    }
    return {
      region: ctx.config.region,
      hlc: ctx.clock.last,
      vector: ctx.applied,
      stable: ctx.stability.stable(ctx.applied),
      gcPoint: ctx.gcPoint,
      bufferedOps: ctx.bufferedCount,
      parkedRequests: ctx.parked.length,
      logBytes: ctx.logBytes,
      peers,
      recovery: recoveryStatus(ctx),
    };
  }

  /** Restored from a backup and not yet holding every write of its own its peers hold: it may not write (recovery.ts). */
  get recovering(): boolean {
    return this.#ctx.recovery !== null;
  }

  /** While recovering: origins whose ops it needs that a peer already collected (it can never recover). */
  get recoveryGone(): ReadonlyMap<RegionId, { readonly through: number; readonly peer: RegionId }> {
    return this.#ctx.recovery?.gone ?? noneGone;
  }
}
