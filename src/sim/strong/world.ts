/**
 * The simulated world of the strong group: one StrongNode per region on memory storage, a WAN with
 * the demo's round trips, skewed and drifting clocks (within the max offset: leases assume it),
 * seeded faults, and clients in every region running the register and bank workloads. A fault
 * phase, then a heal phase (network healed, nodes restarted) and final reads, so the checkers see
 * both what happened under faults and where the group ends up.
 *
 * The real core runs here: the same StrongNode, Raft and state machine the region node runs.
 */
import type { RegionId } from '../../core/clock/version-vector.js';
import type { TernError } from '../../core/errors.js';
import type { StrongPeerMessage, StrongReply, StrongRequest } from '../../core/strong/messages.js';
import { StrongNode, type StrongConfig, type StrongKnobs } from '../../core/strong/strong-node.js';
import { RunningHash } from '../../core/util/hash.js';
import { MemoryStorage, SimulatedCrash } from '../../storage/memory-storage.js';
import type { BankSnapshot } from '../check/bank.js';
import type { AckedWrite, FollowerRead } from '../check/follower-reads.js';
import type { LinEvent } from '../check/lin-history.js';
import type { StrongRunRecord } from './record.js';
import { EventQueue } from '../event-queue.js';
import { planFaults, type FaultAction, type FaultKind, type FaultPlan } from '../faults.js';
import { SimNetwork, noLinkFaults } from '../network.js';
import { Prng } from '../prng.js';
import { SimClock } from '../sim-clock.js';
import { regionName, rttMatrix } from '../world.js';
export type { StrongRunRecord } from './record.js';
import { accounts, auditKey, initialBalance, planStrongCall, registerKeys, requestFor, strongSimTables, type StrongCall } from './workload.js';

export interface StrongSimOptions {
  readonly seed: number;
  readonly regions?: number;
  /** Length of the fault phase in simulated ms. */
  readonly durationMs?: number;
  readonly faults: ReadonlySet<FaultKind>;
  readonly knobs?: StrongKnobs;
  readonly clientsPerRegion?: number;
}


export interface StrongSimStats {
  readonly ops: number;
  readonly oks: number;
  readonly infos: number;
  readonly fails: number;
  readonly crashes: number;
  readonly partitions: number;
  readonly elections: number;
  readonly leaseReads: number;
  readonly readIndexReads: number;
  readonly forwarded: number;
  readonly snapshots: number;
  readonly idempotentReplays: number;
  readonly quorumTimeouts: number;
  readonly followerReads: number;
}

type SimEvent =
  | { readonly k: 'tick'; readonly node: number }
  | { readonly k: 'deliver'; readonly from: number; readonly to: number; readonly message: StrongPeerMessage; readonly epoch: number }
  | { readonly k: 'client'; readonly client: number }
  | { readonly k: 'fault'; readonly action: FaultAction }
  | { readonly k: 'heal' }
  | { readonly k: 'final' }
  | { readonly k: 'end' };

interface SimNode {
  readonly region: RegionId;
  readonly storage: MemoryStorage;
  readonly clock: SimClock;
  node: StrongNode | null;
  /** Bumped on every crash: messages addressed to an earlier incarnation are dropped. */
  epoch: number;
}

interface Attempt {
  readonly client: number;
  readonly call: StrongCall;
  readonly request: StrongRequest;
  readonly invokeMs: number;
  readonly node: number;
  /** Retries left for an unknown outcome (only with an idempotency key). */
  readonly retries: number;
  /** An earlier attempt of this call had an unknown outcome. */
  readonly sawInfo?: boolean;
}

interface SimClient {
  readonly id: number;
  readonly home: number;
  readonly rng: Prng;
  readonly lastRead: Map<string, string | null>;
  /** The highest strong log index this client has been answered at: its session token. */
  session: number;
  /** Calls to make before planning new ones (the final reads). */
  readonly queue: StrongCall[];
  calls: number;
  busy: boolean;
}

const tickMs = 10;
const healMs = 4000;

