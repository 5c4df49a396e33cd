/**
 * The cluster configuration file (docs/api.md, "Cluster configuration"), YAML or JSON. Every field is
 * validated at start; a bad file is a ConfigError naming the field (the CLI exits 2 with it).
 * `terndb node` and `terndb wan` read the same file and derive the same addresses from it.
 */
import type { Credential } from '../core/strong/access-table.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isRegionId, type RegionId } from '../core/clock/version-vector.js';
import { limits } from '../core/limits.js';
import { configProblem, replicaDefaults, retentionProblem } from '../core/replica/config.js';
import { isValidTableName, validatePolicy, type TablePolicy } from '../core/schema/policy.js';
import { builtinMergeFunctions } from './merge-functions.js';
import { forwardedRetentionMs } from '../core/strong/state-machine.js';
import { strongDefaults } from '../core/strong/strong-node.js';
import { failoverDefaults, failoverProblem, failoverTableProblem, type FailoverSettings } from '../core/node/config.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'BAD_CONFIG';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface RegionSpec {
  readonly name: RegionId;
  /**
   * `api` and `peer` are where clients and the other regions reach the node; `bind` where it
   * listens (the same unless the configuration says otherwise: 0.0.0.0 in a container, say).
   */
  readonly node: {
    readonly id: string;
    readonly api: HostPort;
    readonly peer: HostPort;
    readonly data: string;
    readonly bind: { readonly api: HostPort; readonly peer: HostPort };
    /** This node's certificate and key (PEM file paths), signed by the cluster CA (`tls.ca`); null without TLS. */
    readonly tls: { readonly cert: string; readonly key: string } | null;
  };
}

/** The cluster's TLS: the CA every node's certificate is signed by (a PEM file path). Peer links use mutual TLS; client APIs (nodes and router) serve HTTPS. */
export interface TlsSpec {
  readonly ca: string;
}

export interface WanSpec {
  readonly control: HostPort;
  /** Round trip per unordered pair of regions, keyed `a/b` with a < b. */
  readonly rttMs: Readonly<Record<string, number>>;
  /** Link (i → j) listens on linkPortBase + i·n + j. */
  readonly linkPortBase: number;
}

export interface Settings {
  /**
   * Per-client rate limit of the client API (rate-limit.ts): requests per second a client (its
   * user, else its address) may sustain, and how many at once after being idle; 0: no limit.
   */
  readonly clientRequestsPerSecond: number;
  readonly clientRequestBurst: number;
  readonly maxClockOffsetMs: number;
  readonly syncIntervalMs: number;
  readonly tickIntervalMs: number;
  readonly sessionWaitMs: number;
  readonly idempotencyRetentionMs: number;
  /** Strong group: the leader's heartbeat interval. */
  readonly raftHeartbeatMs: number;
  /** Strong group: the minimum election timeout (each node draws from [t, 2t)). */
  readonly raftElectionMs: number;
  /** Strong writes and reads answer QUORUM_TIMEOUT after this. */
  readonly strongTimeoutMs: number;
  /** Strong group: the region that should lead when it is healthy (null: any). */
  readonly preferredLeader: RegionId | null;
  /** Write leases (docs/internals/failover.md): how long one lasts, and how often its holder renews it. */
  readonly leaseMs: number;
  readonly renewMs: number;
  /** Stages: a region is read-ready (write-ready) once it has every reachable peer's ops up to now − this. */
  readonly readReadyLagMs: number;
  readonly writeReadyLagMs: number;
  /** How often each peer's clock offset is measured (the clock guard). */
  readonly clockProbeMs: number;
  /** Per home region, the regions that take over its home-with-failover rows, in order (else: nearest first). */
  readonly failoverOrder: Readonly<Record<RegionId, readonly RegionId[]>>;
}

