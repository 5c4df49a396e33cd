/**
 * A flood against one real node while a legitimate client writes: for 30 s, 200 connections send
 * junk as fast as they can (no token or a wrong one, malformed bodies, unknown routes, bodies
 * declared far larger than sent), while an authenticated client writes one row after another.
 * The junk is refused (401, 400, 404, 429: its address passed clientRequestsPerSecond), the node's
 * memory stays bounded, and every legitimate write succeeds. The legitimate client's p99, quiet
 * and under the flood, is printed, not asserted (the flood shares this machine's two cores).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './harness.js';

const R = 'us-east';
const floodMs = 30_000;
const connections = 200;
/** A bound generous for this machine: a node at rest takes ~90 MB; the body budget alone allows 256 MiB. */
const rssBoundMb = 700;

const c = new ProcessCluster({ regions: [R], wan: false, auth: true, settings: { clientRequestsPerSecond: 2000, clientRequestBurst: 2000 } });
beforeAll(() => c.start(), 60_000);
afterAll(() => c.stop(), 60_000);

const rssMb = (): number => c.rssMb(R);

const p99 = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? NaN;
};

/** Writes one row after another for `ms`; every latency, and every answer that was not 200. */
async function legitimate(token: string, ms: number, prefix: string) {
  const latencies: number[] = [];
  const failures: string[] = [];
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end; i++) {
    const t0 = performance.now();
    const r = await c.http(R, 'PATCH', `/v1/tables/profiles/rows/${prefix}${i}`, { set: { name: `n${i}` } }, { authorization: `Bearer ${token}` });
    latencies.push(performance.now() - t0);
    if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
  }
  return { latencies, failures };
}

/** Junk, as fast as `connections` keep-alive sockets allow, until `stop` is set; the answers' statuses. */
function flood(port: number, stop: { done: boolean }): Promise<Map<number, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const statuses = new Map<number, number>();
  const kinds = [
    () => ({ method: 'PATCH', path: '/v1/tables/profiles/rows/junk', headers: { 'content-type': 'application/json' }, body: '{"set": {"name": "x"}}' }),
    () => ({ method: 'PATCH', path: '/v1/tables/profiles/rows/junk', headers: { 'content-type': 'application/json', authorization: `Bearer root.${'A'.repeat(43)}` }, body: '{"set": {' }),
    () => ({ method: 'GET', path: '/no/such/route', headers: {}, body: '' }),
    () => ({ method: 'POST', path: '/v1/txn', headers: { 'content-type': 'application/json', authorization: 'Bearer nonsense' }, body: '[[[[' }),
    () => ({ method: 'GET', path: '/v1/tables/profiles/rows?limit=abc', headers: {}, body: '' }),
  ];
  let n = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const k = (kinds[n++ % kinds.length] as (typeof kinds)[number])();
      const req = http.request({ host: '127.0.0.1', port, method: k.method, path: k.path, headers: { ...k.headers, 'content-length': Buffer.byteLength(k.body) }, agent }, (res) => {
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
        res.resume();
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', () => {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
        resolve();
      });
      req.end(k.body);
    });
  const worker = async () => {
    while (!stop.done) await one();
  };
  return Promise.all(Array.from({ length: connections }, worker)).then(() => {
    agent.destroy();
    return statuses;
  });
}

describe('a flood against one node', () => {
  it('refuses the junk, keeps its memory bounded, and serves every legitimate write', async () => {
    const made = await c.http(R, 'PUT', '/v1/roles/writer', { grants: { profiles: ['write'] } }, { authorization: `Bearer ${c.rootToken}` });
    expect(made.status).toBe(200);
    const user = await c.http(R, 'PUT', '/v1/users/app', { roles: ['writer'] }, { authorization: `Bearer ${c.rootToken}` });
    const token = user.body.token as string;
    const quiet = await legitimate(token, 3_000, 'q');
    const rssQuiet = rssMb();
    const stop = { done: false };
    const junk = flood(c.apiPort(R), stop);
    let rssPeak = rssQuiet;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb())), 250);
    const busy = await legitimate(token, floodMs, 'f');
    stop.done = true;
    const statuses = await junk;
    clearInterval(sampler);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(
      `flood: ${total} junk requests in ${floodMs / 1000} s (${Math.round(total / (floodMs / 1000))}/s) over ${connections} connections, answers ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `legitimate writes ${quiet.latencies.length} quiet, p99 ${p99(quiet.latencies).toFixed(1)} ms; ${busy.latencies.length} under the flood, p99 ${p99(busy.latencies).toFixed(1)} ms (${(p99(busy.latencies) / p99(quiet.latencies)).toFixed(1)}×); ` +
        `node RSS quiet ${rssQuiet.toFixed(0)} MB, peak ${rssPeak.toFixed(0)} MB (bound ${rssBoundMb} MB)\n`,
    );
    expect(quiet.failures).toEqual([]);
    expect(busy.failures).toEqual([]);
    expect(busy.latencies.length).toBeGreaterThan(0);
    expect(rssPeak).toBeLessThan(rssBoundMb);
    // The junk was refused, never taken: nothing without a valid token was written.
    expect(statuses.get(200) ?? 0).toBe(0);
    expect((await c.http(R, 'GET', '/v1/tables/profiles/rows/junk', undefined, { authorization: `Bearer ${c.rootToken}` })).status).toBe(404);
  }, 120_000);
});
