/**
 * One simulated run: N regions of the real replica core on one event queue, with simulated
 * clocks, network, disks and clients. A fault phase (workload + faults), then a heal phase that
 * must converge. Everything random comes from one seed, so a run replays exactly; the trace hash
 * proves it.
 */
import type { Hlc } from '../core/clock/hlc.js';
import { decodeSessionToken, dominates, type RegionId, type VersionVector } from '../core/clock/version-vector.js';
import { replicaDefaults, type Knobs, type ReplicaConfig } from '../core/replica/config.js';
import { exportState } from '../core/replica/export.js';
import type { ClientReply, ClientRequest, Input, PeerMessage } from '../core/replica/messages.js';
import { Replica } from '../core/replica/replica.js';
import { RunningHash } from '../core/util/hash.js';
import { MemoryStorage, SimulatedCrash } from '../storage/memory-storage.js';
import { EventQueue } from './event-queue.js';
import { planFaults, type FaultAction, type FaultKind, type FaultPlan } from './faults.js';
import type { ClientCall, FinalRegionState, HistoryEvent, RunRecord } from './history.js';
import { noLinkFaults, SimNetwork } from './network.js';
import { Prng } from './prng.js';
import { SimClock } from './sim-clock.js';
import { newWorkloadState, planCall, simMergeFunctions, simTables, type PlannedCall, type WorkloadState } from './workload.js';
import type { Op } from '../core/model/op.js';

export interface SimOptions {
  readonly seed: number;
  readonly regions: number;
  readonly ops: number;
  readonly faults: ReadonlySet<FaultKind>;
  readonly knobs?: Knobs;
  readonly clientsPerRegion?: number;
  readonly maxClockOffsetMs?: number;
  /** Keep one link cut through the heal phase (a permanent bridge that only relay can cross). */
  readonly bridgeThroughHeal?: boolean;
}

const regionNames = ['us-east', 'eu-west', 'ap-south', 'sa-east', 'af-south', 'ap-east', 'us-west', 'eu-north'];
const demoRttMs: Record<string, number> = { 'us-east/eu-west': 80, 'us-east/ap-south': 190, 'eu-west/ap-south': 120 };

export function regionName(i: number): string {
  return regionNames[i] ?? `r${i}`;
}

export function rttMatrix(names: readonly string[]): number[][] {
  return names.map((a, i) =>
    names.map((b, j) => {
      if (i === j) return 0;
      return demoRttMs[`${a}/${b}`] ?? demoRttMs[`${b}/${a}`] ?? 60 + 35 * Math.abs(i - j);
    }),
  );
}

const tickIntervalMs = 20;
const clientTimeoutMs = 1_500;
const clientLatencyMs = 1;
const healTimeoutMs = 60_000;
/** Client calls per second the workload aims at, which sets the fault phase's length. */
const opsPerSecond = 300;

type SimEvent =
  | { readonly k: 'tick'; readonly node: number }
  | { readonly k: 'deliver'; readonly to: number; readonly from: number; readonly message: PeerMessage }
  | { readonly k: 'request'; readonly node: number; readonly reqId: number; readonly request: ClientRequest }
  | { readonly k: 'reply'; readonly client: number; readonly reqId: number; readonly reply: ClientReply }
  | { readonly k: 'timeout'; readonly client: number; readonly reqId: number }
  | { readonly k: 'client'; readonly client: number }
  | { readonly k: 'fault'; readonly action: FaultAction }
  | { readonly k: 'heal' }
  | { readonly k: 'check' };

interface SimNode {
  readonly region: RegionId;
  readonly storage: MemoryStorage;
  readonly clock: SimClock;
  replica: Replica | null;
}

interface Pending {
  readonly reqId: number;
  readonly historyId: number;
  readonly planned: PlannedCall;
  readonly node: number;
  readonly attempt: number;
  readonly firstId: number;
}

interface SimClient {
  readonly id: number;
  readonly home: number;
  readonly rng: Prng;
  token: string | undefined;
  calls: number;
  pending: Pending | null;
  followUp: PlannedCall | null;
}