/** `terndb router` (src/router/router.ts): where it listens and how it judges regions. */
export interface RouterSpec {
  readonly api: HostPort;
  /** Its own region: requests without a Tern-Client-Region header prefer it (null: the nearest). */
  readonly region: RegionId | null;
  readonly probeIntervalMs: number;
  /** Failed probes (or unreachable requests) in a row after which a region is drained. */
  readonly failThreshold: number;
  readonly attemptTimeoutMs: number;
  readonly maxInflight: number;
  /** Its certificate and key (PEM file paths), signed by the cluster CA, for serving HTTPS; required when the cluster has TLS. */
  readonly tls: { readonly cert: string; readonly key: string } | null;
}

export const routerDefaults = { probeIntervalMs: 500, failThreshold: 3, attemptTimeoutMs: 10_000, maxInflight: 4096 } as const;

/**
 * How much history the cluster keeps (docs/operations.md, "Retention"): a region unheard for
 * `logMs`, or holding up more than `logBytesMax` of another region's logs, is evicted from
 * stability; conflict-feed entries are collected `conflictsMs` after their time.
 */
export interface RetentionSpec {
  readonly logMs: number;
  readonly logBytesMax: number;
  readonly conflictsMs: number;
  /** How fast a node serves snapshots to regions rejoining after an eviction, in MB/s summed over them (the donor keeps serving its clients). */
  readonly snapshotMBps: number;
}

export const retentionDefaults: RetentionSpec = { logMs: replicaDefaults.logRetentionMs, logBytesMax: replicaDefaults.logRetentionBytesMax, conflictsMs: replicaDefaults.conflictRetentionMs, snapshotMBps: 64 };

export interface ClusterConfig {
  readonly cluster: string;
  readonly regions: readonly RegionSpec[];
  readonly wan: WanSpec | null;
  readonly router: RouterSpec | null;
  readonly tables: Readonly<Record<string, TablePolicy>>;
  readonly settings: Settings;
  readonly retention: RetentionSpec;
  /** Mutual TLS between regions and HTTPS on the client APIs; null when the file says `insecure: true` or says nothing of TLS. */
  readonly tls: TlsSpec | null;
  /** The file says `insecure: true`: plaintext links and API, on purpose. */
  readonly insecure: boolean;
  /** Authentication required (deny by default): the root user's credential; null when every call is allowed. */
  readonly auth: AuthSpec | null;
}

export interface AuthSpec {
  readonly root: Credential;
  /** Who may read /metrics: anyone (`open`, the default: scrapers often carry no token) or any authenticated caller (`users`). */
  readonly metrics: 'open' | 'users';
}

/** The user whose credential is the configuration's (`auth.root`): a cluster admin. */
export const rootUser = 'root';