export class StrongWorld {
  readonly #rng: Prng;
  readonly #names: string[];
  readonly #nodes: SimNode[];
  readonly #net: SimNetwork;
  readonly #events = new EventQueue<SimEvent>();
  readonly #plan: FaultPlan;
  readonly #hash = new RunningHash();
  readonly #clients: SimClient[] = [];
  readonly #pending = new Map<number, Attempt>();
  readonly #lin: LinEvent[] = [];
  readonly #ackedWrites: AckedWrite[] = [];
  readonly #followerReads: FollowerRead[] = [];
  readonly #reads: Array<BankSnapshot & { process: number; invokeMs: number; okMs: number }> = [];
  readonly #leaders = new Map<number, Set<string>>();
  readonly #config: (i: number) => StrongConfig;
  #transfersCommitted = 0;
  #transfersUnknown = 0;
  #now = 0;
  #nextReq = 1;
  #phase: 'faults' | 'heal' | 'final' = 'faults';
  #done = false;
  readonly #stats = { ops: 0, oks: 0, infos: 0, fails: 0, crashes: 0, partitions: 0, idempotentReplays: 0 };

  constructor(options: StrongSimOptions) {
    this.#rng = new Prng(options.seed);
    const n = options.regions ?? 3;
    this.#names = Array.from({ length: n }, (_, i) => regionName(i));
    const maxClockOffsetMs = 100;
    const tables = strongSimTables(this.#names);
    const preferred = this.#rng.chance(0.5) ? (this.#names[0] as string) : undefined;
    const randoms = this.#names.map(() => this.#rng.fork());
    this.#config = (i) => ({
      region: this.#names[i] as string,
      regions: this.#names,
      tables,
      mergeFunctions: [],
      tickMs,
      heartbeatMs: 50,
      electionMs: 400,
      maxClockOffsetMs,
      requestTimeoutMs: 1500,
      sessionWaitMs: 500,
      idempotencyRetentionMs: 3_600_000,
      snapshotEveryEntries: 60,
      random: () => (randoms[i] as Prng).float(),
      ...(preferred !== undefined ? { preferredLeader: preferred } : {}),
      ...(options.knobs !== undefined ? { knobs: options.knobs } : {}),
    });
    const duration = options.durationMs ?? 6000;
    const plan = planFaults(this.#rng.fork(), options.faults, n, duration, maxClockOffsetMs);
    // Leases assume clocks within the bound: keep only clock faults inside it (the async
    // simulator is where clocks beyond the bound are exercised).
    this.#plan = { ...plan, actions: plan.actions.filter(([, a]) => a.k !== 'clock' || Math.abs(a.offsetMs) <= 0.45 * maxClockOffsetMs) };
    this.#net = new SimNetwork(rttMatrix(this.#names));
    this.#nodes = this.#names.map((region, i) => {
      const storage = new MemoryStorage();
      const clock = new SimClock(this.#plan.initialOffsetsMs[i] ?? 0, this.#plan.driftPpm[i] ?? 0);
      const sim: SimNode = { region, storage, clock, node: null, epoch: 0 };
      sim.node = StrongNode.open(this.#config(i), storage, clock.read(0));
      return sim;
    });
    for (let i = 0; i < n; i++) this.#events.push(this.#rng.int(tickMs), { k: 'tick', node: i });
    for (const [t, action] of this.#plan.actions) this.#events.push(t, { k: 'fault', action });
    this.#events.push(duration, { k: 'heal' });
    let id = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < (options.clientsPerRegion ?? 4); c++) {
        const client: SimClient = { id: id++, home: i, rng: this.#rng.fork(), lastRead: new Map(), session: 0, queue: [], calls: 0, busy: false };
        this.#clients.push(client);
      }
    }
    // One client sets the bank up first; the others start once it answered.
    (this.#clients[0] as SimClient).queue.push({ f: 'setup' });
    this.#events.push(0, { k: 'client', client: 0 });
  }

  run(): { record: StrongRunRecord; traceHash: string; stats: StrongSimStats } {
    for (;;) {
      const next = this.#events.pop();
      if (next === undefined || this.#done) break;
      this.#now = next.time;
      this.#handle(next.item);
      this.#noteLeaders();
    }
    return { record: this.#result(), traceHash: this.#hash.hex(), stats: this.#collectStats() };
  }

  // ---- events ------------------------------------------------------------------------------

  #handle(e: SimEvent): void {
    this.#hash.addNumber(Math.round(this.#now * 1000));
    switch (e.k) {
      case 'tick':
        this.#hash.addNumber(1 + e.node);
        this.#step(e.node, [{ kind: 'tick' }]);
        this.#events.push(this.#now + tickMs, e);
        return;
      case 'deliver': {
        const to = this.#nodes[e.to] as SimNode;
        if (to.epoch !== e.epoch || to.node === null) return; // sent to an incarnation that crashed
        this.#hash.addNumber(100 + e.to * 10 + e.from);
        this.#step(e.to, [{ kind: 'peer', from: this.#names[e.from] as string, message: e.message }]);
        return;
      }
      case 'client':
        return this.#nextCall(this.#clients[e.client] as SimClient);
      case 'fault':
        return this.#fault(e.action);
      case 'heal':
        return this.#heal();
      case 'final':
        return this.#finalReads();
      case 'end':
        this.#done = true;
        return;
    }
  }

  #step(i: number, inputs: Parameters<StrongNode['handle']>[0]): void {
    const sim = this.#nodes[i] as SimNode;
    const node = sim.node;
    if (node === null) return;
    let replies: Array<{ id: number; reply: StrongReply }>;
    try {
      node.handle(inputs, sim.clock.read(this.#now));
      const out = node.flush();
      for (const { to, message } of out.messages) this.#send(i, to, message);
      replies = out.replies;
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) throw err;
      this.#crash(i);
      return;
    }
    for (const { id, reply } of replies) this.#onReply(id, reply);
  }

  #send(from: number, to: RegionId, message: StrongPeerMessage): void {
    const j = this.#names.indexOf(to);
    if (j < 0) return;
    const epoch = (this.#nodes[j] as SimNode).epoch;
    for (const at of this.#net.send(from, j, this.#now, this.#rng)) this.#events.push(at, { k: 'deliver', from, to: j, message, epoch });
  }

  #fault(a: FaultAction): void {
    if (this.#phase !== 'faults' && a.k !== 'restart') return;
    switch (a.k) {
      case 'partition':
        this.#stats.partitions++;
        this.#net.heal();
        this.#net.partition(a.groups);
        return;
      case 'heal-net':
        this.#net.heal();
        return;
      case 'links':
        this.#net.faults = a.faults;
        return;
      case 'crash': {
        const sim = this.#nodes[a.node] as SimNode;
        if (sim.node === null) return;
        if (a.duringCommit) sim.storage.crash(true); // the next commit fails: the node dies then
        else this.#crash(a.node);
        return;
      }
      case 'restart':
        return this.#restart(a.node);
      case 'clock':
        (this.#nodes[a.node] as SimNode).clock.setOffset(this.#now, a.offsetMs);
        return;
    }
  }

  #crash(i: number): void {
    const sim = this.#nodes[i] as SimNode;
    if (sim.node === null) return;
    this.#stats.crashes++;
    sim.storage.crash(false);
    sim.node = null;
    sim.epoch++;
    // Requests in flight at the node: their clients learn nothing (a timeout: unknown outcome).
    for (const [req, at] of [...this.#pending]) if (at.node === i) this.#complete(req, { kind: 'info' });
  }

  #restart(i: number): void {
    const sim = this.#nodes[i] as SimNode;
    if (sim.node !== null) {
      sim.storage.crash(false); // armed to crash during a commit that never came: disarm
      return;
    }
    sim.node = StrongNode.open(this.#config(i), sim.storage, sim.clock.read(this.#now));
  }

  #heal(): void {
    this.#phase = 'heal';
    this.#net.heal();
    this.#net.faults = { ...noLinkFaults };
    for (let i = 0; i < this.#nodes.length; i++) {
      const sim = this.#nodes[i] as SimNode;
      sim.storage.crash(false);
      if (sim.node === null) this.#restart(i);
    }
    this.#events.push(this.#now + healMs, { k: 'final' });
  }

  #noteLeaders(): void {
    for (const sim of this.#nodes) {
      const n = sim.node;
      if (n === null || n.raft.role !== 'leader') continue;
      let set = this.#leaders.get(n.raft.term);
      if (set === undefined) this.#leaders.set(n.raft.term, (set = new Set()));
      set.add(sim.region);
    }
  }

  // ---- clients -----------------------------------------------------------------------------

  #nextCall(c: SimClient): void {
    if (c.busy) return;
    const queued = c.queue.shift();
    if (queued !== undefined) return this.#submit(c, queued, 0);
    if (this.#phase !== 'faults') return;
    c.calls++;
    const call = planStrongCall(c.rng, `p${c.id}-${c.calls}`, c.lastRead);
    this.#submit(c, call, c.rng.chance(0.3) ? 2 : 0);
  }

  /** A new call: recorded as invoked, sent to the client's region (with a key if it may be retried). */
  #submit(c: SimClient, call: StrongCall, retries: number): void {
    let request = requestFor(call);
    if (retries > 0 && (request.kind === 'txn' || request.kind === 'write')) request = { ...request, idempotencyKey: `k-${c.id}-${c.calls}` };
    if (request.kind === 'read' && request.consistency === 'session') request = { ...request, session: c.session };
    this.#stats.ops++;
    this.#invoke(c, call, this.#now);
    c.busy = true;
    // Follower reads go to any region (a client that failed over): sessions must carry over.
    const node = call.f === 'follower-read' ? c.rng.int(this.#nodes.length) : c.home;
    this.#attempt({ client: c.id, call, request, invokeMs: this.#now, node, retries });
  }

  #attempt(attempt: Attempt): void {
    const id = this.#nextReq++;
    this.#pending.set(id, attempt);
    const sim = this.#nodes[attempt.node] as SimNode;
    if (sim.node === null) {
      // Connection refused: this attempt certainly did nothing.
      this.#complete(id, { kind: 'fail' });
      return;
    }
    this.#hash.addNumber(200 + id);
    this.#step(attempt.node, [{ kind: 'request', id, request: attempt.request }]);
  }

  #invoke(c: SimClient, call: StrongCall, time: number): void {
    const base = { type: 'invoke' as const, process: c.id, time };
    if (call.f === 'read') this.#lin.push({ ...base, key: call.key, op: 'read' });
    else if (call.f === 'write') this.#lin.push({ ...base, key: call.key, op: 'write', value: call.value });
    else if (call.f === 'cas') this.#lin.push({ ...base, key: call.key, op: 'cas', value: { from: call.from, to: call.to } });
  }

  #onReply(id: number, reply: StrongReply): void {
    const at = this.#pending.get(id);
    if (at === undefined) return;
    if (reply.ok) {
      if ((reply.kind === 'txn' || reply.kind === 'write') && reply.replayed) this.#stats.idempotentReplays++;
      return this.#complete(id, { kind: 'ok', reply });
    }
    const e: TernError = reply.error;
    if (e.code === 'QUORUM_TIMEOUT' && e.mayHaveCommitted === true) return this.#complete(id, { kind: 'info' });
    this.#complete(id, { kind: 'fail' });
  }

