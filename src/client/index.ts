/**
 * The Tern client SDK: `import { connect } from 'terndb/client'`.
 *
 *   const db = connect({ regions: ['http://localhost:7001', 'http://localhost:7002'] });
 *   const profiles = db.table<{ name: string; visits: number; tags: string[] }>('profiles');
 *   await profiles.patch('ann', { set: { name: 'Ann' }, incr: { visits: 1 } });
 *   const ann = await profiles.get('ann', { consistency: 'session' });
 *
 *   const res = await db.txn({
 *     compare: [{ table: 'accounts', key: 'a', field: 'balance', op: '>=', value: 10 }],
 *     success: [{ table: 'accounts', key: 'a', incr: { balance: -10 } }, { table: 'accounts', key: 'b', incr: { balance: 10 } }],
 *   });
 *   db.close(); // stops the background /readyz probes (they never keep a process alive anyway)
 *
 * It carries the session token from every answer to the next request (read-your-writes and
 * monotonic reads in any region), and gives every write and transaction one idempotency key that
 * every attempt of it reuses, in every region, so a retry has one effect.
 *
 * It routes like a health-aware router would, without one (docs/api.md, "The client SDK"):
 * - a health book per region URL (health.ts): the last /readyz answer (stage, reason, cluster and
 *   region names), a moving average of the round trips, consecutive failures and a backoff
 *   deadline (backoff.ts: exponential, jittered, capped);
 * - /readyz probes in the background (probe.ts), from the first call on, every `probeIntervalMs`,
 *   one in flight per region at most, on unref()ed timers, until close();
 * - each call goes first to the regions whose last stage serves it, fastest first (choose.ts),
 *   skipping regions in backoff unless every one is, regions that named another cluster, and
 *   regions whose Retry-After has not passed;
 * - it moves on to the next region after a connection error or timeout, a retryable 503, a 429, or
 *   (for keyed requests and reads) a 504; when no region is left and a Retry-After ends before the
 *   call's deadline (`deadlineMs`), it waits for it and tries again, `maxAttempts` at most (call.ts);
 * - a write to a row homed elsewhere (421 WRONG_REGION) is sent once to the home's URL when that
 *   region is among `regions` (learned from answers' Tern-Region header, /readyz, or its /livez).
 *
 * It uses the platform's fetch and timers: no native module, no static Node-only import; every one
 * of them (fetch, clock, timers, randomness) can be replaced through ConnectOptions. The one
 * exception is Node-only and loaded on demand: the `ca`, `cert` and `key` options (HTTPS to nodes
 * whose certificates a private cluster CA signed, and a client certificate) pass an undici Agent
 * to Node's fetch, and tls.ts imports `undici` and `node:tls` dynamically, on the first request
 * of a client given them; close() closes that Agent.
 */
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { Caller } from './call.js';
import type { Order } from './choose.js';
import { platformTimers, type ClientTimers } from './env.js';
import { TernClientError } from './errors.js';
import { HealthBook, type RegionHealth } from './health.js';
import { Prober } from './probe.js';
import { tlsFetch } from './tls.js';

export { TernClientError } from './errors.js';
export { mergeTokens } from './session.js';
export type { BackoffPolicy } from './backoff.js';
export type { Order } from './choose.js';
export type { ClientTimers } from './env.js';
export type { RegionHealth, Stage } from './health.js';

export type Consistency = 'eventual' | 'session' | 'bounded' | 'causal' | 'strong';
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Row<F> {
  readonly key: string;
  readonly fields: Partial<F>;
  readonly version: string | null;
}

export interface Patch {
  readonly set?: Record<string, JsonValue>;
  readonly unset?: readonly string[];
  readonly incr?: Record<string, number>;
  readonly add?: Record<string, ReadonlyArray<string | number | boolean | null>>;
  readonly remove?: Record<string, ReadonlyArray<string | number | boolean | null>>;
}

export interface ReadOptions {
  readonly consistency?: Consistency;
  readonly maxStalenessMs?: number;
}

