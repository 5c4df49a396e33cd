/** Per-client token buckets: a client past its rate is answered 429 RATE_LIMITED with Retry-After, others are not slowed, and the buckets stay bounded. */
import { describe, expect, it } from 'vitest';
import { buildApi, type ApiNode } from '../../src/server/http-api.js';
import { addressClient, RateLimiter } from '../../src/server/rate-limit.js';
import { fakeApiNode } from './fake-api-node.js';

describe('the rate limiter', () => {
  it('takes a burst at once, then refills at the rate; says when to retry', () => {
    let now = 0;
    const r = new RateLimiter({ perSecond: 10, burst: 3 }, 100, () => now);
    expect([r.take('a'), r.take('a'), r.take('a')]).toEqual([null, null, null]);
    expect(r.take('a')).toBe(100);
    expect(r.take('b')).toBeNull();
    now += 100;
    expect(r.take('a')).toBeNull();
    expect(r.take('a')).toBe(100);
    now += 10_000;
    expect([r.take('a'), r.take('a'), r.take('a'), r.take('a')]).toEqual([null, null, null, 100]);
  });

  it('keeps at most clientsMax buckets, dropping the longest idle', () => {
    let now = 0;
    const r = new RateLimiter({ perSecond: 1, burst: 1 }, 3, () => now);
    for (const c of ['a', 'b', 'c', 'd']) expect(r.take(c)).toBeNull();
    expect(r.clients).toBe(3);
    now += 1;
    // 'a' was dropped: it starts again with a full bucket; 'd' was kept, and is empty.
    expect(r.take('a')).toBeNull();
    expect(r.take('d')).not.toBeNull();
  });

  it('an IPv6 client counts by its /64 (a host is often given one whole); IPv4, mapped or not, by its address', () => {
    expect(addressClient('2001:db8:1:2:aaaa::1')).toBe('address 2001:db8:1:2::/64');
    expect(addressClient('2001:0db8:0001:0002:ffff:1:2:3')).toBe('address 2001:db8:1:2::/64');
    expect(addressClient('2001:db8::1')).toBe('address 2001:db8:0:0::/64');
    expect(addressClient('2001:db8::')).toBe(addressClient('2001:db8:0:0:1::'));
    expect(addressClient('::1')).toBe('address 0:0:0:0::/64');
    expect(addressClient('fe80::1%eth0')).toBe('address fe80:0:0:0::/64');
    expect(addressClient('2001:db8:1:3::1')).not.toBe(addressClient('2001:db8:1:2::1'));
    expect(addressClient('203.0.113.7')).toBe('address 203.0.113.7');
    expect(addressClient('::ffff:203.0.113.7')).toBe('address 203.0.113.7');
    expect(addressClient('::ffff:0:203.0.113.7')).toBe('address 203.0.113.7');
    expect(addressClient('::203.0.113.7')).toBe('address 203.0.113.7');
    // An embedded IPv4 tail is two groups: the /64 is the first four.
    expect(addressClient('2001:db8::a:b:1.2.3.4')).toBe('address 2001:db8:0:0::/64');
    expect(addressClient('::a:b:c:d:1.2.3.4')).toBe('address 0:0:a:b::/64');
    expect(addressClient('203.0.113.8')).not.toBe(addressClient('203.0.113.7'));
    const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, 100, () => 0);
    expect([limiter.take(addressClient('2001:db8::a')), limiter.take(addressClient('2001:db8::b')), limiter.take(addressClient('2001:db8::c'))]).toEqual([null, null, 1000]);
  });

  it('with no rate, never limits', () => {
    const r = new RateLimiter({ perSecond: 0, burst: 1 }, 3, () => 0);
    for (let i = 0; i < 100; i++) expect(r.take('a')).toBeNull();
    expect(r.clients).toBe(0);
  });
});

describe('rate limits on the API', () => {
  it('a client past its rate gets 429 RATE_LIMITED with Retry-After and nothing is submitted; another user is not slowed; junk counts, health checks do not', async () => {
    const submitted: string[] = [];
    const base = fakeApiNode({ code: 'NOT_READY', message: 'unused' });
    const node: ApiNode = {
      ...base,
      authenticate: async (h) => ({ ok: true, value: h === undefined ? undefined : { user: h.slice('Bearer '.length).split('.')[0] as string } }),
      authRequired: true,
      knownUser: (h) => (h === undefined ? null : (h.slice('Bearer '.length).split('.')[0] as string)),
      submit: async (call) => {
        submitted.push(call.caller?.user ?? 'anonymous');
        return { ok: true, result: { kind: 'rows', rows: [], next: null }, replayed: false };
      },
    };
    const app = buildApi(node, { rateLimit: { perSecond: 1, burst: 2 } });
    const get = (user?: string) => app.inject({ method: 'GET', url: '/v1/tables/t/rows', headers: user === undefined ? {} : { authorization: `Bearer ${user}.x` } });
    expect((await get('alice')).statusCode).toBe(200);
    expect((await get('alice')).statusCode).toBe(200);
    const limited = await get('alice');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED', retryable: true } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await get('bob')).statusCode).toBe(200);
    // Without a token, the client is its address; junk that fails before any handler (a malformed
    // body, an unknown route) counts too, since the limit is taken before the request is read.
    const junk = () => app.inject({ method: 'POST', url: '/v1/txn', headers: { 'content-type': 'application/json' }, payload: '[[[' });
    expect([(await get()).statusCode, (await junk()).statusCode, (await junk()).statusCode, (await app.inject({ method: 'GET', url: '/nope' })).statusCode]).toEqual([200, 400, 429, 429]);
    // Health checks are never limited.
    expect((await app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
    expect(submitted).toEqual(['alice', 'alice', 'bob', 'anonymous']);
    await app.close();
  });
});
