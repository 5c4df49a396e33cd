/**
 * The runtime shell of one region: it drives the pure region core (src/core/node) with real time,
 * a timer, a SQLite store, peer links and client requests, and does nothing else.
 *
 * Everything that arrives during one event-loop turn becomes one core step: begin() hands back
 * the strong group's appends, which leave at once (a leader's appends may go before its own
 * fsync); commit() persists the turn (group commit) and returns the rest, released only after
 * the commit. A storage or invariant failure is fatal: the node stops rather than diverge.
 */
import { mkdirSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { NodeTime } from '../core/clock/node-time.js';
import { fail, ok, ternError, type Result, type TernError } from '../core/errors.js';
import type { RegionCoreConfig } from '../core/node/config.js';
import type { AdminReply, AdminRequest, Envelope, NodeEvent, NodeMessage, RegionInput, RegionReply, RegionRequest } from '../core/node/messages.js';
import { RegionCore, type RegionCoreStatus } from '../core/node/region-core.js';
import { restoreNote } from '../core/node/restore.js';
import { replicaDefaults, type ReplicaConfig } from '../core/replica/config.js';
import type { ClientReply, ClientRequest } from '../core/replica/messages.js';
import type { ReplicaMetrics } from '../core/replica/metrics.js';
import type { TablePolicy } from '../core/schema/policy.js';
import type { StrongReply, StrongRequest } from '../core/strong/messages.js';
import { strongDefaults, type StrongConfig } from '../core/strong/strong-node.js';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import { failoverSettings, peerAddress, type ClusterConfig, type RegionSpec } from './config.js';
import { copyDatabase, removeLeftoverCopies, type BackupCopy } from './backup.js';
import { builtinMergeFunctions } from './merge-functions.js';
import { nodeClock } from './steady-clock.js';
import { PeerTransport, type PeerLinkStats } from './transport/peer-transport.js';

export interface RegionNodeOptions {
  readonly log: Logger;
  /** Called on a fatal error (storage failure, broken invariant). Default: log and exit(1). */
  readonly onFatal?: (err: unknown) => void;
  /** Ops applied from other regions are reported here (for lag histograms). */
  readonly onRemoteApply?: (lagMs: number, origin: string) => void;
}

export type NodeStatus = RegionCoreStatus & { readonly node: string; readonly links: Record<string, PeerLinkStats>; readonly steps: number };

export class RegionNode {
  readonly config: ClusterConfig;
  readonly spec: RegionSpec;
  readonly #log: Logger;
  readonly #onFatal: (err: unknown) => void;
  readonly #onRemoteApply: ((lagMs: number, origin: string) => void) | undefined;
  /** Wall and monotonic readings (the monotonic one never steps: leases and deadlines rest on it). */
  readonly #now: () => NodeTime = nodeClock();
  #storage: SqliteStorage | null = null;
  #core: RegionCore | null = null;
  #transport: PeerTransport | null = null;
  #inbox: RegionInput[] = [];
  readonly #pending = new Map<number, { readonly api: RegionRequest['api']; readonly resolve: (reply: RegionReply) => void }>();
  #nextId = 1;
  #scheduled = false;
  #tick: NodeJS.Timeout | null = null;
  #stopping = false;
  #failed = false;
  #steps = 0;
  #backingUp = false;

  constructor(config: ClusterConfig, region: string, options: RegionNodeOptions) {
    const spec = config.regions.find((r) => r.name === region);
    if (spec === undefined) throw new Error(`region ${region} is not in the configuration (regions: ${config.regions.map((r) => r.name).join(', ')})`);
    this.config = config;
    this.spec = spec;
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
      logRetentionMs: this.config.retention.logMs,
      logRetentionBytesMax: this.config.retention.logBytesMax,
      conflictRetentionMs: this.config.retention.conflictsMs,
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

  coreConfig(): RegionCoreConfig {
    return { region: this.spec.name, replica: this.replicaConfig(), strong: this.strongConfig(), failover: failoverSettings(this.config.settings) };
  }

  /** Opens the store, recovers, starts peer links and the tick. */
  async run(): Promise<void> {
    mkdirSync(this.spec.node.data, { recursive: true });
    await removeLeftoverCopies(this.spec.node.data);
    const file = path.join(this.spec.node.data, 'tern.sqlite');
    const t0 = performance.now();
    this.#storage = new SqliteStorage(file);
    const core = RegionCore.open(this.coreConfig(), this.#storage, this.#now());
    this.#core = core;
    this.#log.info({ file, vector: core.replica.vector, strongApplied: core.strong.state.index, openMs: Math.round(performance.now() - t0) }, 'storage open');
    const restored = restoreNote(this.#storage);
    if (restored !== null) {
      this.#log.warn({ from: restored.from, copiedAt: restored.copiedAt }, `restored from a backup of ${restored.from} as of ${restored.copiedAt}: takes no writes until every other region has been heard and gave back the writes of ${this.region} it holds (stage catching-up, reason restore); rejoins the strong group as a learner`);
    }
    const peers = new Map(this.config.regions.filter((r) => r.name !== this.spec.name).map((r) => [r.name, peerAddress(this.config, this.spec.name, r.name)] as const));
    this.#transport = new PeerTransport({
      cluster: this.config.cluster,
      region: this.spec.name,
      node: this.spec.node.id,
      listen: this.spec.node.bind.peer,
      peers,
      log: this.#log.child({ component: 'transport' }),
      onMessage: (from, message: NodeMessage) => this.#enqueue({ kind: 'peer', from, message }),
    });
    await this.#transport.start();
    this.#tick = setInterval(() => this.#enqueue({ kind: 'tick' }), this.config.settings.tickIntervalMs);
  }

  /** The policy of every table: the configuration's, as changed through the strong log. */
  tables(): Readonly<Record<string, TablePolicy>> {
    return this.#core?.tables() ?? this.config.tables;
  }

  /** A request for async tables; answered once its step has committed. */
  submit(request: ClientRequest, strongSeen = 0): Promise<ClientReply> {
    return this.#ask({ api: 'async', request, strongSeen }) as Promise<ClientReply>;
  }

  /** A request for the strong group (strong tables, transactions, table changes). */
  submitStrong(request: StrongRequest): Promise<StrongReply> {
    return this.#ask({ api: 'strong', request }) as Promise<StrongReply>;
  }

  /** An operator's request (drain, undrain), committed through the strong log. */
  submitAdmin(request: AdminRequest): Promise<AdminReply> {
    return this.#ask({ api: 'admin', request }) as Promise<AdminReply>;
  }

  #ask(request: RegionRequest): Promise<RegionReply> {
    if (this.#stopping || this.#failed || this.#core === null) return Promise.resolve(this.#notReady('is shutting down'));
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, { api: request.api, resolve });
      this.#enqueue({ kind: 'request', id, request });
    });
  }

  #notReady(why: string): { ok: false; error: TernError } {
    return { ok: false, error: { code: 'NOT_READY', message: `region ${this.region} ${why}; retry in another region`, regions: this.config.regions.map((r) => r.name).filter((r) => r !== this.region) } };
  }

  /** Queues an input for the next turn (one step per turn serves everything that arrived). */
  #enqueue(input: RegionInput): void {
    if (this.#failed) return;
    this.#inbox.push(input);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  /** One event-loop turn: begin (send the early appends), commit, then speak. */
  #turn(): void {
    this.#scheduled = false;
    const core = this.#core;
    if (this.#failed || core === null) return;
    const inputs = this.#inbox;
    this.#inbox = [];
    let out;
    try {
      const early = core.begin(inputs, this.#now());
      this.#send(early);
      out = core.commit();
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
    this.#send(out.messages);
    // The lease is checked again now, after the commit, before any answer leaves (a pause in between).
    for (const { id, reply } of core.release(out.replies, this.#now().monoMs)) {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      pending?.resolve(reply);
    }
    for (const event of out.events) this.#logEvent(event);
    if (core.hasPendingWork()) this.#schedule();
  }

  #send(messages: readonly Envelope[]): void {
    for (const { to, message } of messages) this.#transport?.send(to, message);
  }

  #logEvent(e: NodeEvent): void {
    switch (e.kind) {
      case 'stage':
        return void this.#log.info({ from: e.from, stage: e.to, reason: e.reason, lagMs: e.lagMs }, `stage ${e.to}${e.reason !== null ? ` (${e.reason})` : ''}`);
      case 'lease':
        return void this.#log.info({ slot: e.slot, holder: e.holder, epoch: e.epoch }, `write lease of ${e.slot}: ${e.what} (epoch ${e.epoch})`);
      case 'clock':
        if (e.trusted) return void this.#log.info({ trusted: true }, `clock trusted: ${e.why}`);
        return void this.#log.warn({ trusted: false }, `clock not trusted, refusing writes that would carry its time: ${e.why} (check NTP on this machine)`);
      case 'warn':
        return void this.#log.warn(e.details, e.message);
    }
  }

  status(): NodeStatus {
    const core = this.#core;
    if (core === null) throw new Error('node not running');
    return { ...core.status(), node: this.spec.node.id, links: this.#transport?.stats() ?? {}, steps: this.#steps };
  }

  metrics(): Readonly<ReplicaMetrics> | null {
    return this.#core?.metrics ?? null;
  }

  /** Copies the database beside the data while serving (backup.ts); the caller streams and deletes the copy. */
  async backup(): Promise<Result<BackupCopy>> {
    const storage = this.#storage;
    if (storage === null || this.#stopping) return fail(ternError('NOT_READY', `region ${this.region} is not running`));
    if (this.#backingUp) return fail(ternError('OVERLOADED', 'a backup of this node is already running; wait for it to finish, then retry'));
    this.#backingUp = true;
    let copy: Awaited<ReturnType<typeof copyDatabase>>;
    try {
      copy = await copyDatabase(storage, this.spec.node.data, { cluster: this.config.cluster, region: this.region, node: this.spec.node.id });
    } catch (err) {
      this.#backingUp = false;
      throw err;
    }
    this.#log.info({ bytes: copy.manifest.bytes, sha256: copy.manifest.sha256 }, 'backup copied; streaming it');
    // One at a time until the copy has been sent and deleted, not only copied.
    const done = async () => {
      await unlink(copy.path).catch(() => undefined);
      this.#backingUp = false;
    };
    return ok({ ...copy, done });
  }

  /** Finishes the current turn, answers what is still pending, closes links and the store. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#tick !== null) clearInterval(this.#tick);
    if (!this.#failed) this.#turn();
    // An async request still pending did not commit (async writes commit in the step that admits
    // them); a strong one may yet commit through the group.
    for (const { api, resolve } of this.#pending.values()) {
      if (api === 'async') resolve(this.#notReady('stopped before answering'));
      else resolve({ ok: false, error: { code: 'QUORUM_TIMEOUT', message: `region ${this.region} stopped before answering; the request may still commit: retry with the same Idempotency-Key if it had one, else read the row to learn the outcome`, mayHaveCommitted: true } });
    }
    this.#pending.clear();
    await this.#transport?.stop();
    this.#storage?.close();
    this.#core = null;
  }
}
