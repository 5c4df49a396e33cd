/**
 * `terndb router` in front of real nodes: a region SIGKILLed under load through the router loses
 * no acknowledged write, every error a client sees meanwhile is a typed, retryable one, and
 * writes succeed again without the client changing anything. Then the region comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './harness.js';

const bin = new URL('../../bin/terndb.js', import.meta.url).pathname;
const c = new ProcessCluster({ wan: false });
let router: ChildProcess | null = null;
let routerUrl = '';

beforeAll(async () => {
  await c.start();
  const port = c.base + 90;
  routerUrl = `http://127.0.0.1:${port}`;
  router = spawn(process.execPath, [bin, 'router', '--config', c.configPath, '--api', `127.0.0.1:${port}`, '--region', 'us-east'], { stdio: 'ignore' });
  await c.waitFor(`${routerUrl}/v1/router/status`);
  // Every region serving, as the router sees it.
  await c.eventually(
    async () => (await (await fetch(`${routerUrl}/v1/router/status`)).json()) as { regions: Array<{ stage: string | null }> },
    (s) => s.regions.every((r) => r.stage === 'write-ready'),
    30_000,
  );
}, 90_000);

afterAll(async () => {
  if (router !== null && router.exitCode === null) {
    const r = router;
    await new Promise<void>((resolve) => {
      r.once('exit', () => resolve());
      r.kill('SIGTERM');
    });
  }
  await c.stop();
}, 60_000);

describe('the router under a region failure', () => {
  it('a region killed under load: no acknowledged write lost, only typed retryable errors, then success again', async () => {
    const acked = new Map<string, number>();
    const errors: Array<{ status: number; code: unknown; retryable: unknown }> = [];
    let okAfterKill = 0;
    let killed = false;
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const key = `r${w}-${i % 20}`;
        try {
          const r = await fetch(`${routerUrl}/v1/tables/profiles/rows/${key}`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'idempotency-key': `w${w}-${i}` }, body: JSON.stringify({ incr: { visits: 1 } }) });
          const body = (await r.json()) as { error?: { code?: unknown; retryable?: unknown } };
          if (r.status === 200) {
            acked.set(key, (acked.get(key) ?? 0) + 1);
            if (killed) okAfterKill++;
          } else errors.push({ status: r.status, code: body.error?.code, retryable: body.error?.retryable });
        } catch (err) {
          errors.push({ status: 0, code: (err as Error).message, retryable: false });
        }
      }
    };
    const workers = [0, 1, 2].map(worker);
    await c.eventually(async () => acked.size, (n) => n >= 30, 30_000);
    await c.kill('us-east'); // the router's own region
    killed = true;
    await c.eventually(async () => okAfterKill, (n) => n >= 50, 30_000);
    stop = true;
    await Promise.all(workers);
    // Every error a client saw was a typed, retryable answer (never a dropped connection).
    for (const e of errors) expect(e, JSON.stringify(e)).toMatchObject({ retryable: true });
    expect(errors.every((e) => e.status >= 500)).toBe(true);
    const status = (await (await fetch(`${routerUrl}/v1/router/status`)).json()) as { regions: Array<{ region: string; drainedSinceMs: number | null }> };
    expect(status.regions.find((r) => r.region === 'us-east')?.drainedSinceMs).not.toBeNull();
    // The region comes back; every acknowledged increment is everywhere.
    await c.startNode('us-east');
    for (const region of c.regions) {
      for (const [key, n] of acked) {
        await c.eventually(() => c.http(region, 'GET', `/v1/tables/profiles/rows/${key}`), (r) => r.status === 200 && (r.body.fields.visits as number) >= n, 30_000);
      }
    }
    // And the router sends to it again.
    await c.eventually(
      async () => (await (await fetch(`${routerUrl}/v1/router/status`)).json()) as { regions: Array<{ region: string; stage: string | null; drainedSinceMs: number | null }> },
      (s) => s.regions.every((r) => r.stage === 'write-ready' && r.drainedSinceMs === null),
      30_000,
    );
  }, 180_000);
});