const topKeys = new Set(['cluster', 'regions', 'wan', 'router', 'tables', 'settings', 'retention', 'tls', 'insecure', 'auth']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function pairKey(a: string, b: string): string {
  return a < b ? `${a}/${b}` : `${b}/${a}`;
}

/** A host as a URL writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function parseHostPort(value: unknown, field: string): HostPort {
  if (typeof value !== 'string') throw new ConfigError(field, 'must be "host:port"');
  const i = value.lastIndexOf(':');
  const host = value.slice(0, i);
  const port = Number(value.slice(i + 1));
  if (i <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(field, `must be "host:port" with a port from 1 to 65535, not ${JSON.stringify(value)}`);
  return { host, port };
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw new ConfigError(`${field}.${k}`, `unknown field (known: ${allowed.join(', ')})`);
}

function parseRegions(value: unknown, baseDir: string): RegionSpec[] {
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError('regions', 'must be a non-empty list');
  if (value.length > limits.regionsMax) throw new ConfigError('regions', `at most ${limits.regionsMax} regions`);
  const out: RegionSpec[] = [];
  for (const [i, r] of value.entries()) {
    const where = `regions[${i}]`;
    if (!isRecord(r)) throw new ConfigError(where, 'must be {name, node}');
    checkKeys(r, ['name', 'node'], where);
    if (!isRegionId(r['name'])) throw new ConfigError(`${where}.name`, 'must be a region id: lowercase letters, digits and dashes');
    const node = r['node'];
    if (!isRecord(node)) throw new ConfigError(`${where}.node`, 'must be {id, api, peer, data}');
    checkKeys(node, ['id', 'api', 'peer', 'data', 'bind', 'tls'], `${where}.node`);
    const bind = node['bind'] ?? {};
    if (!isRecord(bind)) throw new ConfigError(`${where}.node.bind`, 'must be {api?, peer?}: the addresses to listen on when they differ from api and peer');
    checkKeys(bind, ['api', 'peer'], `${where}.node.bind`);
    if (typeof node['id'] !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(node['id'])) throw new ConfigError(`${where}.node.id`, 'must be 1 to 64 letters, digits, _ or -');
    if (typeof node['data'] !== 'string' || node['data'] === '') throw new ConfigError(`${where}.node.data`, 'must be a directory path');
    out.push({
      name: r['name'],
      node: {
        id: node['id'],
        api: parseHostPort(node['api'], `${where}.node.api`),
        peer: parseHostPort(node['peer'], `${where}.node.peer`),
        data: path.resolve(baseDir, node['data']),
        bind: {
          api: parseHostPort(bind['api'] ?? node['api'], `${where}.node.bind.api`),
          peer: parseHostPort(bind['peer'] ?? node['peer'], `${where}.node.bind.peer`),
        },
        tls: parseTlsFiles(node['tls'], `${where}.node.tls`, baseDir),
      },
    });
  }
  const names = new Set<string>();
  for (const [i, r] of out.entries()) {
    if (names.has(r.name)) throw new ConfigError(`regions[${i}].name`, `${r.name} is listed twice`);
    names.add(r.name);
  }
  return out;
}

/**
 * Where the WAN emulator listens (its control API and its links) when `wan.control` gives a port
 * alone: the loopback. The control API cuts links and changes round trips for anyone who reaches
 * it, unauthenticated, so it is reachable from other machines only when a host is configured.
 */
export const wanDefaultHost = '127.0.0.1';

/** `wan.control`: "host:port", or a port alone (a number, "7050" or ":7050") on wanDefaultHost. */
function parseWanControl(value: unknown): HostPort {
  const alone = typeof value === 'number' ? value : typeof value === 'string' && /^:?\d+$/.test(value) ? Number(value.replace(':', '')) : null;
  if (alone === null) return parseHostPort(value, 'wan.control');
  if (!Number.isInteger(alone) || alone < 1 || alone > 65535) throw new ConfigError('wan.control', `must be "host:port", or a port from 1 to 65535 alone (on ${wanDefaultHost}), not ${JSON.stringify(value)}`);
  return { host: wanDefaultHost, port: alone };
}

function parseWan(value: unknown, regions: readonly RegionSpec[]): WanSpec | null {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw new ConfigError('wan', 'must be {control, rttMs}');
  checkKeys(value, ['control', 'rttMs', 'linkPortBase'], 'wan');
  const control = parseWanControl(value['control']);
  const rttIn = value['rttMs'] ?? {};
  if (!isRecord(rttIn)) throw new ConfigError('wan.rttMs', 'must map "a/b" region pairs to round trips in ms');
  const names = regions.map((r) => r.name);
  const rttMs: Record<string, number> = {};
  for (const [k, v] of Object.entries(rttIn)) {
    const [a, b, extra] = k.split('/');
    if (a === undefined || b === undefined || extra !== undefined || !names.includes(a) || !names.includes(b) || a === b) {
      throw new ConfigError(`wan.rttMs.${k}`, `must name two different regions of the cluster as "a/b" (regions: ${names.join(', ')})`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 60_000) throw new ConfigError(`wan.rttMs.${k}`, 'must be a round trip from 0 to 60000 ms');
    rttMs[pairKey(a, b)] = v;
  }
  const base = value['linkPortBase'] ?? control.port + 100;
  if (typeof base !== 'number' || !Number.isInteger(base) || base < 1 || base + names.length * names.length > 65535) {
    throw new ConfigError('wan.linkPortBase', 'must be a port such that base + regions² stays below 65536');
  }
  return { control, rttMs, linkPortBase: base };
}

function parseSettings(value: unknown, regions: readonly RegionId[]): Settings {
  const defaults: Settings = {
    clientRequestsPerSecond: 0,
    clientRequestBurst: 0,
    maxClockOffsetMs: replicaDefaults.maxClockOffsetMs,
    syncIntervalMs: replicaDefaults.syncIntervalMs,
    tickIntervalMs: 10,
    sessionWaitMs: replicaDefaults.sessionWaitMs,
    idempotencyRetentionMs: replicaDefaults.idempotencyRetentionMs,
    raftHeartbeatMs: strongDefaults.heartbeatMs,
    raftElectionMs: strongDefaults.electionMs,
    strongTimeoutMs: strongDefaults.requestTimeoutMs,
    preferredLeader: null,
    ...failoverDefaults,
    failoverOrder: {},
  };
  if (value === undefined || value === null) return checkedSettings(defaults, regions);
  if (!isRecord(value)) throw new ConfigError('settings', 'must be an object');
  checkKeys(value, Object.keys(defaults), 'settings');
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(value)) {
    if (k === 'preferredLeader') {
      if (v !== null && (typeof v !== 'string' || !regions.includes(v))) throw new ConfigError('settings.preferredLeader', `must be one of the regions (${regions.join(', ')}) or null`);
    } else if (k === 'failoverOrder') {
      if (!isRecord(v)) throw new ConfigError('settings.failoverOrder', 'must map home regions to lists of regions, e.g. {"us-east": ["eu-west", "ap-south"]}');
    } else if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new ConfigError(`settings.${k}`, k.startsWith('client') ? 'must be a non-negative integer (0: no limit)' : 'must be a non-negative integer of milliseconds');
    }
    out[k] = v;
  }
  return checkedSettings(out as unknown as Settings, regions);
}