export interface SimStats {
  readonly events: number;
  readonly steps: number;
  readonly simulatedMs: number;
  readonly healMs: number;
  readonly converged: boolean;
  readonly invokes: number;
  readonly oks: number;
  readonly fails: number;
  readonly infos: number;
  readonly crashes: number;
  readonly partitions: number;
  /** Summed replica metrics of the final replicas (coverage: did the interesting things happen). */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface WorldResult {
  readonly record: RunRecord;
  readonly traceHash: string;
  readonly stats: SimStats;
}

export class World {
  readonly #opt: Required<Omit<SimOptions, 'knobs' | 'bridgeThroughHeal'>> & { knobs?: Knobs; bridgeThroughHeal?: boolean };
  readonly #rng: Prng;
  readonly #names: string[];
  readonly #config: (i: number) => ReplicaConfig;
  readonly #nodes: SimNode[];
  readonly #net: SimNetwork;
  readonly #events = new EventQueue<SimEvent>();
  readonly #plan: FaultPlan;
  readonly #clients: SimClient[] = [];
  readonly #workload: WorkloadState = newWorkloadState();
  readonly #history: HistoryEvent[] = [];
  readonly #ledger: Op[] = [];
  readonly #hlcTrace: Record<RegionId, Hlc[]> = {};
  readonly #hash = new RunningHash();
  readonly #faultPhaseMs: number;
  #now = 0;
  #nextReqId = 1;
  #nextHistoryId = 1;
  #issued = 0;
  #healing = false;
  #healStartMs = 0;
  #done = false;
  #converged = false;
  #eventsRun = 0;
  #steps = 0;
  #crashes = 0;
  #partitions = 0;
  readonly #reqClient = new Map<number, number>();

  constructor(options: SimOptions) {
    this.#opt = { clientsPerRegion: 4, maxClockOffsetMs: 250, ...options };
    this.#rng = new Prng(options.seed);
    const n = options.regions;
    this.#names = Array.from({ length: n }, (_, i) => regionName(i));
    const tables = simTables(this.#names);
    this.#config = (i) => ({
      ...replicaDefaults,
      region: this.#names[i] as string,
      regions: this.#names,
      tables,
      mergeFunctions: simMergeFunctions,
      maxClockOffsetMs: this.#opt.maxClockOffsetMs,
      ...(options.knobs === undefined ? {} : { knobs: options.knobs }),
    });
    this.#faultPhaseMs = Math.max(1_000, Math.round((options.ops / opsPerSecond) * 1000));
    this.#plan = planFaults(this.#rng.fork(), options.faults, n, this.#faultPhaseMs, this.#opt.maxClockOffsetMs);
    this.#net = new SimNetwork(rttMatrix(this.#names));
    this.#nodes = this.#names.map((region, i) => {
      const storage = new MemoryStorage();
      const clock = new SimClock(this.#plan.initialOffsetsMs[i] ?? 0, this.#plan.driftPpm[i] ?? 0);
      const node: SimNode = { region, storage, clock, replica: Replica.open(this.#config(i), storage, clock.read(0)) };
      this.#hlcTrace[region] = [];
      return node;
    });
    for (let i = 0; i < n; i++) this.#events.push(this.#rng.int(tickIntervalMs), { k: 'tick', node: i });
    for (const [t, action] of this.#plan.actions) this.#events.push(t, { k: 'fault', action });
    this.#events.push(this.#faultPhaseMs, { k: 'heal' });
    let id = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < this.#opt.clientsPerRegion; c++) {
        const client: SimClient = { id: id++, home: i, rng: this.#rng.fork(), token: undefined, calls: 0, pending: null, followUp: null };
        this.#clients.push(client);
        this.#events.push(this.#rng.int(50), { k: 'client', client: client.id });
      }
    }
  }

  /** The regions' storages, for post-mortem debugging of a failed run. */
  storages(): readonly MemoryStorage[] {
    return this.#nodes.map((n) => n.storage);
  }