export interface ConnectOptions {
  /** Region node URLs in order of preference (the tie-break of measured latencies, and the order itself with `order: 'given'`). */
  readonly regions: readonly string[];
  /** Per-attempt timeout (10 s). */
  readonly timeoutMs?: number;
  /** A session token to start from (to continue another client's session). */
  readonly session?: string;
  /** The bearer token of a cluster that requires authentication (`<user>.<secret>`), sent with every call. */
  readonly token?: string;
  /**
   * Node only: PEM text of the CA certificate(s) to trust for `https://` region URLs, besides the
   * system's roots (the cluster CA that signed the nodes' API certificates). Not with `fetch`.
   * In a browser, requests of a client given `ca`, `cert` or `key` fail: the browser's trust store
   * and client certificates are the browser's own.
   */
  readonly ca?: string | readonly string[];
  /**
   * Node only: the PEM client certificate (`terndb cert create-client --user U`) presented to the
   * nodes in the TLS handshake; they take the caller for user U when no `token` is given. Needs
   * `key`. Not with `fetch`.
   */
  readonly cert?: string;
  /** Node only: the PEM private key of `cert` (both or neither). Not with `fetch`. */
  readonly key?: string;
  /** The fetch to use (the platform's). With `ca`, `cert` or `key`, configure TLS in it instead: connect() refuses both. */
  readonly fetch?: typeof fetch;
  /** `latency` (default): regions that serve the call, fastest measured first; `given`: in the order of `regions`. */
  readonly order?: Order;
  /** How often each region's /readyz is asked, from the first call on (1000 ms); 0: never. */
  readonly probeIntervalMs?: number;
  /** A call's overall time limit, all attempts and waits included (30 s). */
  readonly deadlineMs?: number;
  /** A call's most attempts, the 421 follow aside (3 × the number of regions). */
  readonly maxAttempts?: number;
  /** Backoff after consecutive failures of a region: `baseMs` × 2^(failures−1), capped at `maxMs`, jittered (500 ms, 30 s). */
  readonly backoff?: Partial<BackoffPolicy>;
  /** The cluster the regions must belong to (their /readyz and /livez name it); default: the first one named. */
  readonly cluster?: string;
  /** The clock, in ms of wall time (Date.now). */
  readonly now?: () => number;
  /** Timers (the platform's); the probes' timers are unref()ed when the handle has unref. */
  readonly timers?: ClientTimers;
  /** Randomness in [0, 1) for the backoff's jitter (Math.random). */
  readonly random?: () => number;
}

/** A compare of a strong transaction (docs/api.md, POST /v1/txn). */
export type TxnCompare =
  | { readonly table: string; readonly key: string; readonly field: string; readonly op: '==' | '!=' | '<' | '<=' | '>' | '>='; readonly value: JsonValue }
  | { readonly table: string; readonly key: string; readonly op: '==' | '!=' | '<' | '<=' | '>' | '>='; readonly version: number }
  | { readonly table: string; readonly key: string; readonly op: 'exists' | 'missing' };

/** An op of a strong transaction: a get, a delete, or field operations. */
export type TxnOp = ({ readonly table: string; readonly key: string } & Patch) | { readonly table: string; readonly key: string; readonly get: true } | { readonly table: string; readonly key: string; readonly delete: true };

export interface Txn {
  readonly compare?: readonly TxnCompare[];
  readonly success?: readonly TxnOp[];
  readonly failure?: readonly TxnOp[];
}

export interface TxnResult {
  readonly succeeded: boolean;
  /** One per op of the branch taken: the row (null when missing or deleted). */
  readonly results: ReadonlyArray<Row<Record<string, JsonValue>> | null>;
}

export interface Table<F> {
  /** The row, or null when it is absent or deleted. */
  get(key: string, options?: ReadOptions): Promise<Row<F> | null>;
  /** Sets the given fields (upsert). */
  put(key: string, fields: Partial<F> & Record<string, JsonValue>): Promise<Row<F>>;
  /** Field operations: set, unset, incr, add, remove. */
  patch(key: string, patch: Patch): Promise<Row<F>>;
  delete(key: string): Promise<void>;
  scan(options?: { prefix?: string; after?: string; limit?: number } & ReadOptions): Promise<{ rows: Array<Row<F>>; next: string | null }>;
}

export interface Client {
  table<F = Record<string, JsonValue>>(name: string): Table<F>;
  /** A conditional transaction over strong tables; executed at most once even when retried. */
  txn(txn: Txn, options?: { idempotencyKey?: string }): Promise<TxnResult>;
  /** Creates or alters a table (through the strong log). */
  putTable(name: string, policy: Record<string, JsonValue>): Promise<{ table: string; policy: unknown }>;
  conflicts(options?: { table?: string; after?: number; limit?: number }): Promise<{ conflicts: unknown[]; next: number }>;
  /** The current session token (send it to another client to share the session). */
  readonly session: string | undefined;
  /** What the client knows of each region URL (a copy), in the order given. */
  health(): RegionHealth[];
  /** Stops the background /readyz probes (calls still work, without them), and closes the connections of the `ca`/`cert`/`key` options' Agent. */
  close(): void;
}

/** `bounded` reads are refused by a region fenced for its clock; other reads are not. */
const readAccess = (consistency: Consistency | undefined) => (consistency === 'bounded' ? ('bounded-read' as const) : ('read' as const));

function option(name: string, value: number | undefined, fallback: number, ok: (n: number) => boolean, want: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !ok(value)) throw new TypeError(`connect: ${name} must be ${want}, not ${JSON.stringify(value)}`);
  return value;
}