/** The settings' constraints on each other (the strong group's, then the write leases'). */
function checkedSettings(settings: Settings, regions: readonly RegionId[]): Settings {
  if (settings.tickIntervalMs < 1) throw new ConfigError('settings.tickIntervalMs', 'must be at least 1');
  if (settings.raftHeartbeatMs < settings.tickIntervalMs) throw new ConfigError('settings.raftHeartbeatMs', `must be at least the tick interval (${settings.tickIntervalMs} ms)`);
  if (settings.raftElectionMs < 2 * settings.raftHeartbeatMs) throw new ConfigError('settings.raftElectionMs', `must be at least twice raftHeartbeatMs (${settings.raftHeartbeatMs} ms)`);
  // A lease of electionMs − maxClockOffsetMs must be positive, or strong reads always need a round trip.
  if (settings.raftElectionMs <= settings.maxClockOffsetMs) throw new ConfigError('settings.raftElectionMs', `must exceed maxClockOffsetMs (${settings.maxClockOffsetMs} ms): the leader's lease is the difference`);
  if (settings.strongTimeoutMs < 1) throw new ConfigError('settings.strongTimeoutMs', 'must be at least 1');
  // Forwarded copies of a strong write are recognised for forwardedRetentionMs (state-machine.ts).
  if (settings.strongTimeoutMs + 3 * settings.maxClockOffsetMs >= forwardedRetentionMs) {
    throw new ConfigError('settings.strongTimeoutMs', `strongTimeoutMs + 3 × maxClockOffsetMs must stay below ${forwardedRetentionMs} ms (retried strong writes are recognised for that long)`);
  }
  const lease = failoverProblem(failoverSettings(settings), { regions, raftElectionMs: settings.raftElectionMs, maxClockOffsetMs: settings.maxClockOffsetMs, tickMs: settings.tickIntervalMs });
  if (lease !== null) throw new ConfigError(lease.field ?? 'settings', lease.message.replace(/^[^:]+: /, ''));
  return settings;
}

/** The region core's failover settings, from the configuration's. */
export function failoverSettings(s: Settings): FailoverSettings {
  return {
    leaseMs: s.leaseMs,
    renewMs: s.renewMs,
    readReadyLagMs: s.readReadyLagMs,
    writeReadyLagMs: s.writeReadyLagMs,
    clockProbeMs: s.clockProbeMs,
    // A peer heard from within a few sync intervals is reachable (heartbeats come every one).
    reachableWithinMs: Math.max(1_000, 5 * s.syncIntervalMs),
    failoverOrder: s.failoverOrder,
  };
}

