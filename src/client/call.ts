/**
 * One logical call: the attempts it makes, region by region, until one answers it (docs/api.md,
 * "The client SDK"). Each round tries the regions in the order choose.ts gives; an attempt moves on
 * to the next region after a connection error or timeout, a retryable 503, a 429, a 504 of a keyed
 * request or a GET, or a 507 (a full disk; one that may have committed, as a 504); a 421 is
 * followed once to the row's home. When a round is over and a
 * region's Retry-After ends before the call's deadline, the call waits for the first to end and
 * starts another round. Every attempt of a call carries the same idempotency key.
 */
import { retryAfterMs } from './backoff.js';
import { plan, type Order } from './choose.js';
import { sleep, type ClientEnv } from './env.js';
import { TernClientError } from './errors.js';
import { heldUntil, type Access, type HealthBook } from './health.js';
import type { Prober } from './probe.js';
import { mergeTokens } from './session.js';

export interface Answer {
  readonly status: number;
  readonly json: unknown;
  /** The Tern-Region that answered (the URL when the answer had none). */
  readonly region: string;
}

export interface CallerSettings {
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly maxAttempts: number;
  readonly order: Order;
  /** Sent as `Authorization: Bearer <token>` with every call. */
  readonly token?: string;
}

type Attempt = ({ ok: true } & Answer) | { ok: false; error: TernClientError; next: boolean };

interface ErrorBody {
  code?: string;
  message?: string;
  retryable?: boolean;
  field?: string;
  home?: string;
  mayHaveCommitted?: boolean;
}

/** Codes that say something about the region's stage (503s, and a full disk's 507): its /readyz is asked again at once. */
const STAGE_CODES: ReadonlySet<string> = new Set(['NOT_READY', 'FENCED', 'STALE', 'INSUFFICIENT_STORAGE']);

export class Caller {
  /** The latest session token (merged from every answer). */
  session: string | undefined;

  constructor(
    private readonly book: HealthBook,
    private readonly prober: Prober,
    private readonly env: ClientEnv,
    private readonly settings: CallerSettings,
    session: string | undefined,
  ) {
    this.session = session;
  }

  async call(access: Access, method: string, path: string, body: unknown, idempotencyKey?: string): Promise<Answer> {
    this.prober.start();
    const { env, book, settings } = this;
    const deadline = env.now() + settings.deadlineMs;
    let attempts = 0;
    let rounds = 0;
    let last: TernClientError | null = null;
    while (true) {
      rounds += 1;
      for (const base of plan(book.all(), access, env.now(), settings.order)) {
        const now = env.now();
        const health = book.get(base);
        if (health === undefined || health.foreign || heldUntil(health, access) > now) continue; // held since the round began
        if (attempts >= settings.maxAttempts || now >= deadline) throw last ?? this.noRegion(access, now, deadline);
        attempts += 1;
        const r = await this.attempt(base, method, path, body, idempotencyKey, Math.min(settings.timeoutMs, deadline - now));
        if (r.ok) return r;
        last = r.error;
        // The row's home is another region: follow once, to it, with the same idempotency key (one effect however often it arrives).
        if (r.error.code === 'WRONG_REGION' && r.error.home !== undefined) return this.follow(r.error, r.error.home, base, method, path, body, idempotencyKey, deadline);
        if (!r.next) throw r.error;
      }
      // The round is over: wait for the first Retry-After to end, if it ends before the deadline.
      const now = env.now();
      let until = Infinity;
      for (const r of book.all()) {
        const held = heldUntil(r, access);
        if (!r.foreign && held > now) until = Math.min(until, held);
      }
      if (until > deadline || attempts >= settings.maxAttempts || rounds >= settings.maxAttempts) throw last ?? this.noRegion(access, now, deadline);
      await sleep(env.timers, until - now);
    }
  }

  private async follow(refused: TernClientError, homeRegion: string, base: string, method: string, path: string, body: unknown, idempotencyKey: string | undefined, deadline: number): Promise<Answer> {
    const home = await this.findRegion(homeRegion);
    const now = this.env.now();
    if (home === undefined || home === base || now >= deadline) throw refused;
    const followed = await this.attempt(home, method, path, body, idempotencyKey, Math.min(this.settings.timeoutMs, deadline - now));
    if (followed.ok) return followed;
    throw followed.error;
  }

