/**
 * The region world, the simulator's one world (`terndb sim --world` only picks its clients,
 * src/sim/run.ts): one whole RegionCore per region (async replica, strong group member, unique
 * gate, write leases, clock guard, stage) on memory storage, a WAN with the demo's round trips,
 * skewed and drifting clocks with jumps beyond the bound, seeded faults (partitions, crashes, loss,
 * duplication, reordering, clock jumps, process pauses), and clients of async, guarded and strong
 * tables in every region. A fault phase, then a heal phase (network healed, clocks back within the
 * bound, nodes restarted) until the async tables converge, then final strong reads. Everything
 * random comes from the seed; the trace hash proves a replay is exact.
 */
import type { Hlc } from '../../core/clock/hlc.js';
import { dominates, type RegionId, type VersionVector } from '../../core/clock/version-vector.js';
import { failoverDefaults, type FailoverSettings, type NodeKnobs, type RegionCoreConfig } from '../../core/node/config.js';
import type { NodeMessage, RegionInput, RegionOutput, RegionReply, RegionRequest } from '../../core/node/messages.js';
import { RegionCore } from '../../core/node/region-core.js';
import { replicaDefaults, type Knobs } from '../../core/replica/config.js';
import { exportState } from '../../core/replica/export.js';
import type { StrongKnobs } from '../../core/strong/config.js';
import { RunningHash } from '../../core/util/hash.js';
import { MemoryStorage, SimulatedCrash } from '../../storage/memory-storage.js';
import { approxOpBytes, type Op } from '../../core/model/op.js';
import { markRejoined } from '../../core/node/restore.js';
import { carryOwnClock, snapshotMetaKey } from '../../core/replica/eviction.js';
import { orphansMetaKey } from '../../core/replica/orphans.js';
import { majorityOf } from '../../core/util/majority.js';
import type { BankSnapshot } from '../check/bank.js';
import { EventQueue } from '../event-queue.js';
import { planDrains, planFaults, planPauses, type FaultAction, type FaultKind, type FaultPlan } from '../faults.js';
import type { FinalRegionState, HistoryEvent, RunRecord } from '../history.js';
import { noLinkFaults, SimNetwork } from '../network.js';
import { Prng } from '../prng.js';
import { SimClock } from '../sim-clock.js';
import type { StrongRunRecord } from '../strong/record.js';
import { accounts, auditKey } from '../strong/workload.js';
import { regionName, rttMatrix } from '../regions.js';
import { simMergeFunctions } from '../workload.js';
import { AsyncClients } from './async-clients.js';
import { RegionObserver } from './observer.js';
import type { ClientPort, Phase } from './port.js';
import type { EvictionRecord, RegionRunRecord } from './record.js';
export type { EvictionRecord } from './record.js';
import { StrongClients } from './strong-clients.js';
import { regionSimTables, type RegionMix } from './workload.js';

export interface RegionKnobs {
  readonly replica?: Knobs;
  readonly strong?: StrongKnobs;
  readonly node?: NodeKnobs;
  /** The simulated shell installs a snapshot non-atomically: the donor's copy, with the old store's rows left over it. */
  readonly nonAtomicSnapshotInstall?: boolean;
  /** No region ever proposes an eviction (the retention window is ignored). */
  readonly neverEvict?: boolean;
}

/**
 * The eviction scenario (docs/internals/replication.md, "Bounded history"): a short retention
 * window, one region cut off for well past it while the others write on, then its rejoin from a
 * snapshot through the simulated shell, with crashes during the eviction and during the install.
 */
export const evictionScenario = {
  /** retention.logMs (and the idempotency window, which may not exceed it). */
  windowMs: 1_500,
  /** When the region is cut off, and for how long. */
  absentFromMs: 600,
  absentForMs: 6_000,
  /** The simulated transfer of a snapshot. */
  transferMs: 150,
  /** How often members' log sizes are sampled for the log-bound checker. */
  sampleMs: 100,
} as const;

export interface RegionSimOptions {
  readonly seed: number;
  readonly regions?: number;
  /** Length of the fault phase in simulated ms. */
  readonly durationMs?: number;
  readonly faults: ReadonlySet<FaultKind>;
  readonly mix?: RegionMix;
  readonly knobs?: RegionKnobs;
  /** Run the eviction scenario (evictionScenario) on top of the faults. */
  readonly evict?: boolean;
  /**
   * From the heal on, the async replication between the first and the third region stays cut (a
   * permanent bridge): the async tables converge only if replication relays ops across it. Only
   * the async channel: Raft has no relay, so a permanent cut would leave a follower at the far end
   * from the leader behind for good, which is the strong group's known limit, not this fault's point.
   */
  readonly bridgeThroughHeal?: boolean;
  /**
   * The strong group's election timeout (default regionWorldTiming.electionMs). Its leader lease
   * is counted in it: a lease too long (StrongKnobs.leaseTooLong, five timeouts) outlasts the
   * group's request timeout (1.5 s) only from 400 ms on, and only then can a client held by a
   * write at an isolated leader be answered a stale read through it.
   */
  readonly strongElectionMs?: number;
}