/** The retention section: each a positive integer, then checked against each other and the settings (retentionProblem). */
function parseRetention(value: unknown, settings: Settings): RetentionSpec {
  if (value !== undefined && value !== null && !isRecord(value)) throw new ConfigError('retention', 'must be {logMs?, logBytesMax?, conflictsMs?, snapshotMBps?}');
  const given = (value ?? {}) as Record<string, unknown>;
  checkKeys(given, Object.keys(retentionDefaults), 'retention');
  const out: Record<string, number> = { ...retentionDefaults };
  for (const [k, v] of Object.entries(given)) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new ConfigError(`retention.${k}`, `must be a positive integer of ${k === 'logBytesMax' ? 'bytes' : k === 'snapshotMBps' ? 'MB per second' : 'milliseconds'}`);
    out[k] = v;
  }
  const r = out as unknown as RetentionSpec;
  const problem = retentionProblem({ logRetentionMs: r.logMs, logRetentionBytesMax: r.logBytesMax, conflictRetentionMs: r.conflictsMs, idempotencyRetentionMs: settings.idempotencyRetentionMs, syncIntervalMs: settings.syncIntervalMs });
  if (problem !== null) {
    const field = ({ logRetentionMs: 'retention.logMs', logRetentionBytesMax: 'retention.logBytesMax', conflictRetentionMs: 'retention.conflictsMs' } as Record<string, string>)[problem.field ?? ''] ?? 'retention';
    const message = problem.message.replace(/^[^:]+: /, '').replace('idempotencyRetentionMs', 'settings.idempotencyRetentionMs').replace('logRetentionMs', 'retention.logMs');
    throw new ConfigError(field, message);
  }
  return r;
}

/** Validates a parsed configuration; relative data paths resolve against `baseDir`. */
/** `auth: {root: {salt, hash}}`: the root token's credential (terndb demo makes one; a token's secret is never in the file). */
function parseAuth(value: unknown): ClusterConfig['auth'] {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw new ConfigError('auth', 'must be {root: {salt, hash}, metrics?}: the credential of the root token');
  checkKeys(value, ['root', 'metrics'], 'auth');
  const metrics = value['metrics'] ?? 'open';
  if (metrics !== 'open' && metrics !== 'users') throw new ConfigError('auth.metrics', 'must be open (anyone may read /metrics) or users (any authenticated caller)');
  const root = value['root'];
  if (!isRecord(root)) throw new ConfigError('auth.root', 'must be {salt, hash} (base64url), the credential of the root token');
  checkKeys(root, ['salt', 'hash'], 'auth.root');
  for (const k of ['salt', 'hash'] as const) {
    const v = root[k];
    if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{16,256}$/.test(v)) throw new ConfigError(`auth.root.${k}`, 'must be base64url, 16 to 256 characters');
  }
  // A hash of another length could never match a token: root would be locked out without a word.
  if (Buffer.from(root['hash'] as string, 'base64url').length !== 32) throw new ConfigError('auth.root.hash', 'must be the 32-byte scrypt hash of the root token (43 base64url characters)');
  return { root: { salt: root['salt'] as string, hash: root['hash'] as string }, metrics };
}

/** A node's (or the router's) `tls: {cert, key}`: PEM file paths, relative to the configuration file. Read (and checked) by the process that uses them. */
function parseTlsFiles(value: unknown, where: string, baseDir: string, maker = 'terndb cert create-node'): RegionSpec['node']['tls'] {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw new ConfigError(where, `must be {cert, key}: PEM files of a certificate and its private key (${maker} makes them)`);
  checkKeys(value, ['cert', 'key'], where);
  for (const k of ['cert', 'key'] as const) if (typeof value[k] !== 'string' || value[k] === '') throw new ConfigError(`${where}.${k}`, 'must be a file path');
  return { cert: path.resolve(baseDir, value['cert'] as string), key: path.resolve(baseDir, value['key'] as string) };
}

