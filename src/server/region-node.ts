/**
 * The runtime shell of one region: it drives the pure cores (the async replica and the strong
 * group's node) with real time, timers, a SQLite store, peer links and client requests.
 * Everything that arrives during one event-loop turn becomes one replica `step` (one transaction:
 * group commit) and one strong `handle` + `flush` (one transaction per Raft Ready, with the
 * leader's appends sent before its own fsync). Messages and replies are released after the
 * commits. A storage or invariant failure is fatal: the node stops rather than diverge.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { replicaDefaults, type ReplicaConfig } from '../core/replica/config.js';
import type { ClientReply, ClientRequest, Input, PeerMessage } from '../core/replica/messages.js';
import { Replica, type ReplicaStatus } from '../core/replica/replica.js';
import type { ReplicaMetrics } from '../core/replica/metrics.js';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import type { StrongInput, StrongReply, StrongRequest } from '../core/strong/messages.js';
import { steadyWallClock } from './steady-clock.js';
import { StrongUniqueGate } from './strong-unique.js';
import { StrongNode, strongDefaults, type StrongConfig, type StrongStatus } from '../core/strong/strong-node.js';
import type { TablePolicy } from '../core/schema/policy.js';
import type { TernError } from '../core/errors.js';
import { randomInt } from 'node:crypto';
import { peerAddress, type ClusterConfig, type RegionSpec } from './config.js';
import { builtinMergeFunctions } from './merge-functions.js';
import { PeerTransport, type PeerLinkStats } from './transport/peer-transport.js';

export type Stage = 'catching-up' | 'read-ready' | 'write-ready' | 'fenced';

/** A peer holding this many ops we have not applied keeps us out of write-ready. */
const catchUpOpsMax = 10_000;

export interface RegionNodeOptions {
  readonly log: Logger;
  /** Called on a fatal error (storage failure, broken invariant). Default: log and exit(1). */
  readonly onFatal?: (err: unknown) => void;
  /** Ops applied from other regions are reported here (for lag histograms). */
  readonly onRemoteApply?: (lagMs: number, origin: string) => void;
}

export class RegionNode {
  readonly config: ClusterConfig;
  readonly spec: RegionSpec;
  readonly #log: Logger;
  readonly #onFatal: (err: unknown) => void;
  readonly #onRemoteApply: ((lagMs: number, origin: string) => void) | undefined;
  #storage: SqliteStorage | null = null;
  #replica: Replica | null = null;
  #transport: PeerTransport | null = null;
  #inbox: Input[] = [];
  #strong: StrongNode | null = null;
  /** The strong group's time: leases must not stretch when the wall clock steps back. */
  readonly #steadyNow = steadyWallClock();
  #strongInbox: StrongInput[] = [];
  readonly #strongPending = new Map<number, (reply: StrongReply) => void>();
  #scheduled = false;
  #tick: NodeJS.Timeout | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, (reply: ClientReply) => void>();
  #stopping = false;
  #failed = false;
  #steps = 0;

