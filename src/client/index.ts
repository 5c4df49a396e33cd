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
 *
 * It carries the session token from every answer to the next request (read-your-writes and
 * monotonic reads in any region), gives every write and transaction an idempotency key and
 * reuses it when it retries, so a retry has one effect, and fails over to the next preferred
 * region on connection errors, retryable 503s and (for keyed requests) 504 QUORUM_TIMEOUT. A
 * write to a row homed elsewhere (421 WRONG_REGION) is sent once to the home's URL when that
 * region is among `regions` (learned from answers' Tern-Region header or its /livez).
 * It uses the platform's fetch: no native module.
 */
import { decodeSessionToken, encodeSessionToken, mergeVectors } from '../core/clock/version-vector.js';
import { joinSessionToken, splitSessionToken } from '../core/strong/session-token.js';

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
  /** Region node URLs in order of preference. */
  readonly regions: readonly string[];
  /** Per-attempt timeout. */
  readonly timeoutMs?: number;
  /** A session token to start from (to continue another client's session). */
  readonly session?: string;
  readonly fetch?: typeof fetch;
}

/** A typed error from the database (or from every region being unreachable). */
export class TernClientError extends Error {
  override readonly name = 'TernClientError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly retryable: boolean,
    readonly region: string | null,
    readonly field?: string,
    readonly home?: string,
    /** For QUORUM_TIMEOUT: whether the write may still commit. */
    readonly mayHaveCommitted?: boolean,
  ) {
    super(message);
  }
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
}

/**
 * Joins two session tokens (`t1.region~seq36...` and, after `!`, the strong log index in base
 * 36): the component-wise max, so a late answer never moves a session back.
 */
export function mergeTokens(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const parse = (t: string) => {
    const split = splitSessionToken(t);
    if (!split.ok) return null;
    const vector = split.value.async === undefined ? { ok: true as const, vector: {} } : decodeSessionToken(split.value.async);
    return vector.ok ? { vector: vector.vector, strong: split.value.strong } : null;
  };
  const x = parse(a);
  const y = parse(b);
  if (x === null || y === null) return b;
  return joinSessionToken(encodeSessionToken(mergeVectors(x.vector, y.vector)), Math.max(x.strong, y.strong));
}

export function connect(options: ConnectOptions): Client {
  if (options.regions.length === 0) throw new TypeError('connect: give at least one region URL');
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let session = options.session;

  /** Which URL serves which region, learned from every answer's Tern-Region header (to follow 421s). */
  const urlOf = new Map<string, string>();

  type Attempt = { ok: true; status: number; json: unknown; region: string } | { ok: false; error: TernClientError; next: boolean };

  async function attempt(base: string, method: string, path: string, body: unknown, idempotencyKey?: string): Promise<Attempt> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (session !== undefined) headers['tern-session'] = session;
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    let res: Response;
    try {
      res = await doFetch(new URL(path, base), { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      // Connection error or timeout: the next region.
      return { ok: false, error: new TernClientError('UNREACHABLE', `${base}: ${(err as Error).message}`, 0, true, null), next: true };
    }
    const token = res.headers.get('tern-session');
    if (token !== null) session = mergeTokens(session, token);
    const region = res.headers.get('tern-region');
    if (region !== null) urlOf.set(region, base);
    const json: unknown = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) return { ok: true, status: res.status, json, region: region ?? base };
    const code = (json as { error?: { code?: string } } | null)?.error?.code;
    if (res.status === 404 && code === 'NOT_FOUND' && method === 'GET' && path.includes('/rows/')) return { ok: true, status: 404, json, region: region ?? base };
    const e = (json as { error?: { code?: string; message?: string; retryable?: boolean; field?: string; home?: string; mayHaveCommitted?: boolean } } | null)?.error ?? {};
    const error = new TernClientError(e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, res.status, e.retryable ?? res.status >= 500, region, e.field, e.home, e.mayHaveCommitted);
    // A 504 may have committed: retrying elsewhere is safe only under the same idempotency key.
    const next = (res.status === 503 && error.retryable) || (res.status === 504 && (idempotencyKey !== undefined || method === 'GET'));
    return { ok: false, error, next };
  }

  /** The URL of `region` among the configured ones: learned from answers, else asked of each one's /livez. */
  async function findRegion(region: string): Promise<string | undefined> {
    for (const base of options.regions) {
      if (urlOf.has(region)) break;
      if ([...urlOf.values()].includes(base)) continue;
      try {
        const r = await doFetch(new URL('/livez', base), { signal: AbortSignal.timeout(timeoutMs) });
        const named = ((await r.json()) as { region?: unknown }).region;
        if (typeof named === 'string') urlOf.set(named, base);
      } catch {
        // not reachable: not this one
      }
    }
    return urlOf.get(region);
  }

  async function call(method: string, path: string, body: unknown, idempotencyKey?: string): Promise<{ status: number; json: unknown; region: string }> {
    let last: TernClientError | null = null;
    for (const base of options.regions) {
      const r = await attempt(base, method, path, body, idempotencyKey);
      if (r.ok) return r;
      last = r.error;
      // The row's home is another region: follow once, to it, with the same idempotency key (one effect however often it arrives).
      if (r.error.code === 'WRONG_REGION' && r.error.home !== undefined) {
        const home = await findRegion(r.error.home);
        if (home === undefined || home === base) throw r.error;
        const followed = await attempt(home, method, path, body, idempotencyKey);
        if (followed.ok) return followed;
        throw followed.error;
      }
      if (!r.next) throw r.error;
    }
    throw last ?? new TernClientError('UNREACHABLE', 'no region answered', 0, true, null);
  }

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
      return session;
    },
    table<F>(name: string): Table<F> {
      return {
        async get(key, o = {}) {
          const r = await call('GET', rowPath(name, key) + query({ consistency: o.consistency, maxStalenessMs: o.maxStalenessMs }), undefined);
          return r.status === 404 ? null : (r.json as Row<F>);
        },
        async put(key, fields) {
          return (await call('PUT', rowPath(name, key), { fields }, globalThis.crypto.randomUUID())).json as Row<F>;
        },
        async patch(key, patch) {
          return (await call('PATCH', rowPath(name, key), patch, globalThis.crypto.randomUUID())).json as Row<F>;
        },
        async delete(key) {
          await call('DELETE', rowPath(name, key), undefined, globalThis.crypto.randomUUID());
        },
        async scan(o = {}) {
          const r = await call('GET', `/v1/tables/${encodeURIComponent(name)}/rows` + query({ prefix: o.prefix, after: o.after, limit: o.limit, consistency: o.consistency, maxStalenessMs: o.maxStalenessMs }), undefined);
          return r.json as { rows: Array<Row<F>>; next: string | null };
        },
      };
    },
    async txn(t, o = {}) {
      return (await call('POST', '/v1/txn', t, o.idempotencyKey ?? globalThis.crypto.randomUUID())).json as TxnResult;
    },
    async putTable(name, policy) {
      return (await call('PUT', `/v1/tables/${encodeURIComponent(name)}`, policy, undefined)).json as { table: string; policy: unknown };
    },
    async conflicts(o = {}) {
      return (await call('GET', '/v1/conflicts' + query({ table: o.table, after: o.after, limit: o.limit }), undefined)).json as { conflicts: unknown[]; next: number };
    },
  };
}
