/**
 * Per-client rate limits for the client API: a token bucket per client (its user when the call
 * carried a valid token or client certificate, else its address: an IPv6 client by its /64, since
 * one host is commonly given a whole /64 and could otherwise take a new bucket per request),
 * refilled at `perSecond` up to `burst`. A client past
 * its rate is answered 429 RATE_LIMITED with when to retry, and nothing is done for it; other
 * clients are not slowed. The buckets are bounded: past `clientsMax`, the longest idle is dropped
 * (it starts again with a full bucket, which only ever favours a client).
 */
import { isIPv6 } from 'node:net';

/**
 * The bucket an address counts against: an IPv4 address itself (also written IPv4-mapped or
 * IPv4-compatible in IPv6: ::ffff:a.b.c.d, ::ffff:0:a.b.c.d, ::a.b.c.d), an IPv6 address its /64.
 */
export function addressClient(ip: string): string {
  const v4 = /^(?:::(?:ffff(?::0)?:)?)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4 !== null) return `address ${v4[1]}`;
  if (!isIPv6(ip)) return `address ${ip}`;
  const bare = ip.split('%')[0] as string;
  const [head = '', tail = ''] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail stands for two groups; '::' for the zero groups the others leave.
  const size = (groups: readonly string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = bare.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - size(left) - size(right))).fill('0'), ...right] : left;
  return `address ${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export interface RateLimit {
  /** Requests per second a client may sustain; 0: no limit. */
  readonly perSecond: number;
  /** Requests a client may make at once after being idle (at least 1). */
  readonly burst: number;
}

export class RateLimiter {
  readonly limit: RateLimit;
  readonly #clientsMax: number;
  readonly #now: () => number;
  /** client → tokens left and when they were counted; insertion order is idleness (a use moves it last). */
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(limit: RateLimit, clientsMax: number, now: () => number = () => performance.now()) {
    this.limit = limit;
    this.#clientsMax = clientsMax;
    this.#now = now;
  }

  get clients(): number {
    return this.#buckets.size;
  }

  /** Null when `client` may go on (one token taken); else in how many ms it may try again. */
  take(client: string): number | null {
    const { perSecond, burst } = this.limit;
    if (perSecond <= 0) return null;
    const now = this.#now();
    const b = this.#buckets.get(client);
    const tokens = b === undefined ? burst : Math.min(burst, b.tokens + ((now - b.atMs) * perSecond) / 1000);
    this.#buckets.delete(client);
    if (tokens < 1) {
      this.#buckets.set(client, { tokens, atMs: now });
      return Math.ceil(((1 - tokens) * 1000) / perSecond);
    }
    this.#buckets.set(client, { tokens: tokens - 1, atMs: now });
    if (this.#buckets.size > this.#clientsMax) this.#buckets.delete(this.#buckets.keys().next().value as string);
    return null;
  }
}