/** The top-level `tls: {ca}` and `insecure`, checked against the nodes' certificates. */
function parseTls(value: unknown, insecureIn: unknown, regions: readonly RegionSpec[], baseDir: string): { tls: TlsSpec | null; insecure: boolean } {
  if (insecureIn !== undefined && typeof insecureIn !== 'boolean') throw new ConfigError('insecure', 'must be true or false');
  const insecure = insecureIn === true;
  if (value === undefined || value === null) {
    const withCert = regions.findIndex((r) => r.node.tls !== null);
    if (withCert >= 0) throw new ConfigError('tls.ca', `regions[${withCert}].node.tls names a certificate, so the cluster needs its CA: add tls: {ca: <file>} (terndb cert create-ca makes one)`);
    return { tls: null, insecure };
  }
  if (insecure) throw new ConfigError('insecure', 'the file sets both tls and insecure: true; keep one');
  if (!isRecord(value)) throw new ConfigError('tls', 'must be {ca}: the PEM file of the cluster CA');
  checkKeys(value, ['ca'], 'tls');
  if (typeof value['ca'] !== 'string' || value['ca'] === '') throw new ConfigError('tls.ca', 'must be a file path');
  const without = regions.findIndex((r) => r.node.tls === null);
  if (without >= 0) throw new ConfigError(`regions[${without}].node.tls`, 'every node needs {cert, key} when the cluster has a CA (terndb cert create-node makes them)');
  return { tls: { ca: path.resolve(baseDir, value['ca']) }, insecure };
}

