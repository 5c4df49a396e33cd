/**
 * The runtime shell of one region: it drives the pure region core (src/core/node) with real time,
 * a timer, a SQLite store, peer links and client requests, and does nothing else.
 *
 * Everything that arrives during one event-loop turn becomes one core step: begin() hands back
 * the strong group's appends, which leave at once (a leader's appends may go before its own
 * fsync); commit() persists the turn (group commit) and returns the rest, released only after
 * the commit. A storage or invariant failure is fatal: the node stops rather than diverge.
 *
 * Except a full disk (docs/operations.md, "A full disk"): a commit that fails for lack of space
 * (storage-errors.ts) is never retried (after a failed fsync the kernel may have dropped the pages):
 * the turn's requests are answered 507 INSUFFICIENT_STORAGE (they were never acknowledged; its
 * reads are served again), its messages are dropped, and the store and the core are reopened from
 * disk as a restart would. The core is then fenced for its storage: it is fed only what writes
 * nothing (client requests, which it refuses unless they are reads, and the peers' clock probes,
 * which tell it who takes writes instead); ticks and the other peer messages are dropped, and peers
 * send them again later. Every STORAGE_PROBE_MS the node looks at the free space and, above
 * LOW_SPACE_BYTES, tries a normal step: once one commits, it is back (catching up first, as after a
 * restart); if it fails for lack of space again, the store is reopened again and it waits on.
 */
import { mkdirSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { NodeTime } from '../core/clock/node-time.js';
import { fail, ok, ternError, type Result, type TernError } from '../core/errors.js';
import type { RegionCoreConfig } from '../core/node/config.js';
import type { Envelope, NodeEvent, NodeMessage, RegionInput } from '../core/node/messages.js';
import type { CallReply, ClientCall } from '../core/node/client-call.js';
import { isReadCall, routeOf, type CallRoute } from '../core/node/front-door.js';
import { authOff, authorize, type AuthSettings } from '../core/node/authorize.js';
import type { UserRecord } from '../core/strong/access-table.js';
import { rootUser } from './config.js';
import { nodeAuthHeader, nodeSecret } from './auth/node-secret.js';
import { RegionCore, type RegionCoreStatus } from '../core/node/region-core.js';
import { restoreNote } from '../core/node/restore.js';
import { replicaDefaults, type ReplicaConfig } from '../core/replica/config.js';
import type { ReplicaMetrics } from '../core/replica/metrics.js';
import type { TablePolicy } from '../core/schema/policy.js';
import { strongDefaults, type StrongConfig } from '../core/strong/strong-node.js';
import { SqliteStorage } from '../storage/sqlite-storage.js';
import { syncHold } from './test-sync-hold.js';
import { freeBytes, isOutOfSpace, LOW_SPACE_BYTES, mayHaveCommitted, sqliteCode } from '../storage/storage-errors.js';
import { storageFull } from '../core/node/admission.js';
import { failoverSettings, peerAddress, urlHost, type ClusterConfig, type RegionSpec } from './config.js';
import { copyDatabase, removeLeftoverCopies, type BackupCopy } from './backup.js';
import type { SnapshotSource } from './http-api.js';
import { raftWire } from './transport/raft-wire.js';
import { nodeLimits, type NodeLimits } from './limits.js';
import type { VersionVector } from '../core/clock/version-vector.js';
import { SnapshotDonor } from './snapshot/donor.js';
import type { Donor } from './snapshot/fetch.js';
import { installReady } from './snapshot/install.js';
import type { SnapshotManifest } from './snapshot/manifest.js';
import { Rejoin } from './snapshot/rejoin.js';
import { builtinMergeFunctions } from './merge-functions.js';
import { nodeClock } from './steady-clock.js';
import { tlsSockets, type TlsMaterial } from './transport/sockets.js';
import { PeerTransport, type PeerLinkStats } from './transport/peer-transport.js';

export interface RegionNodeOptions {
  readonly log: Logger;
  /** Called on a fatal error (storage failure, broken invariant). Default: log and exit(1). */
  readonly onFatal?: (err: unknown) => void;
  /** Ops applied from other regions are reported here (for lag histograms). */
  readonly onRemoteApply?: (lagMs: number, origin: string) => void;
  /** Override nodeLimits (tests reach them with small values). */
  readonly limits?: Partial<NodeLimits>;
  /** Mutual TLS for peer links (tls-material.ts); plain TCP when absent. */
  readonly tls?: TlsMaterial | null;
}

export type NodeStatus = RegionCoreStatus & { readonly node: string; readonly links: Record<string, PeerLinkStats>; readonly steps: number; readonly peerInputsDropped: number };
/** A call's reply from a node: a status call's carries the node's status. */
export type NodeReply = CallReply<NodeStatus>;

/**
 * How often a node fenced for its storage looks at the free space on its data directory's
 * filesystem and, once more than LOW_SPACE_BYTES are free, tries a normal step. A statfs is cheap:
 * once a second brings the node back about a second after an operator frees space, and a disk
 * that stays full costs one statfs and one read-only step a second (the step answers session
 * reads whose wait ran out: no tick reaches the core meanwhile).
 */
export const STORAGE_PROBE_MS = 1_000;

/** `full`: fenced for its storage, waiting for space; `probing`: space is back and a normal step is being tried. */
type DiskState = 'ok' | 'full' | 'probing';


export class RegionNode {
  readonly config: ClusterConfig;
  readonly spec: RegionSpec;
  readonly #log: Logger;
  readonly #onFatal: (err: unknown) => void;
  readonly #onRemoteApply: ((lagMs: number, origin: string) => void) | undefined;
  /** Wall and monotonic readings (the monotonic one never steps: leases and deadlines rest on it). */
  readonly #now: () => NodeTime = nodeClock();
  readonly #limits: NodeLimits;
  #tls: TlsMaterial | null;
  /** Peer messages queued since the last step, and those dropped past nodeLimits.peerInputsQueuedMax (status: links). */
  #peerInputsQueued = 0;
  #peerInputsDropped = 0;
  #storage: SqliteStorage | null = null;
  #core: RegionCore | null = null;
  #transport: PeerTransport | null = null;
  #inbox: RegionInput[] = [];
  /** Requests not answered yet; `retried`: a read already sent again after a commit failed for lack of space. */
  readonly #pending = new Map<number, { readonly call: ClientCall; readonly route: CallRoute; readonly resolve: (reply: NodeReply) => void; retried: boolean }>();
  #nextId = 1;
  #scheduled = false;
  #tick: NodeJS.Timeout | null = null;
  #stopping = false;
  #failed = false;
  #steps = 0;
  /**
   * Speaking after each commit's sync, in commit order: a step's peer messages and answers leave
   * once its commit is durable, while the next steps already run (pipelined commits).
   */
  #speaking: Promise<void> = Promise.resolve();
  /** A commit failed for lack of space while earlier ones were still being spoken: no turn until it is handled. */
  #halted = false;
  /**
   * Counts stores opened: a step of a store closed on purpose (a snapshot installed over it) says
   * nothing once its store is gone, and its sync failing on the close is no failure.
   */
  #generation = 0;
  /** Test only (test-sync-hold.ts): holds syncs while a file exists. */
  readonly #syncHold = syncHold();
  #backingUp = false;
  #disk: DiskState = 'ok';
  #diskProbe: NodeJS.Timeout | null = null;
  /** The last status of a core discarded for a full disk, shown (as fenced, storage) while the store cannot be reopened. */
  #lastStatus: RegionCoreStatus | null = null;
  /** Serves snapshots to regions rejoining after an eviction (snapshot/donor.ts). */
  readonly #donor: SnapshotDonor;
  /** Rejoins this region from a member's snapshot when the core asks for one (snapshot/rejoin.ts). */
  readonly #rejoin: Rejoin;
  #donorSweep: NodeJS.Timeout | null = null;

  constructor(config: ClusterConfig, region: string, options: RegionNodeOptions) {
    const spec = config.regions.find((r) => r.name === region);
    if (spec === undefined) throw new Error(`region ${region} is not in the configuration (regions: ${config.regions.map((r) => r.name).join(', ')})`);
    this.config = config;
    this.spec = spec;
    this.#log = options.log;
    this.#limits = { ...nodeLimits, ...options.limits };
    this.#donor = new SnapshotDonor(spec.node.data, { cluster: config.cluster, region, node: spec.node.id }, config.retention.snapshotMBps * 1_000_000);
    const secret = nodeSecret(config);
    this.#rejoin = new Rejoin({
      dataDir: spec.node.data,
      cluster: config.cluster,
      region,
      log: options.log.child({ component: 'rejoin' }),
      donors: () => this.#donors(),
      storage: () => this.#storage,
      swap: () => this.#installSnapshot(),
      ...(secret !== null ? { headers: { [nodeAuthHeader]: secret } } : {}),
    });
    this.#onRemoteApply = options.onRemoteApply;
    this.#tls = options.tls ?? null;
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

  /** New certificates for peer links made from now on (SIGHUP); throws, keeping the old ones, if they do not load. */
  reloadTls(material: TlsMaterial): void {
    if (this.#tls === null) throw new Error('this node runs without TLS');
    this.#transport?.reloadTls(material);
    this.#tls = material;
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
      raftWire: raftWire(),
    };
  }

  coreConfig(): RegionCoreConfig {
    return { region: this.spec.name, replica: this.replicaConfig(), strong: this.strongConfig(), failover: failoverSettings(this.config.settings), auth: this.authSettings() };
  }

  /** Authentication is required once the configuration has an auth section (a secure cluster). */
  authSettings(): AuthSettings {
    return this.config.auth === null ? authOff : { required: true, rootUser: rootUser };
  }

  /** A user as this region's strong state holds it now (the authenticator checks tokens against it). */
  user(name: string): UserRecord | undefined {
    return this.#core?.strong.state.access.user(name);
  }

  /** Opens the store, recovers, starts peer links and the tick. */
  async run(): Promise<void> {
    mkdirSync(this.spec.node.data, { recursive: true });
    await removeLeftoverCopies(this.spec.node.data);
    await SnapshotDonor.removeLeftovers(this.spec.node.data);
    // A snapshot prepared for a rejoin before a crash: finish installing it first (snapshot/install.ts).
    if (installReady(this.spec.node.data)) this.#log.warn({ data: this.spec.node.data }, 'finished installing a snapshot prepared before this node stopped');
    this.#donorSweep = setInterval(() => void this.#donor.expire(), 60_000);
    const file = path.join(this.spec.node.data, 'tern.sqlite');
    const t0 = performance.now();
    this.#storage = new SqliteStorage(file, { deferSync: true });
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
      peerNodes: new Map(this.config.regions.map((r) => [r.name, r.node.id] as const)),
      ...(this.#tls !== null ? { sockets: tlsSockets(this.config.cluster, this.#tls, this.#log.child({ component: 'transport' })) } : {}),
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

  /**
   * A client call (client-call.ts), answered once what it reflects is durable. The region core
   * routes it; a status call is answered here at once, with what the shell knows besides (links,
   * steps), even while the loop is busy or the disk is full.
   */
  submit(call: ClientCall): Promise<NodeReply> {
    if (call.kind === 'status') {
      // Answered here, not in a step: authorized here too, as the core would.
      const access = this.#core?.strong.state.access;
      const auth = this.authSettings();
      // With no core (a full disk closed the store) there is no one to check users against: refuse.
      const refused = access === undefined ? (auth.required ? this.#notReady('cannot check users now (its store is closed)').error : null) : authorize(call, call.caller, access, auth, () => true);
      if (refused !== null) return Promise.resolve({ ok: false, error: refused });
      try {
        return Promise.resolve({ ok: true, result: { kind: 'status', status: this.status() }, replayed: false });
      } catch {
        return Promise.resolve(this.#notReady('is not running'));
      }
    }
    if (!this.#stopping && !this.#failed && this.#core === null && this.#disk !== 'ok') {
      // The store could not even be reopened for lack of space: nothing can be served.
      return Promise.resolve({ ok: false, error: this.#diskRefusal(call, false, this.#otherRegions()) });
    }
    if (this.#stopping || this.#failed || this.#core === null) return Promise.resolve(this.#notReady('is shutting down'));
    if (this.#pending.size >= this.#limits.requestsWaitingMax) {
      return Promise.resolve({ ok: false, error: ternError('OVERLOADED', `region ${this.region} holds ${this.#limits.requestsWaitingMax} requests waiting already; retry with backoff (nothing was written)`) });
    }
    const id = this.#nextId++;
    // The engine it goes to, as known now: what a failed commit or a stop may have left of it.
    const route = routeOf(call, this.tables());
    return new Promise((resolve) => {
      this.#pending.set(id, { call, route, resolve, retried: false });
      this.#enqueue({ kind: 'call', id, call });
    });
  }

  #otherRegions(): string[] {
    return this.config.regions.map((r) => r.name).filter((r) => r !== this.region);
  }

  #notReady(why: string): { ok: false; error: TernError } {
    return { ok: false, error: { code: 'NOT_READY', message: `region ${this.region} ${why}; retry in another region`, regions: this.config.regions.map((r) => r.name).filter((r) => r !== this.region) } };
  }

  /** Queues an input for the next turn (one step per turn serves everything that arrived). */
  #enqueue(input: RegionInput): void {
    if (this.#failed) return;
    // Fenced for its storage: ticks and peer messages would write (peers send theirs again later);
    // client requests and the peers' clock probes do not.
    if (this.#disk === 'full' && input.kind !== 'call' && !(input.kind === 'peer' && input.message.ch === 'node')) return;
    if (input.kind === 'peer' && ++this.#peerInputsQueued > this.#limits.peerInputsQueuedMax) {
      this.#peerInputsDropped++;
      return;
    }
    this.#inbox.push(input);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  /**
   * One event-loop turn: begin (send the early appends), commit, then speak once the commit is
   * durable. The sync runs off the event loop (SqliteStorage deferSync), so the next turn may run
   * meanwhile; what a step says (peer messages, answers) leaves in commit order, each only after
   * its own commit is on the disk.
   */
  #turn(): void {
    this.#scheduled = false;
    const core = this.#core;
    const storage = this.#storage;
    if (this.#failed || this.#halted || core === null || storage === null) return;
    const inputs = this.#inbox;
    this.#inbox = [];
    this.#peerInputsQueued = 0;
    let out;
    try {
      const early = core.begin(inputs, this.#now());
      this.#send(early);
      out = core.commit();
    } catch (err) {
      if (isOutOfSpace(err, this.spec.node.data)) {
        // Earlier commits are spoken first (they did commit): then the store is closed and reopened.
        this.#halted = true;
        const handle = () => {
          this.#halted = false;
          if (!this.#failed && !this.#stopping) this.#diskFull(err, core);
        };
        void this.#speaking.then(handle, handle);
        return;
      }
      this.#failed = true;
      this.#onFatal(err);
      return;
    }
    if (this.#disk === 'probing') this.#diskBack();
    this.#steps++;
    for (const event of out.events) this.#logEvent(event);
    const synced = this.#syncHold === null ? storage.durable() : storage.durable().then(this.#syncHold);
    // Handled here at once too: a failed sync must not be an unhandled rejection while earlier steps speak.
    synced.catch(() => undefined);
    const generation = this.#generation;
    this.#speaking = this.#speaking
      .then(() => synced)
      .then(
        () => (generation === this.#generation ? this.#speak(core, out) : undefined),
        (err: unknown) => (generation === this.#generation ? this.#syncFailed(err) : undefined),
      )
      .catch((err: unknown) => this.#syncFailed(err));
    if (core.hasPendingWork()) this.#schedule();
    this.#rejoin.poll(core.snapshotWanted());
  }

  /** A step's commit is durable: its peer messages and answers leave. */
  #speak(core: RegionCore, out: ReturnType<RegionCore['commit']>): void {
    if (this.#failed) return;
    if (out.appliedRemote.length > 0 && this.#onRemoteApply !== undefined) {
      // Lag by the node's clock (the one the core is given), not another reading of its own.
      const now = this.#now().wallMs;
      for (const [origin, wall] of out.appliedRemote) this.#onRemoteApply(now - wall, origin);
    }
    this.#send(out.messages);
    // The lease is checked again now, after the sync, before any answer leaves (a pause in between).
    for (const { id, reply } of core.release(out.answers, this.#now().monoMs)) {
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      pending?.resolve(this.#nodeReply(reply));
    }
  }

  /** A sync failed: what it covered may not be on the disk, and a retry could falsely succeed (contract 6). The node stops. */
  #syncFailed(err: unknown): void {
    if (this.#failed || this.#stopping) return;
    this.#failed = true;
    this.#onFatal(err);
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

  // ---- a full disk ---------------------------------------------------------------------------

  /**
   * A commit failed for lack of space: nothing of the turn is acknowledged. The core is discarded
   * (its contract: after a failed commit it must not be used) and reopened from disk, as a restart
   * would: the failed transaction rolled back, or (after a failed fsync) whatever reached the disk.
   * Every request the old core held is answered here, except reads, which the new one serves.
   */
  #diskFull(err: unknown, old: RegionCore): void {
    const entering = this.#disk === 'ok';
    let writers = this.#otherRegions();
    let readers = writers;
    try {
      this.#lastStatus = old.status();
      const known = this.#lastStatus.peers.filter((p) => p.reachable && p.info !== null);
      writers = known.filter((p) => p.info?.stage === 'write-ready').map((p) => p.region);
      readers = known.filter((p) => p.info?.stage !== 'catching-up' && !(p.info?.stage === 'fenced' && p.info.reason === 'clock')).map((p) => p.region);
    } catch {
      // The old core could not say: every other region, as far as this one knows.
    }
    this.#disk = 'full';
    this.#inbox = this.#inbox.filter((i) => i.kind === 'call');
    const reopened = this.#reopen();
    if (this.#failed) return;
    const again: RegionInput[] = [];
    const asyncMaybe = mayHaveCommitted(err);
    for (const [id, p] of this.#pending) {
      if (reopened && isReadCall(p.call) && !p.retried) {
        p.retried = true;
        again.push({ kind: 'call', id, call: p.call });
        continue;
      }
      this.#pending.delete(id);
      // An async write commits in the step that admits it: in this one, which failed. A strong one
      // (or an operator's drain) may have reached the group through an earlier turn or this one's appends.
      const maybe = isReadCall(p.call) ? false : p.route === 'async' ? asyncMaybe : true;
      p.resolve({ ok: false, error: this.#diskRefusal(p.call, maybe, isReadCall(p.call) ? readers : writers) });
    }
    this.#inbox = [...again, ...this.#inbox];
    const free = freeBytes(this.spec.node.data);
    const details = { code: sqliteCode(err), message: (err as Error).message, data: this.spec.node.data, freeBytes: free };
    if (entering) {
      this.#log.warn(details, `the disk is full: a commit failed for lack of space on the filesystem of ${this.spec.node.data}; this node takes no writes (507 INSUFFICIENT_STORAGE, stage fenced, reason storage) and serves reads. Free space on that filesystem (delete files there, or grow it): the node resumes by itself once more than ${LOW_SPACE_BYTES / 1024 / 1024} MiB are free`);
    } else {
      this.#log.warn(details, `the disk is still full: a commit failed for lack of space again; waiting for more than ${LOW_SPACE_BYTES / 1024 / 1024} MiB to be free on the filesystem of ${this.spec.node.data}`);
    }
    if (this.#diskProbe === null) this.#diskProbe = setInterval(() => this.#probeDisk(), STORAGE_PROBE_MS);
    if (this.#inbox.length > 0) this.#schedule();
  }

  /** Closes the store and opens it again with a new core, fenced for its storage. False when it could not be opened for lack of space (tried again later). */
  #reopen(): boolean {
    try {
      this.#storage?.close();
    } catch (err) {
      this.#log.warn({ err }, 'closing the store after a failed commit failed; opening it again');
    }
    this.#storage = null;
    this.#core = null;
    let storage: SqliteStorage | null = null;
    try {
      // Checked when the node started; a rolled-back transaction leaves it as it was.
      storage = new SqliteStorage(path.join(this.spec.node.data, 'tern.sqlite'), { checkOnOpen: false, deferSync: true });
      const core = RegionCore.open(this.coreConfig(), storage, this.#now());
      core.setStorageFull(true);
      this.#storage = storage;
      this.#core = core;
      return true;
    } catch (err) {
      try {
        storage?.close();
      } catch {
        // closing what failed to open: nothing more to do
      }
      if (isOutOfSpace(err, this.spec.node.data)) {
        this.#log.warn({ code: sqliteCode(err), message: (err as Error).message }, 'the disk is full: the store could not be reopened (opening it writes); every request is refused until space is freed');
        return false;
      }
      this.#failed = true;
      this.#onFatal(err);
      return false;
    }
  }

  /** Every STORAGE_PROBE_MS while fenced for its storage: once there is room, a normal step. */
  #probeDisk(): void {
    if (this.#stopping || this.#failed || this.#disk !== 'full') return;
    const free = freeBytes(this.spec.node.data);
    const room = free === null || free >= LOW_SPACE_BYTES;
    if (this.#core === null) {
      if (room && this.#reopen()) this.#log.info({ freeBytes: free }, 'the store is open again (fenced for its storage until a step commits)');
      return;
    }
    if (!room) {
      this.#schedule(); // a read-only step: session reads whose wait ran out are answered
      return;
    }
    this.#disk = 'probing';
    this.#core.setStorageFull(false);
    this.#enqueue({ kind: 'tick' });
  }

  /** A normal step committed after the disk was full: the node is back (catching up first, as after a restart). */
  #diskBack(): void {
    this.#disk = 'ok';
    this.#lastStatus = null;
    if (this.#diskProbe !== null) clearInterval(this.#diskProbe);
    this.#diskProbe = null;
    this.#log.info({ freeBytes: freeBytes(this.spec.node.data) }, 'the disk has room again: this node writes and replicates again (it catches up before it takes writes)');
  }

  /** The answer to a request the node cannot serve while its disk is full. */
  #diskRefusal(call: ClientCall, maybeCommitted: boolean, regions: readonly string[]): TernError {
    if (isReadCall(call)) return storageFull(this.region, 'could not serve this read', regions);
    if (!maybeCommitted) return storageFull(this.region, 'did not commit this request (nothing of it was written) and takes no writes', regions, { mayHaveCommitted: false });
    return storageFull(this.region, 'could not finish this request, which may have committed (retry with the same Idempotency-Key to learn the outcome), and takes no writes', regions, { mayHaveCommitted: true });
  }

  /** A core's reply as the node gives it: a status carries what the shell knows besides. */
  #nodeReply(reply: CallReply<RegionCoreStatus>): NodeReply {
    if (!reply.ok) return reply;
    const r = reply.result;
    return r.kind === 'status' ? { ...reply, result: { kind: 'status', status: this.#withShell(r.status) } } : { ...reply, result: r };
  }

  #withShell(core: RegionCoreStatus): NodeStatus {
    return { ...core, node: this.spec.node.id, links: this.#transport?.stats() ?? {}, steps: this.#steps, peerInputsDropped: this.#peerInputsDropped };
  }

  status(): NodeStatus {
    const core = this.#core;
    const last = this.#lastStatus;
    if (core === null && last !== null && this.#disk !== 'ok') return this.#withShell({ ...last, stage: { stage: 'fenced', reason: 'storage', lagMs: null } });
    if (core === null) throw new Error('node not running');
    return this.#withShell(core.status());
  }

  metrics(): Readonly<ReplicaMetrics> | null {
    return this.#core?.metrics ?? null;
  }

  // ---- snapshots: serving them, and rejoining from one ------------------------------------------

  /** What the HTTP API serves to regions rejoining after an eviction (snapshot/donor.ts). */
  readonly snapshots: SnapshotSource = {
    create: async (after?: VersionVector): Promise<Result<SnapshotManifest>> => {
      const storage = this.#storage;
      const core = this.#core;
      if (storage === null || core === null || this.#stopping) return fail(ternError('NOT_READY', `region ${this.region} is not running`));
      // Only a member with current data donates: an evicted or lagging one would hand out the past.
      const stage = core.stage;
      if (stage.stage !== 'write-ready' && !(stage.stage === 'fenced' && (stage.reason === 'lease' || stage.reason === 'drain'))) {
        return fail(ternError('NOT_READY', `region ${this.region} is ${stage.stage}${stage.reason !== null ? ` (${stage.reason})` : ''} and serves no snapshots; ask another region`, { ...(stage.reason !== null ? { reason: stage.reason } : {}) }));
      }
      const manifest = await this.#donor.create(storage, after);
      this.#log.info({ id: manifest.id, bytes: manifest.bytes, chunks: manifest.chunks.length }, 'made a snapshot for a region rejoining after its eviction');
      return ok(manifest);
    },
    manifest: (id) => this.#donor.manifest(id),
    chunk: (id, n) => this.#donor.chunk(id, n),
  };

  /** Members to fetch a snapshot from, nearest first (by the clock guard's round trips), write-ready ones before others. */
  #donors(): Donor[] {
    const core = this.#core;
    if (core === null) return [];
    const st = core.status();
    const out = new Set(st.evictions.map((e) => e.region));
    const rtt = (r: string): number => st.clock.offsets[r]?.rttMs ?? Infinity;
    const ready = (r: string): number => (st.peers.find((p) => p.region === r)?.info?.stage === 'write-ready' ? 0 : 1);
    return this.config.regions
      .filter((r) => r.name !== this.region && !out.has(r.name))
      .sort((a, b) => ready(a.name) - ready(b.name) || rtt(a.name) - rtt(b.name))
      .map((r) => ({ region: r.name, url: `${this.config.tls !== null ? 'https' : 'http'}://${urlHost(r.node.api.host)}:${r.node.api.port}` }));
  }

  /** The prepared snapshot replaces the store (snapshot/install.ts); the core is opened again on it. */
  #installSnapshot(): void {
    const storage = this.#storage;
    if (storage === null || this.#stopping || this.#failed) return;
    this.#core = null;
    this.#storage = null;
    this.#generation++;
    // What the old core held was refused (it is catching-up): nothing of it was acknowledged.
    for (const { route, resolve } of this.#pending.values()) resolve(route === 'strong' ? { ok: false, error: { code: 'QUORUM_TIMEOUT', message: `region ${this.region} installed a snapshot while this request waited; it may still commit through the group: retry with the same Idempotency-Key`, mayHaveCommitted: true } } : this.#notReady('is installing a snapshot'));
    this.#pending.clear();
    try {
      storage.close();
      installReady(this.spec.node.data);
      // No second quick_check: prepareFetched checked this very file moments ago (a node that
      // restarts before the swap checks it at start, as every store).
      const reopened = new SqliteStorage(path.join(this.spec.node.data, 'tern.sqlite'), { checkOnOpen: false, deferSync: true });
      this.#storage = reopened;
      this.#core = RegionCore.open(this.coreConfig(), reopened, this.#now());
    } catch (err) {
      this.#failed = true;
      this.#onFatal(err);
      return;
    }
    this.#schedule();
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
    this.#rejoin.stop();
    if (this.#donorSweep !== null) clearInterval(this.#donorSweep);
    await this.#donor.expire(true);
    if (this.#tick !== null) clearInterval(this.#tick);
    if (!this.#failed) this.#turn();
    // What committed is answered once synced, before the rest is refused.
    await this.#speaking;
    if (this.#diskProbe !== null) clearInterval(this.#diskProbe);
    // An async request still pending did not commit (async writes commit in the step that admits
    // them); a strong one may yet commit through the group.
    for (const { route, resolve } of this.#pending.values()) {
      if (route === 'async') resolve(this.#notReady('stopped before answering'));
      else resolve({ ok: false, error: { code: 'QUORUM_TIMEOUT', message: `region ${this.region} stopped before answering; the request may still commit: retry with the same Idempotency-Key if it had one, else read the row to learn the outcome`, mayHaveCommitted: true } });
    }
    this.#pending.clear();
    await this.#transport?.stop();
    this.#storage?.close();
    this.#core = null;
  }
}