  private async attempt(base: string, method: string, path: string, body: unknown, idempotencyKey: string | undefined, budgetMs: number): Promise<Attempt> {
    const { env, book } = this;
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.session !== undefined) headers['tern-session'] = this.session;
    if (this.settings.token !== undefined) headers['authorization'] = `Bearer ${this.settings.token}`;
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    const started = env.now();
    let res: Response;
    try {
      res = await env.fetch(new URL(path, base), { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(Math.max(1, Math.ceil(budgetMs))) });
    } catch (err) {
      // Connection error or timeout: back off from this region, and try the next.
      book.failed(base, env.now());
      return { ok: false, error: new TernClientError('UNREACHABLE', `${base}: ${(err as Error).message}`, 0, true, null), next: true };
    }
    const now = env.now();
    // A request's time includes the server's work (quorum round trips, session waits): a distance sample only when nothing probes.
    const sample = this.prober.enabled ? null : now - started;
    const token = res.headers.get('tern-session');
    if (token !== null) this.session = mergeTokens(this.session, token);
    const region = res.headers.get('tern-region');
    if (region !== null) book.named(base, region);
    const json: unknown = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) {
      book.answered(base, sample);
      return { ok: true, status: res.status, json, region: region ?? base };
    }
    const e: ErrorBody = (json as { error?: ErrorBody } | null)?.error ?? {};
    if (res.status === 404 && e.code === 'NOT_FOUND' && method === 'GET' && path.includes('/rows/')) {
      book.answered(base, sample);
      return { ok: true, status: 404, json, region: region ?? base };
    }
    const error = new TernClientError(e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText, res.status, e.retryable ?? res.status >= 500, region, e.field, e.home, e.mayHaveCommitted);
    // A 5xx without an error body (a proxy, a node shutting down) counts as a failure of the region.
    if (res.status >= 500 && e.code === undefined) book.failed(base, now);
    else book.answered(base, sample);
    if (res.status === 503 || res.status === 429) {
      const wait = retryAfterMs(res.headers.get('retry-after'), now);
      // The server's own Retry-After (FENCED) is about the write lease: the region still serves reads.
      if (wait !== null && wait > 0) book.hold(base, now + wait, e.code === 'FENCED');
    }
    if (e.code !== undefined && STAGE_CODES.has(e.code)) this.prober.probeNow(base);
    // A 504 may have committed: retrying elsewhere is safe only under the same idempotency key. So
    // may a 507 that says so (the disk filled as the request was committed).
    const keyedOrRead = idempotencyKey !== undefined || method === 'GET';
    const next =
      (res.status === 503 && error.retryable) ||
      res.status === 429 ||
      (res.status === 504 && keyedOrRead) ||
      (res.status === 507 && error.retryable && (e.mayHaveCommitted !== true || keyedOrRead));
    return { ok: false, error, next };
  }

  /** The URL of `region` among the configured ones: learned from answers, else asked of each unnamed one's /livez. */
  private async findRegion(region: string): Promise<string | undefined> {
    for (const r of this.book.all()) {
      if (this.book.urlOf(region) !== undefined) break;
      if (r.region !== null || r.foreign) continue;
      try {
        const res = await this.env.fetch(new URL('/livez', r.url), { signal: AbortSignal.timeout(this.settings.timeoutMs) });
        const named = (await res.json()) as { region?: unknown; cluster?: unknown };
        if (typeof named.cluster === 'string') this.book.sawCluster(r.url, named.cluster);
        if (typeof named.region === 'string') this.book.named(r.url, named.region);
      } catch {
        // not reachable: not this one
      }
    }
    return this.book.urlOf(region);
  }

  /** Why a call made no attempt: every region is of another cluster, or held by a Retry-After past the deadline. */
  private noRegion(access: Access, now: number, deadline: number): TernClientError {
    const expected = this.book.expectedCluster();
    const regions = this.book.all();
    if (regions.length > 0 && regions.every((r) => r.foreign)) {
      return new TernClientError('WRONG_CLUSTER', `every region URL answered for another cluster than ${expected ?? '?'}: ${regions.map((r) => `${r.url} (${r.cluster ?? '?'})`).join(', ')}`, 0, false, null);
    }
    const why = regions.filter((r) => r.foreign || heldUntil(r, access) > now).map((r) => (r.foreign ? `${r.url}: cluster ${r.cluster ?? '?'}, not ${expected ?? '?'}` : `${r.url}: Retry-After for ${Math.max(0, heldUntil(r, access) - now)} ms`));
    const late = now >= deadline ? 'the call is past its deadline' : `none before the call's deadline (${deadline - now} ms)`;
    return new TernClientError('NO_REGION', `no region may be sent this request: ${late}; ${why.join(', ')}`, 0, true, null);
  }
}