export interface RegionSimStats {
  readonly events: number;
  readonly steps: number;
  readonly simulatedMs: number;
  readonly healMs: number;
  readonly converged: boolean;
  readonly invokes: number;
  readonly oks: number;
  readonly fails: number;
  readonly infos: number;
  readonly strongOps: number;
  readonly strongOks: number;
  /** Strong calls whose outcome stayed unknown, and retries answered from an idempotency record. */
  readonly strongInfos: number;
  readonly strongReplays: number;
  readonly crashes: number;
  readonly partitions: number;
  readonly pauses: number;
  /** Operator drains and undrains sent (the drain fault). */
  readonly drains: number;
  readonly clockJumps: number;
  readonly elections: number;
  readonly leaseGrants: number;
  readonly guardedAcks: number;
  readonly takeovers: number;
  /** Summed replica metrics and strong counters of the final cores. */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface RegionWorldResult {
  readonly record: RegionRunRecord;
  readonly traceHash: string;
  readonly stats: RegionSimStats;
}

type SimEvent =
  | { readonly k: 'tick'; readonly node: number }
  | { readonly k: 'deliver'; readonly to: number; readonly from: number; readonly message: NodeMessage; readonly epoch: number }
  | { readonly k: 'request'; readonly node: number; readonly reqId: number; readonly request: RegionRequest }
  | { readonly k: 'reply'; readonly reqId: number; readonly reply: RegionReply }
  | { readonly k: 'work'; readonly node: number }
  | { readonly k: 'timer'; readonly fn: () => void }
  | { readonly k: 'fault'; readonly action: FaultAction }
  | { readonly k: 'heal' }
  | { readonly k: 'check' };

interface SimNode {
  readonly region: RegionId;
  storage: MemoryStorage;
  readonly clock: SimClock;
  core: RegionCore | null;
  /** Bumped on every crash: messages addressed to an earlier incarnation are dropped. */
  epoch: number;
  /** The monotonic clock's origin in this boot (its reading is real time minus this). */
  monoOrigin: number;
  pausedUntil: number;
  /** A pause due inside the next step that answers a guarded write (0: none). */
  pauseInStepMs: number;
  workQueued: boolean;
  /** A snapshot install is scheduled (the eviction scenario's shell). */
  installing: boolean;
}

interface EvictionState {
  readonly region: number;
  readonly knobs: RegionKnobs;
  createdBytes: number;
  readonly created: Array<[number, number]>;
  readonly samples: Array<{ atMs: number; region: string; logBytes: number }>;
  evicted: boolean;
  installs: number;
  crashes: number;
  crashedDuringEviction: boolean;
  crashedDuringInstall: boolean;
  /** When the evicted region first installed a snapshot (-1: never). */
  installedAtMs: number;
  /**
   * While the region is cut off: since when a majority of regions (members only, then) has been
   * up, awake, with clocks within the bound and unstepped, and connected (null: not now); and the
   * longest such span so far. Only such a majority can judge the region gone and evict it.
   */
  quorumSinceMs: number | null;
  quorumLongestMs: number;
}

export const regionWorldTiming = {
  tickMs: 20,
  maxClockOffsetMs: 100,
  clientLatencyMs: 1,
  healTimeoutMs: 60_000,
  finalTimeoutMs: 8_000,
  /** The strong group's election timeout (RegionSimOptions.strongElectionMs may change it). */
  electionMs: 300,
  /** Replication resends what a peer has not acknowledged after this long (the default is 1 s). */
  resendAfterMs: 400,
} as const;

/** Short leases (the floor is renew + 2 × election + offset = 1000 ms), so takeovers happen within a run. */
export const regionFailover: FailoverSettings = {
  ...failoverDefaults,
  leaseMs: 1500,
  renewMs: 300,
  readReadyLagMs: 2000,
  writeReadyLagMs: 1000,
  clockProbeMs: 200,
  reachableWithinMs: 600,
  failoverOrder: {},
};

/** The eviction scenario's cut, as a fault of the region's own (the fault plan's partitions are `cut off`). */
const scenarioCutLabel = 'cut off (eviction scenario)';

/** Clocks read about this far from 0, so that skewed clocks never read negative. */
const epochMs = 1_000_000;

export class RegionWorld {
  readonly #rng: Prng;
  readonly #names: string[];
  readonly #nodes: SimNode[];
  readonly #net: SimNetwork;
  readonly #events = new EventQueue<SimEvent>();
  readonly #plan: FaultPlan;
  readonly #hash = new RunningHash();
  readonly #config: (i: number) => RegionCoreConfig;
  readonly #observer: RegionObserver;
  readonly #async: AsyncClients;
  readonly #strong: StrongClients;
  readonly #answers = new Map<number, (reply: RegionReply) => void>();
  readonly #ledger: Op[] = [];
  readonly #hlcTrace: Record<RegionId, Hlc[]> = {};
  readonly #durationMs: number;
  #now = 0;
  #nextReq = 1;
  #phase: Phase = 'faults';
  #healStartMs = 0;
  #finalStartMs = 0;
  /** Since when the async tables have been settled (-1: not now): the eviction scenario waits a window more. */
  #settledSinceMs = -1;
  #done = false;
  #converged = false;
  #eventsRun = 0;
  #steps = 0;
  readonly #counts = { crashes: 0, partitions: 0, pauses: 0, drains: 0 };
  #finalStrong: { states: Record<string, string | null>; raft: Record<string, string>; bank: Record<string, BankSnapshot | null> } | null = null;
  /** The eviction scenario's state (null: not running it). */
  readonly #evict: EvictionState | null;
  /** The partition the fault plan has in force (null: none), and the eviction scenario's cut while it lasts. */
  #faultCut: ReadonlyArray<readonly number[]> | null = null;
  #scenarioCut: { readonly away: number; readonly others: readonly number[] } | null = null;
  /** The permanent bridge's ends (RegionSimOptions.bridgeThroughHeal), cut from the heal on. */
  readonly #bridge: readonly [number, number] | null;
  #bridgeCut = false;

