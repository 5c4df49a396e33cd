/**
 * A node's Prometheus metrics (prom-client), on a registry of its own: request latency, per-peer
 * replication lag in ms and ops, link state, ops applied, conflicts by class, clock refusals.
 * Replica counters are read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicaMetrics } from '../core/replica/metrics.js';
import type { NodeStatus } from './region-node.js';

export interface MetricsSource {
  status(): NodeStatus;
  metrics(): Readonly<ReplicaMetrics> | null;
}

const stages = ['catching-up', 'read-ready', 'write-ready', 'fenced'] as const;

/** A counter whose value is read from elsewhere at scrape time. */
function readCounter(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, v: number) => void) => void): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      read((labels, v) => this.inc(labels, v));
    },
  });
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly #requests: Histogram<string>;
  readonly applyLag: Histogram<string>;

  constructor(region: string, source: () => MetricsSource | null) {
    this.registry.setDefaultLabels({ region });
    collectDefaultMetrics({ register: this.registry });
    this.#requests = new Histogram({
      name: 'tern_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.applyLag = new Histogram({
      name: 'tern_replication_apply_lag_seconds',
      help: 'Time from an op\u2019s commit at its origin (its HLC) to its apply here',
      labelNames: ['origin'],
      // Fine around typical one-way WAN delays (40 to 100 ms), so percentiles read off it are useful.
      buckets: [0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.055, 0.06, 0.07, 0.08, 0.09, 0.095, 0.1, 0.105, 0.11, 0.12, 0.135, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    const status = () => source()?.status();
    new Gauge({
      name: 'tern_replication_lag_ms',
      help: 'How far behind a peer region\u2019s writes this region may be, in ms (heartbeats)',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of status()?.replica.peers ?? []) if (p.lagMs !== null) this.set({ peer: p.region }, p.lagMs);
      },
    });
    new Gauge({
      name: 'tern_replication_lag_ops',
      help: 'Ops a peer region has applied (as it last reported) that this region has not',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of status()?.replica.peers ?? []) this.set({ peer: p.region }, p.lagOps);
      },
    });
    new Gauge({
      name: 'tern_peer_link_up',
      help: '1 when the outbound link to the peer is connected and welcomed',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [peer, l] of Object.entries(status()?.links ?? {})) this.set({ peer }, l.connected ? 1 : 0);
      },
    });
    const m = () => source()?.metrics() ?? null;
    readCounter(this.registry, 'tern_ops_applied_total', 'Ops applied (local and remote)', [], (set) => set({}, m()?.opsApplied ?? 0));
    readCounter(this.registry, 'tern_ops_created_total', 'Ops accepted from clients in this region', [], (set) => set({}, m()?.opsCreated ?? 0));
    readCounter(this.registry, 'tern_conflicts_total', 'Conflicts resolved, by class', ['kind'], (set) => {
      const x = m();
      set({ kind: 'write-write' }, x?.conflictsWriteWrite ?? 0);
      set({ kind: 'delete-update' }, x?.conflictsDeleteUpdate ?? 0);
      set({ kind: 'insert-insert' }, x?.conflictsInsertInsert ?? 0);
    });
    new Gauge({
      name: 'tern_log_bytes',
      help: 'Approximate bytes of ops this region\u2019s logs hold (retention.logBytesMax bounds what a region away may hold up)',
      registers: [this.registry],
      collect() {
        const st = status();
        if (st !== undefined && st !== null) this.set(st.replica.logBytes);
      },
    });
    new Gauge({
      name: 'tern_evicted',
      help: 'Per region evicted from causal stability through the strong log: 1 once decided, 0.5 while members acknowledge',
      labelNames: ['evicted'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const e of status()?.evictions ?? []) this.set({ evicted: e.region }, e.through === null ? 0.5 : 1);
      },
    });
    readCounter(this.registry, 'tern_ops_of_evicted_total', 'Ops of an evicted region beyond what survives its eviction (its orphans), refused here', [], (set) => set({}, m()?.opsOfEvicted ?? 0));
    readCounter(this.registry, 'tern_orphaned_writes_total', 'Orphaned writes listed in the conflict feed: writes of an evicted region no other region received, never applied (terndb orphans)', [], (set) => set({}, m()?.orphanedWrites ?? 0));
    readCounter(this.registry, 'tern_conflicts_collected_total', 'Conflict-feed entries collected by retention (retention.conflictsMs)', [], (set) => set({}, m()?.conflictsCollected ?? 0));
    readCounter(this.registry, 'tern_hlc_refused_total', 'Remote timestamps refused for being further ahead than the max clock offset', [], (set) => set({}, m()?.hlcRefused ?? 0));
    new Gauge({
      name: 'tern_raft_state',
      help: 'The strong group as this node sees it: term, leader (1 when this node leads), commit and applied index, lease held, log entries on disk',
      labelNames: ['what'],
      registers: [this.registry],
      collect() {
        this.reset();
        const r = status()?.raft;
        if (r === undefined) return;
        this.set({ what: 'term' }, r.term);
        this.set({ what: 'leader' }, r.role === 'leader' ? 1 : 0);
        this.set({ what: 'commit_index' }, r.commitIndex);
        this.set({ what: 'applied_index' }, r.appliedIndex);
        this.set({ what: 'lease_held' }, r.leaseValid ? 1 : 0);
        this.set({ what: 'log_entries' }, r.logEntries);
      },
    });
    readCounter(this.registry, 'tern_strong_events_total', 'Strong group events: proposals, forwarded requests, quorum timeouts, lease and read-index reads, follower reads, snapshots', ['event'], (set) => {
      for (const [event, v] of Object.entries(status()?.strongCounters ?? {})) set({ event }, v);
    });
    new Gauge({
      name: 'tern_stage',
      help: 'This node\u2019s stage: 1 for the current one (reason label: why it is not write-ready)',
      labelNames: ['stage', 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        const st = status()?.stage;
        if (st === undefined) return;
        for (const stage of stages) this.set({ stage, reason: stage === st.stage ? (st.reason ?? '') : '' }, stage === st.stage ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tern_clock_offset_ms',
      help: 'A peer\u2019s wall clock minus this node\u2019s, as the clock guard last measured it (NTP-style probes)',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [peer, o] of Object.entries(status()?.clock.offsets ?? {})) if (o !== null) this.set({ peer }, o.wallMs);
      },
    });
    new Gauge({
      name: 'tern_clock_trusted',
      help: '1 while this node\u2019s clock is within maxClockOffsetMs of a majority of regions (else it refuses writes)',
      registers: [this.registry],
      collect() {
        this.set(status()?.clock.trusted === true ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tern_write_lease',
      help: 'Write leases per region slot: epoch, and held (1 while this node holds the slot now)',
      labelNames: ['slot', 'holder', 'what'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const l of status()?.leases ?? []) {
          this.set({ slot: l.region, holder: l.holder ?? '', what: 'epoch' }, l.epoch);
          this.set({ slot: l.region, holder: l.holder ?? '', what: 'held' }, l.heldHere ? 1 : 0);
        }
      },
    });
    readCounter(this.registry, 'tern_fenced_writes_total', 'Guarded ops received from a region that did not hold the write lease at their position, applied as nothing (conflict feed kind fenced-write)', [], (set) => set({}, m()?.fencedWrites ?? 0));
    readCounter(this.registry, 'tern_peer_frames_dropped_total', 'Messages dropped because a peer\u2019s send queue was full', ['peer'], (set) => {
      for (const [peer, l] of Object.entries(status()?.links ?? {})) set({ peer }, l.framesDropped);
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.#requests.observe({ method, route, status: String(status) }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