  /** Records the outcome of an attempt; an unknown outcome with retries left is retried elsewhere with the same key. */
  #complete(id: number, outcome: { kind: 'ok'; reply: StrongReply } | { kind: 'fail' } | { kind: 'info' }): void {
    const at = this.#pending.get(id) as Attempt;
    this.#pending.delete(id);
    const c = this.#clients[at.client] as SimClient;
    const keyed = (at.request.kind === 'txn' || at.request.kind === 'write') && at.request.idempotencyKey !== undefined;
    if (outcome.kind !== 'ok' && at.retries > 0 && keyed && this.#phase === 'faults') {
      // Retry the same request with the same key in another region: at most one execution,
      // and the history sees one operation from the first invoke to the last answer.
      const node = (at.node + 1 + c.rng.int(this.#nodes.length - 1)) % this.#nodes.length;
      // A failed attempt (nothing done) followed by an unknown one is unknown overall.
      this.#attempt({ ...at, node, retries: at.retries - 1, ...(outcome.kind === 'info' ? { sawInfo: true } : {}) });
      return;
    }
    const final = outcome.kind === 'fail' && at.sawInfo === true ? { kind: 'info' as const } : outcome;
    this.#record(c, at, final);
    c.busy = false;
    if (this.#phase === 'faults' || c.queue.length > 0) this.#events.push(this.#now + c.rng.between(0, 40), { k: 'client', client: c.id });
  }

  #record(c: SimClient, at: Attempt, outcome: { kind: 'ok'; reply: StrongReply } | { kind: 'fail' } | { kind: 'info' }): void {
    const time = this.#now;
    const call = at.call;
    if (outcome.kind === 'ok') {
      this.#stats.oks++;
      if (outcome.reply.ok && 'index' in outcome.reply) c.session = Math.max(c.session, outcome.reply.index);
    }
    else if (outcome.kind === 'info') this.#stats.infos++;
    else this.#stats.fails++;
    const lin = (type: LinEvent['type'], key: string, op: LinEvent['op'], value?: LinEvent['value']): void => {
      this.#lin.push(value === undefined ? { type, process: c.id, key, op, time } : { type, process: c.id, key, op, value, time });
    };
    const followerRead = (consistency: FollowerRead['consistency'], row: { version: string } | null, maxStalenessMs?: number): void => {
      const region = this.#names[at.node] as string;
      const version = row === null ? 0 : Number(row.version);
      this.#followerReads.push({ process: c.id, key: call.f === 'read' || call.f === 'follower-read' ? call.key : '', consistency, region, invokeMs: at.invokeMs, okMs: time, version, ...(maxStalenessMs !== undefined ? { maxStalenessMs } : {}) });
    };
    // The row the write left, not the reply's index: a replayed retry answers at a later index
    // than the entry that wrote the row.
    const acked = (key: string, reply: StrongReply): void => {
      const row = !reply.ok ? null : reply.kind === 'write' ? reply.row : reply.kind === 'txn' ? reply.outcome.results[0] : null;
      if (row !== null && row !== undefined) this.#ackedWrites.push({ process: c.id, key, index: Number(row.version), okMs: time });
    };
    switch (call.f) {
      case 'read': {
        if (outcome.kind !== 'ok' || outcome.reply.ok !== true || outcome.reply.kind !== 'read') return lin('fail', call.key, 'read');
        const v = outcome.reply.row?.fields['v'];
        const value = typeof v === 'string' ? v : null;
        c.lastRead.set(call.key, value);
        followerRead('strong', outcome.reply.row);
        return lin('ok', call.key, 'read', value);
      }
      case 'follower-read': {
        if (outcome.kind !== 'ok' || outcome.reply.ok !== true || outcome.reply.kind !== 'read') return;
        const v = outcome.reply.row?.fields['v'];
        c.lastRead.set(call.key, typeof v === 'string' ? v : null);
        return followerRead(call.consistency, outcome.reply.row, call.consistency === 'bounded' ? call.maxStalenessMs : undefined);
      }
      case 'write':
        if (outcome.kind === 'ok') acked(call.key, outcome.reply);
        return lin(outcome.kind, call.key, 'write');
      case 'cas': {
        if (outcome.kind !== 'ok') return lin(outcome.kind, call.key, 'cas');
        // A cas whose compare did not hold is an ok operation that returned false: the checker
        // then knows the register did not hold `from` at some point in the call.
        const succeeded = outcome.reply.ok && outcome.reply.kind === 'txn' && outcome.reply.outcome.succeeded;
        if (succeeded) {
          c.lastRead.set(call.key, call.to);
          acked(call.key, outcome.reply);
        }
        this.#lin.push({ type: 'ok', process: c.id, key: call.key, op: 'cas', ok: succeeded, time });
        return;
      }
      case 'transfer':
        if (outcome.kind === 'info') this.#transfersUnknown++;
        else if (outcome.kind === 'ok' && outcome.reply.ok && outcome.reply.kind === 'txn' && outcome.reply.outcome.succeeded) this.#transfersCommitted++;
        return;
      case 'balances': {
        if (outcome.kind !== 'ok' || !outcome.reply.ok || outcome.reply.kind !== 'txn') return;
        const rows = outcome.reply.outcome.results;
        const balances: Record<string, number> = {};
        accounts.forEach((a, i) => (balances[a] = Number(rows[i]?.fields['balance'] ?? 0)));
        const transfers = Number(rows[accounts.length]?.fields['transfers'] ?? 0);
        this.#reads.push({ balances, transfers, process: c.id, invokeMs: at.invokeMs, okMs: time });
        return;
      }
      case 'setup':
        if (outcome.kind !== 'ok') {
          // Not set up yet (no leader yet): this client tries again next. The compare makes a repeat harmless.
          c.queue.unshift({ f: 'setup' });
          return;
        }
        for (const other of this.#clients) if (other !== c) this.#events.push(this.#now + other.rng.int(50), { k: 'client', client: other.id });
        return;
    }
  }

  /** After the heal: every client reads every register and the bank once more, then the run ends. */
  #finalReads(): void {
    this.#phase = 'final';
    for (const c of this.#clients) {
      c.queue.push(...registerKeys.map((key) => ({ f: 'read' as const, key })), { f: 'balances' });
      this.#events.push(this.#now + c.rng.int(20), { k: 'client', client: c.id });
    }
    this.#events.push(this.#now + 6000, { k: 'end' });
  }

  // ---- results -----------------------------------------------------------------------------

  #result(): StrongRunRecord {
    const finalStates: Record<string, string | null> = {};
    const finalRaft: Record<string, string> = {};
    const final: Record<string, BankSnapshot | null> = {};
    for (const sim of this.#nodes) {
      const n = sim.node;
      if (n === null) {
        finalStates[sim.region] = null;
        final[sim.region] = null;
        continue;
      }
      finalStates[sim.region] = JSON.stringify(n.state.snapshot());
      const st = n.raft.status();
      finalRaft[sim.region] = `${st.role} of term ${st.term}, applied ${st.applied}`;
      const balances: Record<string, number> = {};
      for (const a of accounts) balances[a] = Number(n.state.get('bank', a)?.fields['balance'] ?? 0);
      final[sim.region] = { balances, transfers: Number(n.state.get('bank', auditKey)?.fields['transfers'] ?? 0) };
    }
    const leadersByTerm: Record<number, string[]> = {};
    for (const [term, set] of this.#leaders) leadersByTerm[term] = [...set].sort();
    return {
      lin: this.#lin,
      followerReads: { writes: this.#ackedWrites, reads: this.#followerReads },
      bank: { accounts, total: accounts.length * initialBalance, reads: this.#reads, transfersCommitted: this.#transfersCommitted, transfersUnknown: this.#transfersUnknown, final },
      leadersByTerm,
      finalStates,
      finalRaft,
    };
  }

  #collectStats(): StrongSimStats {
    const sum = (f: (n: StrongNode) => number): number => this.#nodes.reduce((acc, s) => acc + (s.node === null ? 0 : f(s.node)), 0);
    return {
      ...this.#stats,
      elections: this.#leaders.size,
      leaseReads: sum((n) => n.counters.leaseReads),
      readIndexReads: sum((n) => n.counters.readIndexReads),
      forwarded: sum((n) => n.counters.forwarded),
      snapshots: sum((n) => n.counters.snapshots),
      quorumTimeouts: sum((n) => n.counters.quorumTimeouts),
      followerReads: sum((n) => n.counters.followerReads),
    };
  }
}