export function connect(options: ConnectOptions): Client {
  if (options.regions.length === 0) throw new TypeError('connect: give at least one region URL');
  const order = options.order ?? 'latency';
  if (order !== 'latency' && order !== 'given') throw new TypeError(`connect: order must be 'latency' or 'given', not ${JSON.stringify(order)}`);
  const positive = (n: number) => Number.isFinite(n) && n > 0;
  const timeoutMs = option('timeoutMs', options.timeoutMs, 10_000, positive, 'a positive number of ms');
  const deadlineMs = option('deadlineMs', options.deadlineMs, 30_000, positive, 'a positive number of ms');
  const probeIntervalMs = option('probeIntervalMs', options.probeIntervalMs, 1_000, (n) => Number.isFinite(n) && n >= 0, 'a number of ms (0: no probes)');
  const maxAttempts = option('maxAttempts', options.maxAttempts, 3 * new Set(options.regions).size, (n) => Number.isInteger(n) && n >= 1, 'a whole number of 1 or more');
  const baseMs = option('backoff.baseMs', options.backoff?.baseMs, DEFAULT_BACKOFF.baseMs, positive, 'a positive number of ms');
  const maxMs = option('backoff.maxMs', options.backoff?.maxMs, Math.max(baseMs, DEFAULT_BACKOFF.maxMs), (n) => positive(n) && n >= baseMs, 'a number of ms of at least backoff.baseMs');
  // With ca, cert or key: every request goes through the client's own undici Agent (tls.ts; throws on bad or mixed options).
  const tls = tlsFetch(options);
  // Called as plain functions, never as a method of env (a browser's fetch refuses another `this`).
  const given = options.fetch ?? tls?.fetch;
  const env = {
    fetch: (input: Parameters<typeof fetch>[0], init?: RequestInit) => (given === undefined ? fetch(input, init) : given(input, init)),
    now: options.now ?? (() => Date.now()),
    timers: options.timers ?? platformTimers,
    random: options.random ?? (() => Math.random()),
  };
  const book = new HealthBook(options.regions, { baseMs, maxMs }, env.random, options.cluster);
  const prober = new Prober(book, env, probeIntervalMs, timeoutMs);
  const caller = new Caller(book, prober, env, { timeoutMs, deadlineMs, maxAttempts, order, ...(options.token !== undefined ? { token: options.token } : {}) }, options.session);
  const call = caller.call.bind(caller);

  const rowPath = (table: string, key: string) => {
    // URLs drop "." and ".." segments, so such keys cannot be addressed in a path.
    if (key === '.' || key === '..') throw new TernClientError('BAD_REQUEST', `key: ${JSON.stringify(key)} cannot be used as a row key in a URL path`, 400, false, null, 'key');
    return `/v1/tables/${encodeURIComponent(table)}/rows/${encodeURIComponent(key)}`;
  };
  const query = (o: Record<string, string | number | undefined>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== undefined) q.set(k, String(v));
    const s = q.toString();
    return s === '' ? '' : `?${s}`;
  };

  return {
    get session() {
      return caller.session;
    },
    health() {
      return book.snapshot();
    },
    close() {
      prober.close();
      tls?.close();
    },
    table<F>(name: string): Table<F> {
      return {
        async get(key, o = {}) {
          const r = await call(readAccess(o.consistency), 'GET', rowPath(name, key) + query({ consistency: o.consistency, maxStalenessMs: o.maxStalenessMs }), undefined);
          return r.status === 404 ? null : (r.json as Row<F>);
        },
        async put(key, fields) {
          return (await call('write', 'PUT', rowPath(name, key), { fields }, globalThis.crypto.randomUUID())).json as Row<F>;
        },
        async patch(key, patch) {
          return (await call('write', 'PATCH', rowPath(name, key), patch, globalThis.crypto.randomUUID())).json as Row<F>;
        },
        async delete(key) {
          await call('write', 'DELETE', rowPath(name, key), undefined, globalThis.crypto.randomUUID());
        },
        async scan(o = {}) {
          const r = await call(readAccess(o.consistency), 'GET', `/v1/tables/${encodeURIComponent(name)}/rows` + query({ prefix: o.prefix, after: o.after, limit: o.limit, consistency: o.consistency, maxStalenessMs: o.maxStalenessMs }), undefined);
          return r.json as { rows: Array<Row<F>>; next: string | null };
        },
      };
    },
    async txn(t, o = {}) {
      return (await call('write', 'POST', '/v1/txn', t, o.idempotencyKey ?? globalThis.crypto.randomUUID())).json as TxnResult;
    },
    async putTable(name, policy) {
      return (await call('table', 'PUT', `/v1/tables/${encodeURIComponent(name)}`, policy, undefined)).json as { table: string; policy: unknown };
    },
    async conflicts(o = {}) {
      return (await call('read', 'GET', '/v1/conflicts' + query({ table: o.table, after: o.after, limit: o.limit }), undefined)).json as { conflicts: unknown[]; next: number };
    },
  };
}