  constructor(config: ClusterConfig, region: string, options: RegionNodeOptions) {
    const spec = config.regions.find((r) => r.name === region);
    if (spec === undefined) throw new Error(`region ${region} is not in the configuration (regions: ${config.regions.map((r) => r.name).join(', ')})`);
    this.config = config;
    this.spec = spec;
    this.#unique = new StrongUniqueGate({
      tables: () => this.tables(),
      submitAsync: (request) => this.#submitAsync(request),
      submitStrong: (request) => this.submitStrong(request),
      strongAppliedIndex: () => this.#strong?.state.index ?? 0,
      nowMs: () => Date.now(),
      monoMs: () => performance.now(),
      freshAsOfMs: () => this.#replica?.freshAsOfMs() ?? null,
      maxClockOffsetMs: this.config.settings.maxClockOffsetMs,
      claimValidityMs: this.config.settings.strongTimeoutMs,
      warn: (details, message) => this.#log.warn(details, message),
    });
    this.#log = options.log;
    this.#onRemoteApply = options.onRemoteApply;
    this.#onFatal =
      options.onFatal ??
      ((err) => {
        options.log.fatal({ err }, 'fatal error; stopping this node (restart it: committed data is safe on disk)');
        process.exit(1);
      });
  }

  get region(): string {
    return this.spec.name;
  }

  replicaConfig(): ReplicaConfig {
    const s = this.config.settings;
    return {
      ...replicaDefaults,
      region: this.spec.name,
      regions: this.config.regions.map((r) => r.name),
      tables: this.config.tables,
      mergeFunctions: builtinMergeFunctions,
      maxClockOffsetMs: s.maxClockOffsetMs,
      syncIntervalMs: s.syncIntervalMs,
      sessionWaitMs: s.sessionWaitMs,
      idempotencyRetentionMs: s.idempotencyRetentionMs,
      reportRemoteApplies: true,
    };
  }

  strongConfig(): StrongConfig {
    const s = this.config.settings;
    return {
      region: this.spec.name,
      regions: this.config.regions.map((r) => r.name),
      tables: this.config.tables,
      mergeFunctions: Object.keys(builtinMergeFunctions),
      tickMs: s.tickIntervalMs,
      heartbeatMs: s.raftHeartbeatMs,
      electionMs: s.raftElectionMs,
      maxClockOffsetMs: s.maxClockOffsetMs,
      ...(s.preferredLeader !== null ? { preferredLeader: s.preferredLeader } : {}),
      requestTimeoutMs: s.strongTimeoutMs,
      sessionWaitMs: s.sessionWaitMs,
      idempotencyRetentionMs: s.idempotencyRetentionMs,
      snapshotEveryEntries: strongDefaults.snapshotEveryEntries,
      // Election timeouts need randomness that differs between nodes; the core takes it injected.
      random: () => randomInt(0, 2 ** 31) / 2 ** 31,
    };
  }

  /** Opens the store, recovers, starts peer links and timers. */
  async run(): Promise<void> {
    mkdirSync(this.spec.node.data, { recursive: true });
    const file = path.join(this.spec.node.data, 'tern.sqlite');
    const t0 = Date.now();
    this.#storage = new SqliteStorage(file);
    // The strong log first: it says which tables exist (the configuration's, changed by the log).
    this.#strong = StrongNode.open(this.strongConfig(), this.#storage, this.#steadyNow());
    this.#replica = Replica.open({ ...this.replicaConfig(), tables: this.#strong.tables() }, this.#storage, Date.now());
    this.#log.info({ file, vector: this.#replica.vector, strongApplied: this.#strong.state.index, openMs: Date.now() - t0 }, 'storage open');
    const peers = new Map(this.config.regions.filter((r) => r.name !== this.spec.name).map((r) => [r.name, peerAddress(this.config, this.spec.name, r.name)] as const));
    this.#transport = new PeerTransport({
      cluster: this.config.cluster,
      region: this.spec.name,
      node: this.spec.node.id,
      listen: this.spec.node.peer,
      peers,
      log: this.#log.child({ component: 'transport' }),
      onMessage: (from, message) => this.#enqueue({ kind: 'peer', from, message }),
      onStrongMessage: (from, message) => this.#enqueueStrong({ kind: 'peer', from, message }),
    });
    await this.#transport.start();
    this.#tick = setInterval(() => {
      this.#enqueue({ kind: 'tick' });
      this.#enqueueStrong({ kind: 'tick' });
      this.#unique.tick();
    }, this.config.settings.tickIntervalMs);
  }

  /** The policy of every table: the configuration's, as changed through the strong log. */
  tables(): Readonly<Record<string, TablePolicy>> {
    return this.#strong?.tables() ?? this.config.tables;
  }

  /** Submits a request for the strong group (strong tables, transactions, table changes). */
  submitStrong(request: StrongRequest): Promise<StrongReply> {
    if (this.#strong === null) return Promise.resolve(this.#notReady());
    return this.#ask(this.#strongPending, (id) => this.#enqueueStrong({ kind: 'request', id, request }));
  }

  /** A request answered when its turn's inputs have been handled and committed; refused while stopping. */
  #ask<R>(pending: Map<number, (reply: R) => void>, enqueue: (id: number) => void): Promise<R | { ok: false; error: TernError }> {
    if (this.#stopping || this.#failed) return Promise.resolve(this.#notReady());
    const id = this.#nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      enqueue(id);
    });
  }

  #notReady(): { ok: false; error: TernError } {
    return { ok: false, error: { code: 'NOT_READY', message: `region ${this.region} is shutting down; retry in another region` } };
  }

  #enqueueStrong(input: StrongInput): void {
    this.#enqueueInput(() => this.#strongInbox.push(input));
  }

  /**
   * Submits a client request for async tables; resolves with the reply once its step has
   * committed. Writes to tables with strong unique fields claim their values first (strong-unique.ts).
   */
  submit(request: ClientRequest): Promise<ClientReply> {
    return this.#unique.submit(request);
  }

  readonly #unique: StrongUniqueGate;

  #submitAsync(request: ClientRequest): Promise<ClientReply> {
    return this.#ask(this.#pending, (id) => this.#enqueue({ kind: 'request', id, request }));
  }

  #enqueue(input: Input): void {
    this.#enqueueInput(() => this.#inbox.push(input));
  }

  /** Queues an input for the next turn's flush (one flush per turn serves both cores). */
  #enqueueInput(push: () => void): void {
    if (this.#failed) return;
    push();
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** One event-loop turn's inputs → the strong node's Readies, then one replica step; then speak. */
  #flush(): void {
    this.#scheduled = false;
    if (this.#failed) return;
    this.#flushStrong();
    const replica = this.#replica;
    if (replica === null || this.#inbox.length === 0 || this.#failed) return;
    const inputs = this.#inbox;
    this.#inbox = [];
    let out;
    try {
      out = replica.step(inputs, Date.now());
    } catch (err) {
      this.#failed = true;
      this.#onFatal(err);
      return;
    }
    this.#steps++;
    if (out.appliedRemote.length > 0 && this.#onRemoteApply !== undefined) {
      const now = Date.now();
      for (const [origin, wall] of out.appliedRemote) this.#onRemoteApply(now - wall, origin);
    }
    for (const { to, message } of out.messages) this.#transport?.send(to, message as PeerMessage);
    for (const { id, reply } of out.replies) {
      const resolve = this.#pending.get(id);
      this.#pending.delete(id);
      resolve?.(reply);
    }
  }

  #flushStrong(): void {
    const strong = this.#strong;
    if (strong === null) return;
    const inputs = this.#strongInbox;
    this.#strongInbox = [];
    let out;
    try {
      if (inputs.length > 0) strong.handle(inputs, this.#steadyNow());
      // The leader's appends go out before the fsync of the same Ready.
      for (const { to, message } of strong.prepare()) this.#transport?.sendStrong(to, message);
      out = strong.flush();
      for (const { to, message } of out.messages) this.#transport?.sendStrong(to, message);
    } catch (err) {
      this.#failed = true;
      this.#onFatal(err);
      return;
    }
    if (out.tablesChanged) this.#replica?.setTables(strong.tables());
    for (const { id, reply } of out.replies) {
      const resolve = this.#strongPending.get(id);
      this.#strongPending.delete(id);
      resolve?.(reply);
    }
  }

  status(): ReplicaStatus & { stage: Stage; node: string; links: Record<string, PeerLinkStats>; steps: number; raft: StrongStatus | null; strongCounters: StrongNode['counters'] | null } {
    const replica = this.#replica;
    if (replica === null) throw new Error('node not running');
    const st = replica.status();
    const behind = Math.max(0, ...st.peers.map((p) => p.lagOps));
    const stage: Stage = behind > catchUpOpsMax ? 'catching-up' : 'write-ready';
    return { ...st, stage, node: this.spec.node.id, links: this.#transport?.stats() ?? {}, steps: this.#steps, raft: this.#strong?.status() ?? null, strongCounters: this.#strong?.counters ?? null };
  }

  metrics(): Readonly<ReplicaMetrics> | null {
    return this.#replica?.metrics ?? null;
  }

  /** Finishes the current batch, closes links and the store. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#tick !== null) clearInterval(this.#tick);
    if (!this.#failed) this.#flush();
    for (const resolve of this.#pending.values()) resolve({ ok: false, error: { code: 'NOT_READY', message: `region ${this.region} stopped before answering; retry` } });
    this.#pending.clear();
    for (const resolve of this.#strongPending.values()) {
      resolve({ ok: false, error: { code: 'QUORUM_TIMEOUT', message: `region ${this.region} stopped before answering; the request may still commit: retry with the same Idempotency-Key`, mayHaveCommitted: true } });
    }
    this.#strongPending.clear();
    await this.#transport?.stop();
    this.#storage?.close();
    this.#replica = null;
    this.#strong = null;
  }
}