  constructor(options: RegionSimOptions) {
    this.#rng = new Prng(options.seed);
    const n = options.regions ?? 3;
    const mix = options.mix ?? 'all';
    this.#names = Array.from({ length: n }, (_, i) => regionName(i));
    this.#durationMs = Math.max(options.durationMs ?? 6000, options.evict === true ? evictionScenario.absentFromMs + evictionScenario.absentForMs + 1000 : 0);
    const offset = regionWorldTiming.maxClockOffsetMs;
    const tables = regionSimTables(this.#names);
    const preferred = this.#rng.chance(0.5) ? (this.#names[0] as string) : undefined;
    const randoms = this.#names.map(() => this.#rng.fork());
    const knobs = options.knobs ?? {};
    const e = evictionScenario;
    // A short window (and an idempotency window no longer than it), unless the knob ignores it.
    const retention = options.evict === true ? { logRetentionMs: knobs.neverEvict === true ? 3_600_000 : e.windowMs, idempotencyRetentionMs: e.windowMs } : {};
    this.#bridge = options.bridgeThroughHeal === true && n >= 3 ? [0, 2] : null;
    this.#config = (i) => {
      const region = this.#names[i] as string;
      return {
        region,
        // The simulated network loses messages (TCP would not): resend sooner than the default,
        // so that one lost batch costs less than writeReadyLagMs (a lossy link is no region's own fault).
        replica: { ...replicaDefaults, region, regions: this.#names, tables, mergeFunctions: simMergeFunctions, maxClockOffsetMs: offset, resendAfterMs: regionWorldTiming.resendAfterMs, ...retention, ...(knobs.replica !== undefined ? { knobs: knobs.replica } : {}) },
        strong: {
          region,
          regions: this.#names,
          tables,
          mergeFunctions: Object.keys(simMergeFunctions),
          tickMs: regionWorldTiming.tickMs,
          heartbeatMs: 60,
          electionMs: options.strongElectionMs ?? regionWorldTiming.electionMs,
          maxClockOffsetMs: offset,
          requestTimeoutMs: 1500,
          sessionWaitMs: 500,
          idempotencyRetentionMs: 3_600_000,
          // The strong clients alone make fewer log entries than every kind of client together: snapshot
          // more often then, so that compaction and installs still happen within a run.
          snapshotEveryEntries: mix === 'strong' ? 60 : 200,
          random: () => (randoms[i] as Prng).float(),
          ...(preferred !== undefined ? { preferredLeader: preferred } : {}),
          ...(knobs.strong !== undefined ? { knobs: knobs.strong } : {}),
        },
        failover: regionFailover,
        ...(knobs.node !== undefined ? { knobs: knobs.node } : {}),
      };
    };
    const plan = planFaults(this.#rng.fork(), options.faults, n, this.#durationMs, offset);
    const pauses = planPauses(this.#rng.fork(), options.faults, n, this.#durationMs, regionFailover.leaseMs);
    const drains = planDrains(this.#rng.fork(), options.faults, n, this.#durationMs);
    this.#plan = { ...plan, actions: [...plan.actions, ...pauses, ...drains].sort((a, b) => a[0] - b[0]) };
    this.#net = new SimNetwork(rttMatrix(this.#names));
    this.#observer = new RegionObserver(this.#names, offset, epochMs);
    this.#nodes = this.#names.map((region, i) => {
      const clock = new SimClock(this.#plan.initialOffsetsMs[i] ?? 0, this.#plan.driftPpm[i] ?? 0);
      const node: SimNode = { region, storage: new MemoryStorage(), clock, core: null, epoch: 0, monoOrigin: -this.#rng.int(100_000), pausedUntil: -Infinity, pauseInStepMs: 0, workQueued: false, installing: false };
      this.#hlcTrace[region] = [];
      return node;
    });
    for (let i = 0; i < n; i++) this.#open(i);
    for (let i = 0; i < n; i++) this.#events.push(this.#rng.int(regionWorldTiming.tickMs), { k: 'tick', node: i });
    for (const [t, action] of this.#plan.actions) this.#events.push(t, { k: 'fault', action });
    this.#events.push(this.#durationMs, { k: 'heal' });
    this.#events.push(0, { k: 'timer', fn: () => this.#watchQuorums() });
    this.#evict = null;
    if (options.evict === true) {
      const away = this.#rng.int(n);
      this.#evict = { region: away, knobs, createdBytes: 0, created: [], samples: [], evicted: false, installs: 0, crashes: 0, crashedDuringEviction: false, crashedDuringInstall: false, installedAtMs: -1, quorumSinceMs: null, quorumLongestMs: 0 };
      const others = this.#names.map((_, i) => i).filter((i) => i !== away);
      this.#events.push(e.absentFromMs, { k: 'timer', fn: () => this.#cutOff(away, others) });
      this.#events.push(e.absentFromMs + e.absentForMs, { k: 'timer', fn: () => this.#reconnect() });
      this.#events.push(e.absentFromMs, { k: 'timer', fn: () => this.#sampleLogs() });
    }
    const port = this.#port();
    this.#async = new AsyncClients(port, mix === 'all' ? 0.35 : 0.25);
    this.#strong = new StrongClients(port);
    const perRegion = mix === 'all' ? { async: 3, strong: 2 } : mix === 'async' ? { async: 4, strong: 0 } : { async: 0, strong: 4 };
    let id = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < perRegion.async; c++) this.#async.add(id++, i, this.#rng.fork(), this.#rng.int(50));
      for (let c = 0; c < perRegion.strong; c++) this.#strong.add(id++, i, this.#rng.fork());
    }
  }

  #port(): ClientPort {
    return {
      names: this.#names,
      now: () => this.#now,
      phase: () => this.#phase,
      call: (node, request, answer) => {
        const reqId = this.#nextReq++;
        this.#answers.set(reqId, answer);
        // Requests and answers cross a lossy link too: a lost answer to a committed write is what
        // makes clients retry writes that did happen.
        if (!this.#clientLinkLoses()) this.#events.push(this.#now + regionWorldTiming.clientLatencyMs, { k: 'request', node, reqId, request });
        return reqId;
      },
      forget: (reqId) => void this.#answers.delete(reqId),
      later: (delayMs, fn) => this.#events.push(this.#now + delayMs, { k: 'timer', fn }),
      isCut: (a, b) => this.#net.isCut(a, b),
    };
  }

  /** The node's two clocks now: the wall clock (skewed, drifting, jumping) and this boot's monotonic one. */
  #time(i: number): { wallMs: number; monoMs: number } {
    const node = this.#nodes[i] as SimNode;
    return { wallMs: epochMs + node.clock.read(this.#now), monoMs: epochMs + this.#now - node.monoOrigin };
  }

  #open(i: number): void {
    const node = this.#nodes[i] as SimNode;
    node.core = RegionCore.open(this.#config(i), node.storage, this.#time(i));
  }

  run(): RegionWorldResult {
    for (;;) {
      const next = this.#events.pop();
      if (next === undefined || this.#done) break;
      this.#now = next.time;
      this.#eventsRun++;
      this.#handle(next.item);
      if (this.#phase !== 'faults' && this.#now - this.#healStartMs > regionWorldTiming.healTimeoutMs) break;
    }
    return this.#result();
  }

  // ---- events ------------------------------------------------------------------------------

  /** Events for a paused node wait until it wakes (in their order), as a stopped process's sockets do. */
  #deferred(node: number, e: SimEvent): boolean {
    const until = (this.#nodes[node] as SimNode).pausedUntil;
    if (until <= this.#now) return false;
    this.#events.push(until, e);
    return true;
  }

  #handle(e: SimEvent): void {
    this.#hash.addNumber(Math.round(this.#now * 1000));
    switch (e.k) {
      case 'tick':
        if (this.#deferred(e.node, e)) return;
        this.#hash.addNumber(1 + e.node);
        this.#step(e.node, [{ kind: 'tick' }]);
        this.#events.push(this.#now + regionWorldTiming.tickMs, e);
        return;
      case 'deliver': {
        const to = this.#nodes[e.to] as SimNode;
        if (to.epoch !== e.epoch || to.core === null) return; // sent to an incarnation that crashed
        if (this.#deferred(e.to, e)) return;
        this.#hash.addNumber(100 + e.to * 10 + e.from);
        this.#step(e.to, [{ kind: 'peer', from: this.#names[e.from] as string, message: e.message }]);
        return;
      }
      case 'request': {
        if (this.#deferred(e.node, e)) return;
        const core = (this.#nodes[e.node] as SimNode).core;
        if (core === null) return; // nobody listening: the client times out
        this.#hash.addNumber(200 + e.reqId);
        this.#observer.admitting(e.reqId, e.request, core, this.#now);
        this.#step(e.node, [{ kind: 'request', id: e.reqId, request: e.request }]);
        return;
      }
      case 'reply': {
        const answer = this.#answers.get(e.reqId);
        if (answer === undefined) return;
        this.#answers.delete(e.reqId);
        this.#hash.addNumber(300 + e.reqId);
        answer(e.reply);
        return;
      }
      case 'work': {
        if (this.#deferred(e.node, e)) return;
        (this.#nodes[e.node] as SimNode).workQueued = false;
        this.#step(e.node, []);
        return;
      }
      case 'timer':
        e.fn();
        return;
      case 'fault':
        return this.#fault(e.action);
      case 'heal':
        return this.#heal();
      case 'check':
        return this.#check();
    }
  }

  /** One core step, its output routed; a crash during its commit takes the node down. */
  #step(i: number, inputs: RegionInput[]): void {
    const node = this.#nodes[i] as SimNode;
    const core = node.core;
    if (core === null) return;
    let out: RegionOutput;
    try {
      if (node.pauseInStepMs > 0) {
        const early = core.begin(inputs, this.#time(i));
        const body = core.commit();
        const held = { ...body, messages: [...early, ...body.messages] };
        if (held.created.some((op) => op.fence !== undefined)) return this.#pauseInStep(i, core, held);
        out = { ...held, replies: core.release(held.replies, this.#time(i).monoMs) };
      } else out = core.step(inputs, this.#time(i));
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) throw err;
      this.#down(i);
      return;
    }
    this.#route(i, core, out);
  }

  /**
   * The process stops after committing a guarded write and before answering: when it wakes, the
   * lease is checked again (RegionCore.release) and only then do its answers and messages leave.
   */
  #pauseInStep(i: number, core: RegionCore, held: RegionOutput): void {
    const node = this.#nodes[i] as SimNode;
    const ms = node.pauseInStepMs;
    node.pauseInStepMs = 0;
    node.pausedUntil = this.#now + ms;
    this.#counts.pauses++;
    this.#observer.mark(node.region, 'paused', this.#now);
    // What it committed is durable now, whatever happens to the process before it speaks.
    for (const op of held.created) this.#toLedger(op);
    this.#observer.noteCreated(node.region, held.created, this.#now);
    const epoch = node.epoch;
    this.#events.push(this.#now + ms, {
      k: 'timer',
      fn: () => {
        if (node.epoch !== epoch || node.core !== core) return; // it crashed meanwhile: nothing was said
        this.#route(i, core, { ...held, replies: core.release(held.replies, this.#time(i).monoMs) }, true);
      },
    });
  }

  /** A step's output routed: messages to the network, replies to clients, facts to the observer. */
  #route(i: number, core: RegionCore, out: RegionOutput, ledgered = false): void {
    const node = this.#nodes[i] as SimNode;
    this.#steps++;
    this.#observer.afterStep(core, out, this.#now, !ledgered);
    const trace = this.#hlcTrace[node.region] as Hlc[];
    const hlc = core.replica.hlc;
    const last = trace[trace.length - 1];
    if (last === undefined || last.wall !== hlc.wall || last.logical !== hlc.logical) trace.push(hlc);
    if (!ledgered) for (const op of out.created) this.#toLedger(op);
    for (const { to, message } of out.messages) {
      const j = this.#names.indexOf(to);
      if (j < 0 || (message.ch === 'async' && this.#acrossBridge(i, j))) continue;
      const epoch = (this.#nodes[j] as SimNode).epoch;
      for (const at of this.#net.send(i, j, this.#now, this.#rng)) this.#events.push(at, { k: 'deliver', to: j, from: i, message, epoch });
    }
    for (const { id, reply } of out.replies) {
      if (this.#answers.has(id) && !this.#clientLinkLoses()) this.#events.push(this.#now + regionWorldTiming.clientLatencyMs, { k: 'reply', reqId: id, reply });
    }
    // The core queued work for itself (a claim granted mid-turn): the shell steps it again soon.
    if (core.hasPendingWork() && !node.workQueued) {
      node.workQueued = true;
      this.#events.push(this.#now + 1, { k: 'work', node: i });
    }
    if (this.#evict !== null) this.#afterEvictionStep(i, core, out);
  }

  /**
   * An op every region will apply under its dot. An orphan report takes the dot of the orphaned
   * write it reports (replica/orphans.ts): that write, made before its region's eviction and applied
   * by no member, is replaced in the ledger by the report, which is what every region applies.
   */
  #toLedger(op: Op): void {
    if (op.orphaned !== undefined) {
      const at = this.#ledger.findIndex((o) => o.dot.origin === op.dot.origin && o.dot.seq === op.dot.seq);
      if (at >= 0) this.#ledger.splice(at, 1);
    }
    this.#ledger.push(op);
  }

  // ---- the eviction scenario -------------------------------------------------------------------

  /**
   * The history without the reads of clients that called the evicted region before its rejoin:
   * what it acknowledged then may be orphaned (never applied anywhere, by design), so their reads
   * saw, or their sessions remember, writes the cluster later does not have. Their writes stay:
   * an orphaned one is judged by the feed (final-state: listed, identically, everywhere).
   */
  #withoutOrphanedSessions(history: readonly HistoryEvent[], ev: EvictionState): HistoryEvent[] {
    const away = this.#names[ev.region] as string;
    const until = ev.installedAtMs < 0 ? Infinity : ev.installedAtMs;
    const tainted = new Set<number>();
    for (const h of history) if (h.type === 'invoke' && h.region === away && h.timeMs < until) tainted.add(h.process);
    const ids = new Set<number>();
    for (const h of history) if (h.type === 'invoke' && tainted.has(h.process) && h.call.f === 'read') ids.add(h.id);
    return history.filter((h) => !ids.has(h.id));
  }

  /**
   * The scenario's cut: the region stays cut off from every other until absentFromMs + absentForMs,
   * whatever partitions and heals the fault plan makes meanwhile (they come and go on top of it: a
   * fault's heal must not reconnect the region early, or it is never away for the window).
   */
  #cutOff(away: number, others: number[]): void {
    this.#counts.partitions++;
    this.#scenarioCut = { away, others };
    this.#applyCuts();
    this.#observer.openAffliction(this.#names[away] as string, scenarioCutLabel, this.#now);
  }

  /** The scenario's cut ends (a fault's partition in force stays). */
  #reconnect(): void {
    const cut = this.#scenarioCut;
    if (cut === null) return;
    this.#scenarioCut = null;
    this.#applyCuts();
    this.#observer.closeAffliction(this.#names[cut.away] as string, scenarioCutLabel, this.#now);
  }

  /** The permanent bridge (RegionSimOptions.bridgeThroughHeal) is in force between a and b. */
  #acrossBridge(a: number, b: number): boolean {
    const br = this.#bridge;
    return this.#bridgeCut && br !== null && ((a === br[0] && b === br[1]) || (a === br[1] && b === br[0]));
  }

  /** The network's cuts: the fault plan's partition, and the scenario's cut while it lasts. */
  #applyCuts(): void {
    this.#net.heal();
    if (this.#faultCut !== null) this.#net.partition(this.#faultCut);
    if (this.#scenarioCut !== null) this.#net.partition([[this.#scenarioCut.away], this.#scenarioCut.others]);
  }

  /** Members' log sizes, and what the members created so far, every sampleMs while the region is away. */
  #sampleLogs(): void {
    const ev = this.#evict;
    if (ev === null || this.#now > evictionScenario.absentFromMs + evictionScenario.absentForMs) return;
    ev.created.push([this.#now, ev.createdBytes]);
    for (let j = 0; j < this.#nodes.length; j++) {
      const core = (this.#nodes[j] as SimNode).core;
      if (j !== ev.region && core !== null) ev.samples.push({ atMs: this.#now, region: this.#names[j] as string, logBytes: core.replica.logBytes });
    }
    this.#events.push(this.#now + evictionScenario.sampleMs, { k: 'timer', fn: () => this.#sampleLogs() });
  }

  /** What the shell does after a step in the eviction scenario: count bytes, crash a member mid-eviction once, rejoin from a snapshot. */
  #afterEvictionStep(i: number, core: RegionCore, out: RegionOutput): void {
    const ev = this.#evict as EvictionState;
    const away = this.#names[ev.region] as string;
    if (i !== ev.region) for (const op of out.created) ev.createdBytes += approxOpBytes(op);
    const eviction = core.strong.state.membership.eviction(away);
    if (eviction?.through != null) ev.evicted = true;
    // A member crashes while the eviction waits for acknowledgements (once, by the seed's coin).
    if (i !== ev.region && eviction !== undefined && eviction.through === null && !ev.crashedDuringEviction) {
      ev.crashedDuringEviction = true;
      if (this.#rng.chance(0.5)) {
        ev.crashes++;
        this.#events.push(this.#now + 1, { k: 'timer', fn: () => this.#down(i) });
        this.#events.push(this.#now + 400, { k: 'fault', action: { k: 'restart', node: i } });
      }
    }
    const node = this.#nodes[i] as SimNode;
    if (!node.installing && core.snapshotWanted() !== null) {
      node.installing = true;
      this.#events.push(this.#now + evictionScenario.transferMs, { k: 'timer', fn: () => this.#installSnapshot(i) });
    }
  }

  /**
   * The shell's rejoin (src/server/snapshot): a copy of a write-ready member's store, the region's
   * orphaned writes kept from its old store, marked restored and installed for the readmission,
   * then the store swapped and the core opened on it. Crashes once (by the seed's coin) before the
   * swap: the old store is what is left, and the rejoin starts over after the restart.
   */
  #installSnapshot(i: number): void {
    const ev = this.#evict as EvictionState;
    const node = this.#nodes[i] as SimNode;
    node.installing = false;
    const wanted = node.core?.snapshotWanted() ?? null;
    if (node.core === null || wanted === null) return;
    // As the region node's donor (src/server/region-node.ts, snapshots.create): a member with current
    // data, write-ready or fenced only for its lease or a drain (a drained last member still donates).
    const donates = (core: RegionCore): boolean => {
      const st = core.stage;
      return core.strong.state.membership.eviction(core.region) === undefined && (st.stage === 'write-ready' || (st.stage === 'fenced' && (st.reason === 'lease' || st.reason === 'drain')));
    };
    // As fetch.ts: write-ready members first, and a copy that does not hold what the readmission
    // needs (its applied vector does not dominate `after`) is refused; the next member is asked.
    const holds = (n: SimNode): boolean => dominates((n.storage.getMeta('replica') as { applied?: VersionVector } | undefined)?.applied ?? {}, wanted.after);
    const write = this.#nodes.find((n, j) => j !== i && n.core !== null && n.core.stage.stage === 'write-ready' && holds(n));
    const donor = write ?? this.#nodes.find((n, j) => j !== i && n.core !== null && donates(n.core) && holds(n));
    if (donor === undefined) {
      node.installing = true;
      this.#events.push(this.#now + 100, { k: 'timer', fn: () => this.#installSnapshot(i) });
      return;
    }
    if (!ev.crashedDuringInstall) {
      ev.crashedDuringInstall = true;
      if (this.#rng.chance(0.5)) {
        ev.crashes++;
        this.#down(i);
        this.#events.push(this.#now + 300, { k: 'fault', action: { k: 'restart', node: i } });
        return;
      }
    }
    const copy = donor.storage.copy();
    const orphans = node.storage.readOps(node.region, wanted.through, 1_000_000);
    copy.transaction(() => {
      markRejoined(copy, node.storage, { from: donor.region, copiedAt: 'sim' });
      copy.putMeta(snapshotMetaKey, { readmitIndex: wanted.readmitIndex });
      carryOwnClock(copy, node.storage, node.region);
      copy.putMeta(orphansMetaKey, orphans.length === 0 ? [] : [{ readmitIndex: wanted.readmitIndex, ops: orphans, published: 0 }]);
      // The broken shell: the old store's rows left over the copy (a mix of the two).
      if (ev.knobs.nonAtomicSnapshotInstall === true) {
        for (const table of Object.keys(this.#config(i).replica.tables)) for (const [key, row] of node.storage.scanRows(table, { limit: 1_000_000 })) copy.putRow(table, key, row);
      }
    });
    ev.installs++;
    if (ev.installedAtMs < 0) ev.installedAtMs = this.#now;
    node.core = null;
    node.epoch++;
    node.workQueued = false;
    node.storage = copy;
    node.monoOrigin = this.#now - this.#rng.int(100_000) - 1;
    this.#open(i);
    this.#events.push(this.#now, { k: 'work', node: i });
  }

  #down(i: number): void {
    const node = this.#nodes[i] as SimNode;
    if (node.core === null) return;
    this.#counts.crashes++;
    node.storage.crash(false);
    node.core = null;
    node.epoch++;
    node.workQueued = false;
    this.#observer.mark(node.region, 'down', this.#now);
  }

  // ---- faults and healing --------------------------------------------------------------------

  #clientLinkLoses(): boolean {
    const rate = this.#net.faults.lossRate / 2;
    return rate > 0 && this.#rng.chance(rate);
  }

  #fault(a: FaultAction): void {
    this.#hash.addString(a.k);
    if (this.#phase !== 'faults' && a.k !== 'restart') return;
    switch (a.k) {
      case 'partition':
        this.#counts.partitions++;
        this.#healNet();
        this.#faultCut = a.groups;
        this.#applyCuts();
        // A region in a group smaller than a majority (an island, a bridge's end) has a fault of its own.
        for (const group of a.groups) {
          if (group.length >= majorityOf(this.#nodes.length)) continue;
          for (const i of group) this.#observer.openAffliction(this.#names[i] as string, 'cut off', this.#now);
        }
        return;
      case 'heal-net':
        this.#healNet();
        return;
      case 'links':
        this.#net.faults = { ...a.faults };
        return;
      case 'crash': {
        const node = this.#nodes[a.node] as SimNode;
        if (node.core === null) return;
        if (a.duringCommit) node.storage.crash(true); // the next commit fails: the node dies then
        else this.#down(a.node);
        return;
      }
      case 'restart':
        return this.#restart(a.node);
      case 'clock': {
        const node = this.#nodes[a.node] as SimNode;
        if (this.#evict !== null && a.node !== this.#evict.region) this.#endMembersQuorum();
        node.clock.setOffset(this.#now, a.offsetMs);
        this.#observer.clockSet(node.region, a.offsetMs, this.#now);
        return;
      }
      case 'operator':
        this.#counts.drains++;
        return this.#operator(a.via, a.op, a.region, a.force);
      case 'pause': {
        const node = this.#nodes[a.node] as SimNode;
        if (node.pausedUntil > this.#now) return;
        if (a.inStep === true) {
          node.pauseInStepMs = a.ms;
          return;
        }
        this.#counts.pauses++;
        node.pausedUntil = this.#now + a.ms;
        this.#observer.mark(node.region, 'paused', this.#now);
        return;
      }
    }
  }

  /**
   * A region that cannot reach a majority of live regions (the others down, paused, cut off from it
   * or with their clocks beyond the bound) has lost its quorum: whatever the others' faults, it is
   * then the one away, and its catch-up when they return is its own (fault containment protects a
   * region that holds a quorum: docs/internals/failover.md, "Readiness is about oneself").
   */
  #watchQuorums(): void {
    if (this.#phase !== 'faults') return;
    const n = this.#nodes.length;
    // A peer counts when it is up, awake and its clock within the bound (the clock guard trusts by a majority of clocks too).
    const live = (j: number): boolean => {
      const node = this.#nodes[j] as SimNode;
      return node.core !== null && node.pausedUntil <= this.#now && Math.abs(node.clock.offsetAt(this.#now)) <= regionWorldTiming.maxClockOffsetMs;
    };
    for (let i = 0; i < n; i++) {
      const region = this.#names[i] as string;
      let reach = 1;
      for (let j = 0; j < n; j++) if (j !== i && live(j) && !this.#net.isCut(i, j)) reach++;
      if (reach < majorityOf(n)) this.#observer.openAffliction(region, 'no quorum', this.#now);
      else this.#observer.closeAffliction(region, 'no quorum', this.#now);
    }
    this.#watchMembersQuorum(live);
    this.#events.push(this.#now + 20, { k: 'timer', fn: () => this.#watchQuorums() });
  }

  /** The eviction scenario: how long the members kept a majority together while the region was cut off (EvictionState.quorumSinceMs). */
  #watchMembersQuorum(live: (j: number) => boolean): void {
    const ev = this.#evict;
    if (ev === null) return;
    const cut = this.#scenarioCut;
    let quorum = false;
    if (cut !== null) {
      const members = cut.others.filter(live);
      quorum = members.some((i) => members.filter((j) => j === i || !this.#net.isCut(i, j)).length >= majorityOf(this.#nodes.length));
    }
    if (!quorum) return this.#endMembersQuorum();
    if (ev.quorumSinceMs === null) ev.quorumSinceMs = this.#now;
    ev.quorumLongestMs = Math.max(ev.quorumLongestMs, this.#now - ev.quorumSinceMs);
  }

  /** A member's clock stepped or it restarted: what it heard and measured starts over, and so does the members' span. */
  #endMembersQuorum(): void {
    if (this.#evict !== null) this.#evict.quorumSinceMs = null;
  }

  /** An operator's drain or undrain, sent like a client's request (its answer is not awaited). */
  #operator(via: number, op: 'drain' | 'undrain', region: number, force: boolean): void {
    const request: RegionRequest = { api: 'admin', request: { kind: op, region: this.#names[region] as string, ...(op === 'drain' ? { force } : {}) } };
    this.#events.push(this.#now + regionWorldTiming.clientLatencyMs, { k: 'request', node: via, reqId: this.#nextReq++, request });
  }

  /** The heal undrains every region (until each says so), so the heal phase ends with everyone serving. */
  #undrainAll(): void {
    const drained = this.#names.filter((r) => this.#nodes.some((n) => n.core?.strong.state.leases.slot(r).drained === true));
    for (const region of drained) this.#operator(this.#rng.int(this.#nodes.length), 'undrain', this.#names.indexOf(region), false);
    if (drained.length > 0) this.#events.push(this.#now + 300, { k: 'timer', fn: () => this.#undrainAll() });
  }

  /** The fault plan's partition heals (the eviction scenario's cut stays while it lasts). */
  #healNet(): void {
    this.#faultCut = null;
    this.#applyCuts();
    for (const region of this.#names) this.#observer.closeAffliction(region, 'cut off', this.#now);
  }

  #restart(i: number): void {
    const node = this.#nodes[i] as SimNode;
    if (node.core !== null) {
      node.storage.crash(false); // armed to crash during a commit that never came: disarm
      return;
    }
    node.epoch++;
    node.monoOrigin = this.#now - this.#rng.int(100_000) - 1; // a new boot's monotonic clock
    this.#open(i);
    this.#events.push(this.#now, { k: 'work', node: i });
  }

  #heal(): void {
    this.#phase = 'heal';
    this.#healStartMs = this.#now;
    this.#reconnect();
    this.#bridgeCut = true;
    this.#healNet();
    for (const node of this.#nodes) node.pauseInStepMs = 0;
    this.#undrainAll();
    this.#net.faults = { ...noLinkFaults };
    const bound = 0.45 * regionWorldTiming.maxClockOffsetMs;
    for (let i = 0; i < this.#nodes.length; i++) {
      const node = this.#nodes[i] as SimNode;
      const offset = Math.max(-bound, Math.min(bound, node.clock.offsetAt(this.#now)));
      node.clock.setOffset(this.#now, offset);
      this.#observer.clockSet(node.region, offset, this.#now);
      this.#restart(i);
    }
    this.#async.kick();
    this.#events.push(this.#now + 200, { k: 'check' });
  }

  /** Heal: wait for the async tables to converge, then the final strong reads, then a quiet strong log. */
  #check(): void {
    if (this.#phase === 'heal') {
      const settled = this.#asyncSettled();
      if (!settled) this.#settledSinceMs = -1;
      else if (this.#settledSinceMs < 0) this.#settledSinceMs = this.#now;
      // With the eviction scenario's short idempotency window, records expire by each region's own
      // clock: once settled, wait out the window so that every region holds the same ones (none).
      const waited = this.#evict === null || this.#now - this.#settledSinceMs > evictionScenario.windowMs + 1_500;
      if (settled && waited) {
        this.#converged = true;
        this.#phase = 'final';
        this.#finalStartMs = this.#now;
        this.#strong.finalReads();
      } else this.#async.kick();
      this.#events.push(this.#now + 50, { k: 'check' });
      return;
    }
    // Lease renewals keep the strong log moving: compare states at a moment every node has applied the same.
    const applied = this.#nodes.map((n) => n.core?.strong.raft.status().applied ?? -1);
    const timedOut = this.#now - this.#finalStartMs > regionWorldTiming.finalTimeoutMs;
    if ((this.#strong.idle() && applied.every((a) => a === applied[0])) || timedOut) {
      this.#finalStrong = this.#captureStrong();
      this.#done = true;
      return;
    }
    this.#events.push(this.#now + 5, { k: 'check' });
  }

  #asyncSettled(): boolean {
    if (!this.#async.idle()) return false;
    // The eviction scenario heals once every evicted region has rejoined (a member again everywhere).
    if (this.#evict !== null && this.#nodes.some((n) => n.core === null || n.core.strong.state.membership.size > 0)) return false;
    const statuses = this.#nodes.map((n) => n.core?.replica.status());
    const first = statuses[0];
    return (
      first !== undefined &&
      statuses.every((s) => s !== undefined && sameVector(s.vector, first.vector) && sameVector(s.stable, s.vector) && sameVector(s.gcPoint, s.vector) && s.bufferedOps === 0 && s.parkedRequests === 0)
    );
  }

  #captureStrong(): { states: Record<string, string | null>; raft: Record<string, string>; bank: Record<string, BankSnapshot | null> } {
    const states: Record<string, string | null> = {};
    const raft: Record<string, string> = {};
    const bank: Record<string, BankSnapshot | null> = {};
    for (const node of this.#nodes) {
      const core = node.core;
      if (core === null) {
        states[node.region] = null;
        bank[node.region] = null;
        continue;
      }
      const strong = core.strong;
      states[node.region] = JSON.stringify(strong.state.snapshot());
      const st = strong.raft.status();
      raft[node.region] = `${st.role} of term ${st.term}, applied ${st.applied}`;
      const balances: Record<string, number> = {};
      for (const a of accounts) balances[a] = Number(strong.state.get('bank', a)?.fields['balance'] ?? 0);
      bank[node.region] = { balances, transfers: Number(strong.state.get('bank', auditKey)?.fields['transfers'] ?? 0) };
    }
    return { states, raft, bank };
  }

  // ---- result --------------------------------------------------------------------------------

  #result(): RegionWorldResult {
    const finals: FinalRegionState[] = [];
    const metrics: Record<string, number> = {};
    for (const node of this.#nodes) {
      const core = node.core;
      if (core === null) continue;
      if (this.#converged) {
        const state = exportState({ ...core.config.replica, tables: core.tables() }, node.storage);
        finals.push({ region: node.region, vector: core.replica.vector, rows: state.rows, conflicts: state.conflicts, stateDigest: state.digest });
      }
      for (const [k, v] of Object.entries(core.metrics)) metrics[k] = (metrics[k] ?? 0) + v;
      for (const [k, v] of Object.entries(core.strong.counters)) metrics[k] = (metrics[k] ?? 0) + v;
    }
    for (const f of finals) this.#hash.addString(f.stateDigest);
    const strongFinal = this.#finalStrong ?? this.#captureStrong();
    for (const s of Object.values(strongFinal.states)) this.#hash.addString(s ?? '-');
    const history = this.#evict === null ? this.#async.history : this.#withoutOrphanedSessions(this.#async.history, this.#evict);
    const asyncRecord: RunRecord = {
      regions: this.#names,
      tables: this.#config(0).replica.tables,
      mergeFunctions: simMergeFunctions,
      history,
      ledger: this.#ledger,
      finals,
      clocks: { maxClockOffsetMs: regionWorldTiming.maxClockOffsetMs, offsetExceeded: this.#plan.offsetExceeded },
      hlcTrace: this.#hlcTrace,
    };
    const leadersByTerm: Record<number, string[]> = {};
    for (const [term, set] of this.#observer.leaders) leadersByTerm[term] = [...set].sort();
    const strongRecord: StrongRunRecord = {
      lin: this.#strong.lin,
      bank: this.#strong.bankRecord(strongFinal.bank),
      followerReads: this.#strong.followerReadsRecord(),
      leadersByTerm,
      finalStates: strongFinal.states,
      finalRaft: strongFinal.raft,
    };
    const p = regionFailover.clockProbeMs;
    // After its own fault a region measures its clock again and catches up: a few probes and the read-ready lag.
    const settleMs = regionFailover.readReadyLagMs + 3 * p;
    // The holder history as the strong log holds it (every node applies the same log; take the furthest).
    const furthest = this.#nodes.map((n) => n.core).filter((c): c is RegionCore => c !== null).sort((a, b) => b.strong.state.index - a.strong.state.index)[0];
    const leaseHistory = Object.fromEntries(furthest?.strong.state.leases.snapshot().history ?? []);
    const facts = this.#observer.facts(p, 3 * p, this.#now, { settleMs, faultsEndMs: this.#phase === 'faults' ? this.#now : this.#healStartMs }, leaseHistory);
    const count = (t: string) => history.filter((h) => h.type === t).length;
    const grantsByHolder = facts.grants.filter((g) => g.holder !== g.slot).length;
    const ev = this.#evict;
    const eviction: EvictionRecord | undefined =
      ev === null
        ? undefined
        : { region: this.#names[ev.region] as string, windowMs: evictionScenario.windowMs, created: ev.created, samples: ev.samples, absentFromMs: evictionScenario.absentFromMs, absentUntilMs: evictionScenario.absentFromMs + evictionScenario.absentForMs, evicted: ev.evicted, installs: ev.installs, crashes: ev.crashes, membersQuorumMs: ev.quorumLongestMs, settleMs: regionFailover.reachableWithinMs + 3 * p };
    return {
      record: { async: asyncRecord, strong: strongRecord, facts, ...(eviction !== undefined ? { eviction } : {}) },
      traceHash: this.#hash.hex(),
      stats: {
        events: this.#eventsRun,
        steps: this.#steps,
        simulatedMs: Math.round(this.#now),
        healMs: Math.round(this.#now - this.#healStartMs),
        converged: this.#converged,
        invokes: count('invoke'),
        oks: count('ok'),
        fails: count('fail'),
        infos: count('info'),
        strongOps: this.#strong.stats.ops,
        strongOks: this.#strong.stats.oks,
        strongInfos: this.#strong.stats.infos,
        strongReplays: this.#strong.stats.idempotentReplays,
        ...this.#counts,
        clockJumps: facts.clockJumps.length,
        elections: this.#observer.leaders.size,
        leaseGrants: facts.grants.length,
        guardedAcks: facts.guardedAcks.length,
        takeovers: grantsByHolder,
        metrics,
      },
    };
  }
}

function sameVector(a: VersionVector, b: VersionVector): boolean {
  return dominates(a, b) && dominates(b, a);
}
