/**
 * A tiny deterministic cluster for scripted interaction tests: replicas on frozen memory
 * storage, one clock, and a network the test drives by hand (deliver everything, or cut links).
 */
import { expect } from 'vitest';
import type { ConflictEntry } from '../../src/core/model/conflict.js';
import { canonicalJson } from '../../src/core/util/json.js';
import { replicaDefaults, type Knobs, type ReplicaConfig } from '../../src/core/replica/config.js';
import type { ClientReply, ClientRequest, Input, PeerMessage } from '../../src/core/replica/messages.js';
import { Replica } from '../../src/core/replica/replica.js';
import { validatePolicy, type TablePolicy } from '../../src/core/schema/policy.js';
import type { MergeRegistry } from '../../src/core/crdt/merge-registry.js';
import { MemoryStorage } from '../../src/storage/memory-storage.js';

export const US = 'us-east';
export const EU = 'eu-west';
export const AP = 'ap-south';

export interface ClusterOptions {
  regions?: string[];
  tables?: Record<string, unknown>;
  merge?: MergeRegistry;
  knobs?: Knobs;
  config?: Partial<ReplicaConfig>;
}

interface InFlight {
  from: string;
  to: string;
  message: PeerMessage;
}

export class Cluster {
  readonly regions: string[];
  readonly storages = new Map<string, MemoryStorage>();
  readonly replicas = new Map<string, Replica>();
  readonly tables: Record<string, TablePolicy>;
  nowMs = 1_000_000;
  inFlight: InFlight[] = [];
  /** Every reply any step produced, including answers to parked requests released later. */
  readonly answered: Array<{ region: string; id: number; reply: ClientReply }> = [];
  readonly cut = new Set<string>();
  #nextId = 1;
  readonly #config: (region: string) => ReplicaConfig;

  constructor(o: ClusterOptions = {}) {
    this.regions = o.regions ?? [US, EU, AP];
    this.tables = {};
    for (const [name, spec] of Object.entries(o.tables ?? { t: { fields: { n: 'counter', s: 'set', name: 'lww' } } })) {
      const p = validatePolicy(spec, { regions: this.regions });
      if (!p.ok) throw new Error(p.error.message);
      this.tables[name] = p.value;
    }
    this.#config = (region) => ({
      ...replicaDefaults,
      region,
      regions: this.regions,
      tables: this.tables,
      mergeFunctions: o.merge ?? {},
      ...(o.knobs ? { knobs: o.knobs } : {}),
      ...o.config,
    });
    for (const r of this.regions) {
      const storage = new MemoryStorage({ freezeValues: true });
      this.storages.set(r, storage);
      this.replicas.set(r, Replica.open(this.#config(r), storage, this.nowMs));
    }
  }

  replica(region: string): Replica {
    const r = this.replicas.get(region);
    if (!r) throw new Error(`no replica ${region}`);
    return r;
  }

  /** Runs one step on `region`; queues its messages; returns its replies. */
  step(region: string, inputs: Input[]): Array<{ id: number; reply: ClientReply }> {
    const out = this.replica(region).step(inputs, this.nowMs);
    for (const { to, message } of out.messages) this.inFlight.push({ from: region, to, message });
    for (const r of out.replies) this.answered.push({ region, ...r });
    return out.replies;
  }

  /** Sends a request and returns its reply, or undefined when it was parked (session wait). */
  request(region: string, request: ClientRequest): ClientReply | undefined {
    const id = this.#nextId++;
    return this.step(region, [{ kind: 'request', id, request }]).find((r) => r.id === id)?.reply;
  }

  /** Like request, but fails the test when the answer is not ok. */
  ok(region: string, request: ClientRequest): Extract<ClientReply, { ok: true }> {
    const reply = this.request(region, request);
    if (reply === undefined || !reply.ok) throw new Error(`expected ok from ${region}, got ${JSON.stringify(reply)}`);
    return reply;
  }

  /** Delivers queued messages (dropping those over cut links) until none are left. */
  deliverAll(maxRounds = 100): void {
    for (let round = 0; round < maxRounds && this.inFlight.length > 0; round++) {
      const batch = this.inFlight;
      this.inFlight = [];
      for (const m of batch) {
        if (this.cut.has(`${m.from}|${m.to}`)) continue;
        this.step(m.to, [{ kind: 'peer', from: m.from, message: m.message }]);
      }
    }
  }

  /** Advances time by `ms` and ticks every replica (syncs, GC), then delivers everything. */
  tick(ms = 100, rounds = 1): void {
    for (let i = 0; i < rounds; i++) {
      this.nowMs += ms;
      for (const r of this.regions) this.step(r, [{ kind: 'tick' }]);
      this.deliverAll();
    }
  }

  /** Ticks until every replica has the same vector and everything is stable (or gives up). */
  settle(maxRounds = 50): void {
    for (let i = 0; i < maxRounds; i++) {
      this.tick(200);
      const st = this.regions.map((r) => this.replica(r).status());
      const v = JSON.stringify(st[0]?.vector);
      if (st.every((s) => JSON.stringify(s.vector) === v && JSON.stringify(s.gcPoint) === v)) return;
    }
  }

  cutLink(a: string, b: string): void {
    this.cut.add(`${a}|${b}`);
    this.cut.add(`${b}|${a}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** `region`'s disk is lost; it opens `storage` instead (a restored backup). Messages to and from it in flight are lost. */
  replaceStorage(region: string, storage: MemoryStorage): void {
    this.inFlight = this.inFlight.filter((m) => m.to !== region && m.from !== region);
    this.storages.set(region, storage);
    this.replicas.set(region, Replica.open(this.#config(region), storage, this.nowMs));
  }

  /** Crashes `region` (losing its open transaction) and reopens it from storage. */
  restart(region: string): void {
    const storage = this.storages.get(region) as MemoryStorage;
    storage.crash(false);
    this.replicas.set(region, Replica.open(this.#config(region), storage, this.nowMs));
  }
}

/** Every region's conflict feed, in the cluster's region order. */
export function feeds(c: Cluster): ConflictEntry[][] {
  return c.regions.map((r) => {
    const f = c.ok(r, { kind: 'conflicts' });
    return f.kind === 'conflicts' ? [...f.conflicts] : [];
  });
}

/** Every region's feed, checked identical (ids and contents) across regions. */
export function sameFeedEverywhere(c: Cluster): ConflictEntry[] {
  const [first, ...rest] = feeds(c);
  for (const other of rest) expect(canonicalJson(other)).toBe(canonicalJson(first));
  return first ?? [];
}
