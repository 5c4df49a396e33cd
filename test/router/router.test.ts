/**
 * The router against fake regions (an injected fetch): draining after failures in a row,
 * readmission by stage, retries only of what is idempotent (with the key it adds), leader routing,
 * following a 421 to the home, and bad input.
 */
import { PassThrough, Readable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/router/router.js';

interface Call {
  readonly region: string;
  readonly method: string;
  readonly path: string;
  readonly key: string | null;
}

type Answer = { status: number; body: unknown } | 'down';

/** Regions a, b, c behind fake URLs; `answer` decides each call. */
function world(answer: (region: string, method: string, path: string) => Answer) {
  const calls: Call[] = [];
  const fetch = (async (input: URL | string | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const region = url.hostname.split('.')[0] as string;
    const method = init?.method ?? 'GET';
    const path = url.pathname + url.search;
    if (path !== '/readyz' && path !== '/v1/status' && path !== '/v1/tables') calls.push({ region, method, path, key: new Headers(init?.headers).get('idempotency-key') });
    const a = answer(region, method, path);
    if (a === 'down') throw new TypeError('fetch failed');
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json', 'tern-region': region } });
  }) as typeof globalThis.fetch;
  const router = new Router({
    cluster: 'test',
    region: 'a',
    regions: ['a', 'b', 'c'].map((name) => ({ name, url: `http://${name}.test` })),
    strongTables: ['accounts'],
    probeIntervalMs: 500,
    failThreshold: 3,
    attemptTimeoutMs: 1000,
    maxInflight: 100,
    log: pino({ level: 'silent' }),
    fetch,
    // Forwarding through the same fake regions.
    send: async (url, a) => {
      const res = await fetch(url, { method: a.method, headers: a.headers as Record<string, string>, ...(a.body !== undefined ? { body: a.body } : {}) });
      return { status: res.status, headers: Object.fromEntries(res.headers), body: Readable.from([Buffer.from(await res.arrayBuffer())]) };
    },
  });
  return { router, calls };
}

const ready = (stage: string, reason: string | null = null) => ({ status: stage === 'write-ready' ? 200 : 503, body: { cluster: 'test', stage, reason, lagMs: 0 } });
const row = { status: 200, body: { key: 'k', fields: { v: 1 }, version: '1' } };

describe('the router', () => {
  it('drains a region after 3 failed probes in a row, and readmits it by the stage it reports', async () => {
    let aDown = true;
    let aStage = 'catching-up';
    const { router } = world((region, _m, path) => (path === '/readyz' ? (region === 'a' && aDown ? 'down' : ready(region === 'a' ? aStage : 'write-ready')) : row));
    const a = () => router.regions.find((r) => r.region === 'a');
    await router.probeAll();
    await router.probeAll();
    expect(a()?.drained).toBe(false);
    await router.probeAll();
    expect(a()?.drained).toBe(true);
    expect(a()?.view().drainedSinceMs).not.toBeNull();
    aDown = false;
    await router.probeAll();
    expect(a()?.drained).toBe(false);
    expect(a()?.serves(false)).toBe(false); // catching-up: nothing
    aStage = 'read-ready';
    await router.probeAll();
    expect([a()?.serves(false), a()?.serves(true)]).toEqual([true, false]);
    aStage = 'fenced'; // no reason: not one the router knows to serve anything
    await router.probeAll();
    expect(a()?.serves(false)).toBe(false);
    aStage = 'write-ready';
    await router.probeAll();
    expect(a()?.serves(true)).toBe(true);
  });

  it('a region fenced for its lease gets reads, and writes only when no region is write-ready; one fenced for its clock nothing', async () => {
    const stages: Record<string, [string, string | null]> = { a: ['fenced', 'lease'], b: ['write-ready', null], c: ['fenced', 'clock'] };
    const { router, calls } = world((region, _m, path) => (path === '/readyz' ? ready(...(stages[region] as [string, string | null])) : row));
    await router.probeAll();
    await router.app.inject({ method: 'GET', url: '/v1/tables/profiles/rows/k' });
    await router.app.inject({ method: 'PATCH', url: '/v1/tables/profiles/rows/k', payload: { set: { v: 1 } } });
    expect(calls.map((x) => x.region)).toEqual(['a', 'b']); // the read at a (its own region), the write at b
    stages['b'] = ['fenced', 'lease']; // a leader election longer than a lease: every region fenced
    await router.probeAll();
    calls.length = 0;
    const w = await router.app.inject({ method: 'PATCH', url: '/v1/tables/profiles/rows/k', payload: { set: { v: 1 } } });
    expect(w.statusCode).toBe(200);
    expect(calls.map((x) => x.region)).toEqual(['a']);
  });

  it('a region whose disk is full gets reads, not writes; a write it answers 507 moves on under the same key', async () => {
    let aStage: [string, string | null] = ['write-ready', null];
    const full = { status: 507, body: { error: { code: 'INSUFFICIENT_STORAGE', reason: 'storage', regions: ['b', 'c'] } } };
    const { router, calls } = world((region, method, path) => (path === '/readyz' ? ready(...(region === 'a' ? aStage : (['write-ready', null] as [string, null]))) : region === 'a' && method !== 'GET' ? full : row));
    await router.probeAll();
    // Its disk fills before a probe says so: the 507 sends the write on.
    const w = await router.app.inject({ method: 'PATCH', url: '/v1/tables/profiles/rows/k', payload: { set: { v: 1 } } });
    expect(w.statusCode).toBe(200);
    expect(calls.map((x) => x.region)).toEqual(['a', expect.stringMatching(/^[bc]$/)]);
    expect(calls[0]?.key).toBe(calls[1]?.key);
    // Once it reports fenced (storage): reads there, writes elsewhere.
    aStage = ['fenced', 'storage'];
    await router.probeAll();
    calls.length = 0;
    await router.app.inject({ method: 'GET', url: '/v1/tables/profiles/rows/k' });
    await router.app.inject({ method: 'PATCH', url: '/v1/tables/profiles/rows/k', payload: { set: { v: 1 } } });
    expect(calls.map((x) => x.region)).toEqual(['a', expect.stringMatching(/^[bc]$/)]);
  });

  it('sends a request to its own region first, then the nearest; a read moves on after a connection error', async () => {
    const { router, calls } = world((region, _m, path) => (path === '/readyz' ? ready('write-ready') : region === 'a' ? 'down' : row));
    await router.probeAll();
    const r = await router.app.inject({ method: 'GET', url: '/v1/tables/profiles/rows/k' });
    expect(r.statusCode).toBe(200);
    expect(calls.map((c) => c.region)).toEqual(['a', expect.stringMatching(/^[bc]$/)]);
  });

  it('adds an Idempotency-Key to a write without one, says so, and retries it elsewhere under that key', async () => {
    const { router, calls } = world((region, _m, path) => (path === '/readyz' ? ready('write-ready') : region === 'a' ? { status: 504, body: { error: { code: 'QUORUM_TIMEOUT', mayHaveCommitted: true } } } : row));
    await router.probeAll();
    const r = await router.app.inject({ method: 'PATCH', url: '/v1/tables/profiles/rows/k', payload: { set: { v: 1 } } });
    expect(r.statusCode).toBe(200);
    const key = r.headers['tern-router-idempotency-key'];
    expect(typeof key).toBe('string');
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => c.key === key)).toBe(true);
  });

  it("keeps the client's own Idempotency-Key, and does not retry an answer that is final", async () => {
    const { router, calls } = world((_r, _m, path) => (path === '/readyz' ? ready('write-ready') : { status: 400, body: { error: { code: 'BAD_REQUEST', field: 'set.x' } } }));
    await router.probeAll();
    const r = await router.app.inject({ method: 'PATCH', url: '/v1/tables/profiles/rows/k', payload: { set: { x: 1 } }, headers: { 'idempotency-key': 'mine' } });
    expect(r.statusCode).toBe(400);
    expect(r.headers['tern-router-idempotency-key']).toBeUndefined();
    expect(calls).toEqual([expect.objectContaining({ region: 'a', key: 'mine' })]);
  });

  it("sends strong requests to the strong group's leader first", async () => {
    const { router, calls } = world((_r, _m, path) => (path === '/readyz' ? ready('write-ready') : path === '/v1/status' ? { status: 200, body: { raft: { leader: 'c' } } } : path === '/v1/tables' ? { status: 200, body: { tables: { accounts: { mode: 'strong' } } } } : row));
    await router.probeAll(); // learns the leader
    await router.app.inject({ method: 'POST', url: '/v1/txn', payload: {} });
    await router.app.inject({ method: 'GET', url: '/v1/tables/accounts/rows/x' });
    await router.app.inject({ method: 'GET', url: '/v1/tables/accounts/rows/x?consistency=bounded&maxStalenessMs=1000' });
    expect(calls.map((c) => c.region)).toEqual(['c', 'c', 'a']);
  });

  it('follows a 421 to the home region once', async () => {
    const { router, calls } = world((region, _m, path) => (path === '/readyz' ? ready('write-ready') : region === 'b' ? row : { status: 421, body: { error: { code: 'WRONG_REGION', home: 'b' } } }));
    await router.probeAll();
    const r = await router.app.inject({ method: 'PATCH', url: '/v1/tables/owned/rows/k', payload: { set: { v: 1 } } });
    expect(r.statusCode).toBe(200);
    expect(calls.map((c) => c.region)).toEqual(['a', 'b']);
  });

  it('with no region able to serve: 503 naming each region, the key, and that the write may have been applied', async () => {
    const { router } = world((region, _m, path) => (path === '/readyz' ? ready(region === 'a' ? 'write-ready' : 'catching-up') : 'down'));
    await router.probeAll();
    const r = await router.app.inject({ method: 'PATCH', url: '/v1/tables/profiles/rows/k', payload: { set: { v: 1 } } });
    expect(r.statusCode).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json()).toMatchObject({ error: { code: 'NOT_READY', retryable: true, mayHaveCommitted: true, message: expect.stringContaining('b catching-up') } });
    expect(r.headers['tern-router-idempotency-key']).toBeDefined();
  });

  it('refuses an unknown Tern-Client-Region naming the header, sending nothing', async () => {
    const { router, calls } = world(() => ready('write-ready'));
    await router.probeAll();
    const r = await router.app.inject({ method: 'GET', url: '/v1/tables/profiles/rows/k', headers: { 'tern-client-region': 'mars' } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: { code: 'BAD_REQUEST', field: 'Tern-Client-Region' } });
    expect(calls).toEqual([]);
  });

  it('counts a request in flight until its streamed answer has been sent whole, then not', async () => {
    const body = new PassThrough();
    const streaming = new Router({
      ...{ cluster: 'test', region: 'a', strongTables: [], probeIntervalMs: 500, failThreshold: 3, attemptTimeoutMs: 1000, maxInflight: 100, log: pino({ level: 'silent' }) },
      regions: [{ name: 'a', url: 'http://a.test' }],
      fetch: (async () => new Response(JSON.stringify({ cluster: 'test', stage: 'write-ready' }))) as typeof globalThis.fetch,
      send: async () => ({ status: 200, headers: { 'content-type': 'application/json' }, body }),
    });
    await streaming.probeAll();
    const answer = streaming.app.inject({ method: 'GET', url: '/v1/tables/profiles/rows/k' });
    body.write('{"key":');
    // The handler has sent the head and hands the body on: still in flight.
    for (let i = 0; i < 1000 && streaming.status()['inflight'] !== 1; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(streaming.status()).toMatchObject({ inflight: 1 });
    body.end('"k"}');
    expect((await answer).json()).toEqual({ key: 'k' });
    expect(streaming.status()).toMatchObject({ inflight: 0 });
  });

  it("forwards the client's Authorization, never a Tern-Node-Auth it sent; sends its own node secret only on its status and table reads", async () => {
    const seen: Array<{ url: string; headers: Record<string, unknown> }> = [];
    const fetch = (async (input: URL | string | Request, init?: RequestInit) => {
      seen.push({ url: String(input), headers: Object.fromEntries(new Headers(init?.headers)) });
      const path = new URL(String(input)).pathname;
      return new Response(JSON.stringify(path === '/readyz' ? ready('write-ready').body : path === '/v1/status' ? { raft: { leader: 'a' } } : path === '/v1/tables' ? { tables: {} } : row.body), { status: 200 });
    }) as typeof globalThis.fetch;
    const router = new Router({
      cluster: 'test',
      region: 'a',
      regions: [{ name: 'a', url: 'http://a.test' }],
      strongTables: [],
      probeIntervalMs: 500,
      failThreshold: 3,
      attemptTimeoutMs: 1000,
      maxInflight: 10,
      log: pino({ level: 'silent' }),
      fetch,
      nodeAuth: 'the-node-secret',
      send: async (url, a) => {
        seen.push({ url, headers: { ...a.headers } });
        return { status: 200, headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from(JSON.stringify(row.body))]) };
      },
    });
    await router.probeAll();
    await router.app.inject({ method: 'GET', url: '/v1/tables/profiles/rows/k', headers: { authorization: 'Bearer alice.s3cret', 'tern-node-auth': 'a-guess' } });
    const forwarded = seen.find((s) => s.url.endsWith('/rows/k'));
    expect(forwarded?.headers['authorization']).toBe('Bearer alice.s3cret');
    expect(forwarded?.headers['tern-node-auth']).toBeUndefined();
    expect(seen.filter((s) => s.headers['tern-node-auth'] === 'the-node-secret').map((s) => new URL(s.url).pathname).sort()).toEqual(['/v1/status', '/v1/tables']);
  });

  it('prefers the region the client names', async () => {
    const { router, calls } = world((_r, _m, path) => (path === '/readyz' ? ready('write-ready') : row));
    await router.probeAll();
    await router.app.inject({ method: 'GET', url: '/v1/tables/profiles/rows/k', headers: { 'tern-client-region': 'b' } });
    expect(calls.map((c) => c.region)).toEqual(['b']);
  });
});
