/**
 * A small deterministic harness for region-core tests: three cores on memory storage, a network
 * with a fixed one-way delay that the test can cut, a shared real time with a per-node wall-clock
 * offset, pauses (a node that takes no input for a while, as under SIGSTOP) and crashes that lose
 * what was not committed.
 */
import { replicaDefaults, type ReplicaConfig } from '../../../src/core/replica/config.js';
import { failoverDefaults, type FailoverSettings, type NodeKnobs } from '../../../src/core/node/config.js';
import type { CallAnswer, Envelope, NodeEvent, RegionReply, RegionRequest } from '../../../src/core/node/messages.js';
import type { ClientCall } from '../../../src/core/node/client-call.js';
import { RegionCore } from '../../../src/core/node/region-core.js';
import type { AuthSettings } from '../../../src/core/node/authorize.js';
import { validatePolicy, type TablePolicy } from '../../../src/core/schema/policy.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { Prng } from '../../../src/sim/prng.js';

export const regions = ['a', 'b', 'c'];

export function policy(input: unknown): TablePolicy {
  const p = validatePolicy(input, { regions });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

export const nodeTables: Record<string, TablePolicy> = {
  free: policy({ mode: 'async' }),
  strict: policy({ mode: 'async', whenIsolated: 'reject' }),
  homed: policy({ mode: 'async', ownership: 'home', home: { field: 'home' } }),
  failover: policy({ mode: 'async', ownership: 'home-with-failover', home: { field: 'home' } }),
  accounts: policy({ mode: 'strong', fields: { balance: 'counter' } }),
};

interface InFlight {
  readonly at: number;
  readonly from: string;
  readonly to: string;
  readonly message: Envelope['message'];
}

export interface ClusterOptions {
  readonly failover?: Partial<FailoverSettings>;
  readonly knobs?: NodeKnobs;
  readonly maxClockOffsetMs?: number;
  /** Extra tables, beside nodeTables (the same configuration in every region). */
  readonly tables?: Readonly<Record<string, TablePolicy>>;
  /** Replica settings beside the defaults (retention windows, say). */
  readonly replica?: Partial<ReplicaConfig>;
  /** Who may make which call (authorize.ts); absent: authentication off. */
  readonly auth?: AuthSettings;
}

/** An event a core reported, with the real time and the region. */
export interface RecordedEvent {
  readonly at: number;
  readonly region: string;
  readonly event: NodeEvent;
}

export class RegionCluster {
  readonly cores = new Map<string, RegionCore>();
  readonly disks = new Map<string, MemoryStorage>();
  readonly replies = new Map<number, RegionReply>();
  /** Answers to client calls (the front door), by id. */
  readonly answers = new Map<number, CallAnswer['reply']>();
  readonly cut = new Set<string>();
  /** Per node: its wall clock's offset from real time, and the origin of its monotonic clock. */
  readonly wallOffsetMs = new Map<string, number>();
  readonly #monoOrigin = new Map<string, number>();
  /** Per node: paused until this real time (inputs wait in its queue meanwhile). */
  readonly pausedUntil = new Map<string, number>();
  nowMs = 1_000_000;
  oneWayMs = 20;
  #queue: InFlight[] = [];
  #nextId = 1;
  readonly #rng = new Prng(7);
  readonly #o: ClusterOptions;
  /** Every event any core reported, in order. */
  readonly events: RecordedEvent[] = [];
  /** Called after every step of any core (to check an invariant at every simulated instant). */
  onStep: ((region: string) => void) | null = null;

  constructor(options: ClusterOptions = {}) {
    this.#o = options;
    for (const r of regions) {
      this.disks.set(r, new MemoryStorage());
      this.wallOffsetMs.set(r, 0);
      this.#open(r);
    }
  }

  #time(region: string): { wallMs: number; monoMs: number } {
    return { wallMs: this.nowMs + (this.wallOffsetMs.get(region) ?? 0), monoMs: this.nowMs - (this.#monoOrigin.get(region) ?? 0) };
  }

  #open(region: string): void {
    this.#monoOrigin.set(region, this.nowMs - 5000 * (regions.indexOf(region) + 1));
    const offset = this.#o.maxClockOffsetMs ?? 100;
    const tables = { ...nodeTables, ...this.#o.tables };
    const core = RegionCore.open(
      {
        region,
        replica: { ...replicaDefaults, region, regions, tables, mergeFunctions: {}, maxClockOffsetMs: offset, ...this.#o.replica },
        strong: {
          region,
          regions,
          tables,
          mergeFunctions: [],
          tickMs: 10,
          heartbeatMs: 50,
          electionMs: 300,
          maxClockOffsetMs: offset,
          requestTimeoutMs: 2000,
          sessionWaitMs: 1000,
          idempotencyRetentionMs: 60_000,
          snapshotEveryEntries: 10_000,
          random: () => this.#rng.float(),
          preferredLeader: 'a',
        },
        failover: { ...failoverDefaults, leaseMs: 1500, renewMs: 300, failoverOrder: {}, ...this.#o.failover },
        ...(this.#o.knobs !== undefined ? { knobs: this.#o.knobs } : {}),
        ...(this.#o.auth !== undefined ? { auth: this.#o.auth } : {}),
      },
      this.disks.get(region) as MemoryStorage,
      this.#time(region),
    );
    this.cores.set(region, core);
  }

  core(region: string): RegionCore {
    return this.cores.get(region) as RegionCore;
  }

  #paused(region: string): boolean {
    return (this.pausedUntil.get(region) ?? -Infinity) > this.nowMs;
  }

  #step(region: string, inputs: Parameters<RegionCore['step']>[0]): void {
    const out = this.core(region).step(inputs, this.#time(region));
    for (const { to, message } of out.messages) {
      if (!this.cut.has(`${region}|${to}`)) this.#queue.push({ at: this.nowMs + this.oneWayMs, from: region, to, message });
    }
    for (const { id, reply } of out.replies) this.replies.set(id, reply);
    for (const { id, reply } of out.answers) this.answers.set(id, reply);
    for (const event of out.events) this.events.push({ at: this.nowMs, region, event });
    this.onStep?.(region);
  }

  submit(region: string, request: RegionRequest): number {
    const id = this.#nextId++;
    this.#step(region, [{ kind: 'request', id, request }]);
    return id;
  }

  /** A client call through the core's front door; `answer` waits for its reply. */
  call(region: string, call: ClientCall): number {
    const id = this.#nextId++;
    this.#step(region, [{ kind: 'call', id, call }]);
    return id;
  }

  /** Runs until call `id` is answered (or `maxMs` passes) and returns the reply. */
  answer(id: number, maxMs = 5000): CallAnswer['reply'] | undefined {
    for (let t = 0; t < maxMs && !this.answers.has(id); t += 10) this.run(10);
    return this.answers.get(id);
  }

  /** Advances real time by `ms` in 10 ms ticks, delivering what is due (paused nodes take nothing). */
  run(ms: number): void {
    for (let t = 0; t < ms; t += 10) {
      this.nowMs += 10;
      for (const r of regions) if (!this.#paused(r)) this.#step(r, [{ kind: 'tick' }]);
      const due = this.#queue.filter((m) => m.at <= this.nowMs && !this.#paused(m.to));
      this.#queue = this.#queue.filter((m) => m.at > this.nowMs || this.#paused(m.to));
      for (const m of due) {
        if (this.cut.has(`${m.from}|${m.to}`)) continue;
        this.#step(m.to, [{ kind: 'peer', from: m.from, message: m.message }]);
      }
    }
  }

  /** Several requests to `region` in one step (one turn of its loop); returns their ids, in order. */
  submitAll(region: string, requests: readonly RegionRequest[]): number[] {
    const ids = requests.map(() => this.#nextId++);
    this.#step(region, requests.map((request, i) => ({ kind: 'request' as const, id: ids[i] as number, request })));
    return ids;
  }

  /** Runs until `id` is answered (or `maxMs` passes) and returns the reply. */
  await(id: number, maxMs = 5000): RegionReply | undefined {
    for (let t = 0; t < maxMs && !this.replies.has(id); t += 10) this.run(10);
    return this.replies.get(id);
  }

  /** Runs until `check` holds for every region named (or throws after `maxMs`). */
  until(check: () => boolean, maxMs = 10_000, what = 'condition'): void {
    for (let t = 0; t < maxMs; t += 10) {
      if (check()) return;
      this.run(10);
    }
    throw new Error(`${what} not met within ${maxMs} ms: ${regions.map((r) => `${r} ${this.core(r).stage.stage}/${this.core(r).stage.reason}`).join(', ')}`);
  }

  allWriteReady(): boolean {
    return regions.every((r) => this.core(r).stage.stage === 'write-ready');
  }

  isolate(region: string): void {
    for (const r of regions) {
      if (r === region) continue;
      this.cut.add(`${r}|${region}`);
      this.cut.add(`${region}|${r}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** kill -9 and restart: the node's memory is gone; its disk keeps what was committed. */
  restart(region: string): void {
    this.#queue = this.#queue.filter((m) => m.to !== region);
    this.#open(region);
  }

  write(region: string, table: string, key: string, set: Record<string, unknown>): RegionReply | undefined {
    return this.await(this.submit(region, { api: 'async', request: { kind: 'write', table, key, body: { set } } }));
  }

  /** The row's fields as `region` shows them (an eventual read; undefined if the read failed). */
  read(region: string, table: string, key: string): Record<string, unknown> | null | undefined {
    const r = this.await(this.submit(region, { api: 'async', request: { kind: 'read', table, key } }));
    return r !== undefined && r.ok && r.kind === 'read' ? (r.row?.fields ?? null) : undefined;
  }

  /** An operator request to `region`'s admin API. */
  admin(region: string, kind: 'drain' | 'undrain', target: unknown): RegionReply | undefined {
    return this.await(this.submit(region, { api: 'admin', request: { kind, region: target } }));
  }

  /** `region`'s view of the lease slot of `slot`. */
  lease(region: string, slot: string) {
    return this.core(region).status().leases.find((l) => l.region === slot);
  }
}