export function parseConfig(input: unknown, baseDir: string): ClusterConfig {
  if (!isRecord(input)) throw new ConfigError('(file)', 'must be a mapping with cluster, regions and tables');
  for (const k of Object.keys(input)) if (!topKeys.has(k)) throw new ConfigError(k, `unknown field (known: ${[...topKeys].join(', ')})`);
  const cluster = input['cluster'];
  if (typeof cluster !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(cluster)) throw new ConfigError('cluster', 'must be a name of 1 to 64 letters, digits, _, . or -');
  const regions = parseRegions(input['regions'], baseDir);
  const names = regions.map((r) => r.name);
  const wan = parseWan(input['wan'], regions);
  let router: ClusterConfig['router'] = null;
  if (input['router'] !== undefined && input['router'] !== null) {
    const r = input['router'];
    if (!isRecord(r)) throw new ConfigError('router', 'must be {api, region?, probeIntervalMs?, failThreshold?, attemptTimeoutMs?, maxInflight?, tls?}');
    checkKeys(r, ['api', 'region', 'probeIntervalMs', 'failThreshold', 'attemptTimeoutMs', 'maxInflight', 'tls'], 'router');
    const region = r['region'] ?? null;
    if (region !== null && (typeof region !== 'string' || !names.includes(region))) throw new ConfigError('router.region', `must be one of the regions (${names.join(', ')})`);
    const int = (k: keyof typeof routerDefaults, min: number, max: number): number => {
      const v = r[k] ?? routerDefaults[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new ConfigError(`router.${k}`, `must be an integer from ${min} to ${max}`);
      return v;
    };
    router = { api: parseHostPort(r['api'], 'router.api'), region, probeIntervalMs: int('probeIntervalMs', 50, 60_000), failThreshold: int('failThreshold', 1, 100), attemptTimeoutMs: int('attemptTimeoutMs', 100, 600_000), maxInflight: int('maxInflight', 1, 1_000_000), tls: parseTlsFiles(r['tls'], 'router.tls', baseDir, 'terndb cert create-router') };
  }
  const tablesIn = input['tables'] ?? {};
  if (!isRecord(tablesIn)) throw new ConfigError('tables', 'must map table names to policies');
  const tables: Record<string, TablePolicy> = {};
  for (const [name, spec] of Object.entries(tablesIn)) {
    if (!isValidTableName(name)) throw new ConfigError(`tables.${name}`, 'table names are letters, digits, _ and -, starting with a letter or _');
    const p = validatePolicy(spec ?? {}, { regions: names, mergeFunctions: Object.keys(builtinMergeFunctions) }, `tables.${name}`);
    if (!p.ok) throw new ConfigError(p.error.field ?? `tables.${name}`, p.error.message.replace(/^[^:]+: /, ''));
    const lone = failoverTableProblem(name, p.value, names);
    if (lone !== null) throw new ConfigError(lone.field ?? `tables.${name}`, lone.message.replace(/^[^:]+: /, ''));
    tables[name] = p.value;
  }
  const settings = parseSettings(input['settings'], names);
  const retention = parseRetention(input['retention'], settings);
  const { tls, insecure } = parseTls(input['tls'], input['insecure'], regions, baseDir);
  if (router !== null && tls === null && router.tls !== null) throw new ConfigError('tls.ca', 'router.tls names a certificate, so the cluster needs its CA: add tls: {ca: <file>}');
  const auth = parseAuth(input['auth']);
  const config: ClusterConfig = { cluster, regions, wan, router, tables, settings, retention, tls, insecure, auth };
  checkDistinct(config);
  // What the replica core would refuse at start, refused here with the field named (exit 2).
  const problem = configProblem({
    ...replicaDefaults,
    region: regions[0]?.name ?? '',
    regions: names,
    tables,
    mergeFunctions: builtinMergeFunctions,
    maxClockOffsetMs: settings.maxClockOffsetMs,
    syncIntervalMs: settings.syncIntervalMs,
    sessionWaitMs: settings.sessionWaitMs,
    idempotencyRetentionMs: settings.idempotencyRetentionMs,
    logRetentionMs: retention.logMs,
    logRetentionBytesMax: retention.logBytesMax,
    conflictRetentionMs: retention.conflictsMs,
  });
  if (problem !== null) {
    const field = problem.field === 'sessionWaitMs' || problem.field === 'maxClockOffsetMs' || problem.field === 'syncIntervalMs' ? `settings.${problem.field}` : (problem.field ?? '(file)');
    throw new ConfigError(field, problem.message.replace(/^[^:]+: /, ''));
  }
  return config;
}

/** Two regions may not share a data directory or a port. */
function checkDistinct(config: ClusterConfig): void {
  const seen = new Map<string, string>();
  const claim = (what: string, value: string, field: string) => {
    const prev = seen.get(`${what}:${value}`);
    if (prev !== undefined) throw new ConfigError(field, `${what} ${value} is also used by ${prev}`);
    seen.set(`${what}:${value}`, field);
  };
  config.regions.forEach((r, i) => {
    claim('data directory', r.node.data, `regions[${i}].node.data`);
    claim('address', `${r.node.api.host}:${r.node.api.port}`, `regions[${i}].node.api`);
    claim('address', `${r.node.peer.host}:${r.node.peer.port}`, `regions[${i}].node.peer`);
  });
  if (config.wan !== null) {
    claim('address', `${config.wan.control.host}:${config.wan.control.port}`, 'wan.control');
    const n = config.regions.length;
    for (let p = config.wan.linkPortBase; p < config.wan.linkPortBase + n * n; p++) claim('address', `${config.wan.control.host}:${p}`, 'wan.linkPortBase');
  }
  if (config.router !== null) claim('address', `${config.router.api.host}:${config.router.api.port}`, 'router.api');
}

/** Reads and validates a configuration file (.yaml, .yml or .json). */
export function loadConfig(file: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError('(file)', `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return parseConfig(parsed, path.dirname(path.resolve(file)));
}

/** The WAN emulator's port for the link from region index `i` to region index `j` (linkPortBase + i·n + j). */
export function wanLinkPort(wan: WanSpec, regionCount: number, i: number, j: number): number {
  return wan.linkPortBase + i * regionCount + j;
}

/** Where region `from` connects to reach region `to`: through the WAN emulator when configured. */
export function peerAddress(config: ClusterConfig, from: RegionId, to: RegionId): HostPort {
  const target = config.regions.find((r) => r.name === to);
  if (target === undefined) throw new Error(`no region ${to}`);
  if (config.wan === null) return target.node.peer;
  const n = config.regions.length;
  const i = config.regions.findIndex((r) => r.name === from);
  const j = config.regions.findIndex((r) => r.name === to);
  return { host: config.wan.control.host, port: wanLinkPort(config.wan, n, i, j) };
}
