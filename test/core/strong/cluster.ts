/**
 * A small deterministic harness for strong-node tests: three nodes on memory storage, a network
 * with a fixed one-way delay that the test can cut, crashes that lose what was not committed.
 */
import { validatePolicy, type TablePolicy } from '../../../src/core/schema/policy.js';
import type { StrongPeerMessage, StrongReply, StrongRequest } from '../../../src/core/strong/messages.js';
import { StrongNode, type StrongConfig } from '../../../src/core/strong/strong-node.js';
import { MemoryStorage } from '../../../src/storage/memory-storage.js';
import { Prng } from '../../../src/sim/prng.js';

export function policy(input: unknown): TablePolicy {
  const p = validatePolicy(input, { regions: ['a', 'b', 'c'] });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

export const testTables: Record<string, TablePolicy> = {
  accounts: policy({ mode: 'strong', fields: { balance: 'counter' } }),
  profiles: policy({ mode: 'async' }),
};

interface InFlight {
  at: number;
  from: string;
  to: string;
  message: StrongPeerMessage;
}

export class StrongCluster {
  readonly regions = ['a', 'b', 'c'];
  readonly nodes = new Map<string, StrongNode>();
  readonly disks = new Map<string, MemoryStorage>();
  readonly replies = new Map<number, StrongReply>();
  readonly cut = new Set<string>();
  nowMs = 1000;
  oneWayMs = 20;
  #queue: InFlight[] = [];
  #nextId = 1;
  readonly #rng = new Prng(42);
  readonly #overrides: Partial<StrongConfig>;

  constructor(overrides: Partial<StrongConfig> = {}) {
    this.#overrides = overrides;
    for (const r of this.regions) {
      this.disks.set(r, new MemoryStorage());
      this.#open(r);
    }
  }

  config(region: string): StrongConfig {
    return {
      region,
      regions: this.regions,
      tables: testTables,
      mergeFunctions: [],
      tickMs: 10,
      heartbeatMs: 50,
      electionMs: 300,
      maxClockOffsetMs: 50,
      requestTimeoutMs: 2000,
      sessionWaitMs: 1000,
      idempotencyRetentionMs: 60_000,
      snapshotEveryEntries: 10_000,
      random: () => this.#rng.float(),
      ...this.#overrides,
    };
  }

  #open(region: string): void {
    this.nodes.set(region, StrongNode.open(this.config(region), this.disks.get(region) as MemoryStorage, this.nowMs));
  }

  node(region: string): StrongNode {
    return this.nodes.get(region) as StrongNode;
  }

  submit(region: string, request: StrongRequest): number {
    const id = this.#nextId++;
    this.node(region).handle([{ kind: 'request', id, request }], this.nowMs);
    this.#flush(region);
    return id;
  }

  #flush(region: string): void {
    const out = this.node(region).flush();
    for (const { to, message } of out.messages) {
      if (!this.cut.has(`${region}|${to}`)) this.#queue.push({ at: this.nowMs + this.oneWayMs, from: region, to, message });
    }
    for (const { id, reply } of out.replies) this.replies.set(id, reply);
  }

  /** Advances time by `ms` in 10 ms ticks, delivering what is due. */
  run(ms: number): void {
    for (let t = 0; t < ms; t += 10) {
      this.nowMs += 10;
      for (const r of this.regions) {
        this.node(r).handle([{ kind: 'tick' }], this.nowMs);
        this.#flush(r);
      }
      const due = this.#queue.filter((m) => m.at <= this.nowMs);
      this.#queue = this.#queue.filter((m) => m.at > this.nowMs);
      for (const m of due) {
        if (this.cut.has(`${m.from}|${m.to}`)) continue;
        this.node(m.to).handle([{ kind: 'peer', from: m.from, message: m.message }], this.nowMs);
        this.#flush(m.to);
      }
    }
  }

  /** Runs until `id` is answered (or `maxMs` passes) and returns the reply. */
  await(id: number, maxMs = 5000): StrongReply | undefined {
    for (let t = 0; t < maxMs && !this.replies.has(id); t += 10) this.run(10);
    return this.replies.get(id);
  }

  leader(): string | undefined {
    return this.regions.find((r) => this.node(r).raft.role === 'leader');
  }

  electLeader(): string {
    for (let t = 0; t < 5000 && this.leader() === undefined; t += 10) this.run(10);
    this.run(200);
    const l = this.leader();
    if (l === undefined) throw new Error('no leader elected');
    return l;
  }

  isolate(region: string): void {
    for (const r of this.regions) {
      if (r === region) continue;
      this.cut.add(`${r}|${region}`);
      this.cut.add(`${region}|${r}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** kill -9: the node's memory is gone; its disk keeps what was committed. */
  crash(region: string): void {
    this.#queue = this.#queue.filter((m) => m.to !== region);
    this.#open(region);
  }
}