  run(): WorldResult {
    for (;;) {
      const next = this.#events.pop();
      if (next === undefined || this.#done) break;
      this.#now = next.time;
      this.#eventsRun++;
      this.#handle(next.item);
      if (this.#healing && this.#now - this.#healStartMs > healTimeoutMs) break;
    }
    return this.#result();
  }

  // ---- events ----------------------------------------------------------------------------

  #handle(e: SimEvent): void {
    this.#hash.addNumber(Math.round(this.#now * 1000));
    switch (e.k) {
      case 'tick':
        this.#hash.addNumber(1 + e.node);
        this.#step(e.node, [{ kind: 'tick' }]);
        this.#events.push(this.#now + tickIntervalMs, e);
        return;
      case 'deliver':
        this.#hash.addNumber(100 + e.to * 10 + e.from);
        this.#step(e.to, [{ kind: 'peer', from: this.#names[e.from] as string, message: e.message }]);
        return;
      case 'request':
        this.#hash.addNumber(200 + e.reqId);
        this.#step(e.node, [{ kind: 'request', id: e.reqId, request: e.request }]);
        return;
      case 'reply':
        return this.#onReply(e.client, e.reqId, e.reply);
      case 'timeout':
        return this.#onTimeout(e.client, e.reqId);
      case 'client':
        return this.#nextCall(e.client);
      case 'fault':
        return this.#fault(e.action);
      case 'heal':
        // The fault phase lasts until the workload has issued all its calls (within reason).
        if (this.#issued < this.#opt.ops && this.#now < 4 * this.#faultPhaseMs) {
          this.#events.push(this.#now + 100, e);
          return;
        }
        return this.#heal();
      case 'check':
        return this.#check();
    }
  }

  /** Runs one replica step and routes its output; a crash during the commit takes the node down. */
  #step(i: number, inputs: Input[]): void {
    const node = this.#nodes[i] as SimNode;
    const replica = node.replica;
    if (replica === null) return;
    let out;
    try {
      out = replica.step(inputs, node.clock.read(this.#now));
    } catch (err) {
      if (!(err instanceof SimulatedCrash)) throw err;
      node.replica = null;
      this.#crashes++;
      return;
    }
    this.#steps++;
    const trace = this.#hlcTrace[node.region] as Hlc[];
    const hlc = replica.hlc;
    const last = trace[trace.length - 1];
    if (last === undefined || last.wall !== hlc.wall || last.logical !== hlc.logical) trace.push(hlc);
    for (const op of out.created) this.#ledger.push(op);
    for (const { to, message } of out.messages) {
      const j = this.#names.indexOf(to);
      for (const at of this.#net.send(i, j, this.#now, this.#rng)) this.#events.push(at, { k: 'deliver', to: j, from: i, message });
    }
    for (const { id, reply } of out.replies) {
      const client = this.#reqClient.get(id);
      if (client !== undefined && !this.#clientLinkLoses()) this.#events.push(this.#now + clientLatencyMs, { k: 'reply', client, reqId: id, reply });
    }
  }

  // ---- clients ---------------------------------------------------------------------------

  #nextCall(c: number): void {
    const client = this.#clients[c] as SimClient;
    if (client.pending !== null) return;
    let planned = client.followUp;
    client.followUp = null;
    if (planned === null) {
      if (this.#healing || this.#issued >= this.#opt.ops) return;
      planned = planCall(client.rng, this.#workload, client.id, client.calls);
    }
    client.calls++;
    this.#issued++;
    this.#send(client, planned, client.home, 1, null);
  }

  #send(client: SimClient, planned: PlannedCall, node: number, attempt: number, firstId: number | null): void {
    const reqId = this.#nextReqId++;
    const historyId = this.#nextHistoryId++;
    const session = client.token === undefined ? {} : decodeOrEmpty(client.token);
    this.#history.push({
      type: 'invoke',
      id: historyId,
      process: client.id,
      region: this.#names[node] as string,
      timeMs: this.#now,
      call: planned.call,
      session,
      ...(firstId === null ? {} : { retryOf: firstId }),
    });
    client.pending = { reqId, historyId, planned, node, attempt, firstId: firstId ?? historyId };
    this.#reqClient.set(reqId, client.id);
    // Requests and answers cross the same lossy network: a lost answer to a committed write is
    // what makes clients retry writes that did happen.
    if (!this.#clientLinkLoses()) this.#events.push(this.#now + clientLatencyMs, { k: 'request', node, reqId, request: toRequest(planned.call, client.token) });
    this.#events.push(this.#now + clientTimeoutMs, { k: 'timeout', client: client.id, reqId });
  }

  #onReply(c: number, reqId: number, reply: ClientReply): void {
    const client = this.#clients[c] as SimClient;
    const p = client.pending;
    if (p === null || p.reqId !== reqId) return; // a late answer after a timeout: already recorded as info
    client.pending = null;
    if (!reply.ok) {
      this.#history.push({ type: 'fail', id: p.historyId, timeMs: this.#now, code: reply.error.code });
    } else if (reply.kind === 'write') {
      client.token = reply.token;
      this.#history.push({ type: 'ok', id: p.historyId, timeMs: this.#now, result: { kind: 'write', dot: reply.result.dot, row: reply.result.row, token: decodeOrEmpty(reply.token) } });
      p.planned.onOk?.();
    } else if (reply.kind === 'read') {
      client.token = reply.token;
      this.#history.push({ type: 'ok', id: p.historyId, timeMs: this.#now, result: { kind: 'read', row: reply.row, vector: reply.vector, token: decodeOrEmpty(reply.token) } });
      p.planned.onOk?.();
      client.followUp = p.planned.then?.(reply.row) ?? null;
    }
    this.#events.push(this.#now + client.rng.between(2, 20), { k: 'client', client: c });
  }

  #onTimeout(c: number, reqId: number): void {
    const client = this.#clients[c] as SimClient;
    const p = client.pending;
    if (p === null || p.reqId !== reqId) return;
    client.pending = null;
    this.#history.push({ type: 'info', id: p.historyId, timeMs: this.#now, reason: 'timeout' });
    const call = p.planned.call;
    // A write with an idempotency key is safe to retry elsewhere: it must take effect once.
    if (call.f !== 'read' && call.idempotencyKey !== undefined && p.attempt === 1 && this.#names.length > 1) {
      // Retry elsewhere; usually in a region cut off from the first one, if there is one, as a
      // client whose region became unreachable would. That is where copies are made.
      const others = this.#names.map((_, i) => i).filter((i) => i !== p.node);
      const cutOff = others.filter((i) => this.#net.isCut(p.node, i));
      const pool = cutOff.length > 0 && client.rng.chance(0.7) ? cutOff : others;
      this.#send(client, p.planned, client.rng.pick(pool), 2, p.firstId);
      return;
    }
    this.#events.push(this.#now + client.rng.between(2, 20), { k: 'client', client: c });
  }

  // ---- faults and healing ----------------------------------------------------------------

  #clientLinkLoses(): boolean {
    const rate = this.#net.faults.lossRate / 2;
    return rate > 0 && this.#rng.chance(rate);
  }

  #fault(a: FaultAction): void {
    this.#hash.addString(a.k);
    if (this.#healing && a.k !== 'restart') return;
    switch (a.k) {
      case 'partition':
        this.#partitions++;
        this.#net.heal();
        this.#net.partition(a.groups);
        return;
      case 'heal-net':
        this.#net.heal();
        return;
      case 'crash': {
        const node = this.#nodes[a.node] as SimNode;
        if (node.replica === null) return;
        if (a.duringCommit) node.storage.crash(true);
        else {
          node.storage.crash(false);
          node.replica = null;
          this.#crashes++;
        }
        return;
      }
      case 'restart':
        return this.#restart(a.node);
      case 'clock':
        (this.#nodes[a.node] as SimNode).clock.setOffset(this.#now, a.offsetMs);
        return;
      case 'links':
        this.#net.faults = { ...a.faults };
        return;
    }
  }

  #restart(i: number): void {
    const node = this.#nodes[i] as SimNode;
    if (node.replica !== null) {
      // Armed to crash during a commit that never came: disarm.
      node.storage.crash(false);
      return;
    }
    node.replica = Replica.open(this.#config(i), node.storage, node.clock.read(this.#now));
  }

  #heal(): void {
    this.#healing = true;
    this.#healStartMs = this.#now;
    this.#net.heal();
    const bridge = this.#opt.bridgeThroughHeal === true && this.#nodes.length >= 3 ? ([0, 2] as const) : this.#opt.bridgeThroughHeal === false ? null : this.#plan.bridgeThroughHeal;
    if (bridge !== null) this.#net.partition([[bridge[0]], [bridge[1]]]);
    this.#net.faults = { ...noLinkFaults };
    for (let i = 0; i < this.#nodes.length; i++) {
      const node = this.#nodes[i] as SimNode;
      const bound = 0.45 * this.#opt.maxClockOffsetMs;
      node.clock.setOffset(this.#now, Math.max(-bound, Math.min(bound, node.clock.offsetAt(this.#now))));
      this.#restart(i);
    }
    this.#events.push(this.#now + 200, { k: 'check' });
  }

  /** Converged: every replica up, no client waiting, all vectors equal, fully stable and collected. */
  #check(): void {
    const replicas = this.#nodes.map((n) => n.replica);
    const pending = this.#clients.some((c) => c.pending !== null || c.followUp !== null);
    const statuses = replicas.map((r) => r?.status());
    const first = statuses[0];
    const settled =
      !pending &&
      first !== undefined &&
      statuses.every(
        (s) =>
          s !== undefined &&
          sameVector(s.vector, first.vector) &&
          sameVector(s.stable, s.vector) &&
          sameVector(s.gcPoint, s.vector) &&
          s.bufferedOps === 0 &&
          s.parkedRequests === 0,
      );
    if (settled) {
      this.#converged = true;
      this.#done = true;
      return;
    }
    for (const c of this.#clients) if (c.pending === null && c.followUp !== null) this.#events.push(this.#now, { k: 'client', client: c.id });
    this.#events.push(this.#now + 200, { k: 'check' });
  }

  // ---- result ----------------------------------------------------------------------------

  #result(): WorldResult {
    const finals: FinalRegionState[] = [];
    if (this.#converged) {
      for (let i = 0; i < this.#nodes.length; i++) {
        const node = this.#nodes[i] as SimNode;
        const state = exportState(this.#config(i), node.storage);
        finals.push({ region: node.region, vector: node.replica?.vector ?? {}, rows: state.rows, conflicts: state.conflicts, stateDigest: state.digest });
      }
    }
    const metrics: Record<string, number> = {};
    for (const node of this.#nodes) {
      for (const [k, v] of Object.entries(node.replica?.metrics ?? {})) metrics[k] = (metrics[k] ?? 0) + v;
    }
    for (const f of finals) this.#hash.addString(f.stateDigest);
    const count = (t: HistoryEvent['type']) => this.#history.filter((h) => h.type === t).length;
    return {
      record: {
        regions: this.#names,
        tables: this.#config(0).tables,
        mergeFunctions: simMergeFunctions,
        history: this.#history,
        ledger: this.#ledger,
        finals,
        clocks: { maxClockOffsetMs: this.#opt.maxClockOffsetMs, offsetExceeded: this.#plan.offsetExceeded },
        hlcTrace: this.#hlcTrace,
      },
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
        crashes: this.#crashes,
        partitions: this.#partitions,
        metrics,
      },
    };
  }
}

function sameVector(a: VersionVector, b: VersionVector): boolean {
  return dominates(a, b) && dominates(b, a);
}

function decodeOrEmpty(token: string): VersionVector {
  const d = decodeSessionToken(token);
  return d.ok ? d.vector : {};
}

function toRequest(call: ClientCall, token: string | undefined): ClientRequest {
  const session = token === undefined ? {} : { session: token };
  switch (call.f) {
    case 'write':
      return { kind: 'write', table: call.table, key: call.key, body: call.body, ...session, ...(call.idempotencyKey === undefined ? {} : { idempotencyKey: call.idempotencyKey }) };
    case 'delete':
      return { kind: 'delete', table: call.table, key: call.key, ...session, ...(call.idempotencyKey === undefined ? {} : { idempotencyKey: call.idempotencyKey }) };
    case 'read':
      return {
        kind: 'read',
        table: call.table,
        key: call.key,
        consistency: call.consistency,
        ...session,
        ...(call.maxStalenessMs === undefined ? {} : { maxStalenessMs: call.maxStalenessMs }),
      };
  }
}
