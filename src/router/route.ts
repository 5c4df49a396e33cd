/**
 * Where a request goes, and whether a failed attempt may go somewhere else: pure decisions, so the
 * router's behaviour is tested without sockets.
 */
import type { RegionHealth } from './health.js';

export interface RequestShape {
  /** A write (anything but GET/HEAD): needs a write-ready region. */
  readonly write: boolean;
  /** Goes through the strong group: best sent to the leader's region. */
  readonly strong: boolean;
}

/** Table name of a row or scan path, if any. */
function tableOf(path: string): string | null {
  const m = /^\/v1\/tables\/([^/?]+)(?:\/rows(?:\/|\?|$)|$|\?)/.exec(path);
  return m === null ? null : decodeURIComponent(m[1] as string);
}

/**
 * `strongTables`: the tables whose mode is strong, as the router last learned them. Strong reads
 * with a weaker consistency (`bounded`, `session`, `eventual`) are served by any region.
 */
export function shapeOf(method: string, url: string, strongTables: ReadonlySet<string>): RequestShape {
  const write = method !== 'GET' && method !== 'HEAD';
  const [path = '', query = ''] = url.split('?', 2);
  if (path === '/v1/txn' || (method === 'PUT' && /^\/v1\/tables\/[^/]+$/.test(path)) || path.startsWith('/v1/admin/')) return { write, strong: write };
  const table = tableOf(path);
  if (table === null || !strongTables.has(table)) return { write, strong: false };
  if (write) return { write, strong: true };
  const consistency = new URLSearchParams(query).get('consistency');
  return { write, strong: consistency === null || consistency === 'strong' };
}

/**
 * The regions to try, best first: those whose stage serves the request, the client's region (or
 * the router's own) first, or the strong group's leader for strong requests; then the others by
 * probe round trip.
 */
export function candidates(regions: readonly RegionHealth[], shape: RequestShape, preferred: string | null, leader: string | null): RegionHealth[] {
  const first = shape.strong && leader !== null ? leader : preferred;
  const order = (a: RegionHealth, b: RegionHealth) => {
    if (a.region === first) return -1;
    if (b.region === first) return 1;
    return (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity) || a.region.localeCompare(b.region);
  };
  const able = regions.filter((r) => r.serves(shape.write)).sort(order);
  // Writes, after the write-ready regions: those fenced only for their lease or a drain.
  const fallback = shape.write ? regions.filter((r) => !r.serves(true) && r.servesWritesAsFallback()).sort(order) : [];
  return [...able, ...fallback];
}

/** How an attempt ended. */
export type Attempt =
  | { readonly kind: 'unreachable' }
  | { readonly kind: 'answer'; readonly status: number; readonly code: string | null; readonly home: string | null };

/**
 * What to do after an attempt: `done` (send this answer), `next` (try the next region), or
 * `home` (a 421 names the row's home region: send it there). Reads and writes carrying an
 * Idempotency-Key (the router adds one to every write) may go elsewhere after a connection error,
 * a 503, a 504, or a 507 (a full disk): a second copy of a keyed write is one write (the key
 * dedupes it everywhere).
 */
export function afterAttempt(a: Attempt, keyed: boolean, write: boolean): 'done' | 'next' | 'home' {
  const retryable = !write || keyed;
  if (a.kind === 'unreachable') return retryable ? 'next' : 'done';
  if (a.status === 421 && a.code === 'WRONG_REGION' && a.home !== null) return 'home';
  if ((a.status === 503 || a.status === 504 || a.status === 507) && retryable) return 'next';
  return 'done';
}
