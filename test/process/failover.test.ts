/**
 * Failover inside the database, against real processes through the WAN emulator: a region cut
 * off stops taking guarded writes (FENCED) while multi-writer tables keep accepting; the failover
 * region takes the home's rows; on heal the region passes through its stages and takes its lease
 * back with every acknowledged write intact; a leaseholder paused past its lease refuses when it
 * wakes; an operator's drain and undrain.
 *
 * Times are printed, not asserted (the machines are shared); every wait has a generous deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failoverTables, ProcessCluster } from './harness.js';

const tables = failoverTables;

// A region isolated for 8 s comes back more than readReadyLagMs behind: it must pass through every stage.
const c = new ProcessCluster({ tables, settings: { readReadyLagMs: 2_500 } });
beforeAll(() => c.start(), 60_000);
afterAll(() => c.stop(), 60_000);

const patch = (region: string, table: string, key: string, body: unknown) => c.http(region, 'PATCH', `/v1/tables/${table}/rows/${key}`, body);
const read = (region: string, table: string, key: string) => c.http(region, 'GET', `/v1/tables/${table}/rows/${key}`);
const ready = async (region: string) => (await c.http(region, 'GET', '/readyz')).body as { stage: string; reason: string | null; lagMs: number | null };
const lease = async (at: string, slot: string) => ((await c.http(at, 'GET', '/v1/status')).body.leases as Array<{ region: string; holder: string | null; epoch: number }>).find((l) => l.region === slot);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stage transitions the node logged after `sinceMs` (its pino time), in order. */
function stagesSince(region: string, sinceMs: number): string[] {
  return c
    .logLines(region)
    .filter((l) => typeof l['stage'] === 'string' && typeof l['from'] === 'string' && (l['time'] as number) >= sinceMs)
    .map((l) => `${l['stage'] as string}${l['reason'] ? `(${l['reason'] as string})` : ''}`);
}

describe('write leases and fencing through the WAN emulator', () => {
  it('home rows are written in their home region only', async () => {
    expect((await patch('ap-south', 'owned', 'o1', { set: { home: 'ap-south', v: 'a0' } })).status).toBe(200);
    expect((await patch('ap-south', 'homed', 'h1', { set: { home: 'ap-south', v: 'a0' } })).status).toBe(200);
    await c.eventually(() => read('eu-west', 'owned', 'o1'), (r) => r.status === 200);
    const wrong = await patch('eu-west', 'owned', 'o1', { set: { v: 'x' } });
    expect(wrong.status).toBe(421);
    expect(wrong.body.error).toMatchObject({ code: 'WRONG_REGION', home: 'ap-south' });
  });

  it('an isolated region fences its guarded writes, keeps multi-writer ones, and its failover region takes its rows; on heal it rejoins in stages', async () => {
    const t0 = Date.now();
    await c.wan('POST', '/v1/wan/partition', { isolate: 'ap-south' });

    // Guarded writes in the island: refused once its lease runs out (lease − offset after its last renewal).
    const fenced = await c.eventually(
      () => patch('ap-south', 'strict', 's1', { set: { v: 'island' } }),
      (r) => r.status === 503,
      20_000,
    );
    const fencedAfterMs = Date.now() - t0;
    expect(fenced.body.error).toMatchObject({ code: 'FENCED', retryable: true, reason: 'lease' });
    expect(Array.isArray(fenced.body.error.regions)).toBe(true);
    expect((await patch('ap-south', 'homed', 'h1', { set: { v: 'island' } })).body.error.code).toBe('FENCED');
    // Multi-writer tables keep accepting: that is what active-active is for.
    expect((await patch('ap-south', 'free', 'f1', { incr: { n: 5 } })).status).toBe(200);
    // The island has no backlog (nothing a majority holds reached it, so nothing is missing that it
    // knows of), but the data it has from its peers grows old, and /readyz and status say so.
    const stale = await c.eventually(() => c.http('ap-south', 'GET', '/readyz'), (r) => typeof r.body.stalenessMs === 'number' && r.body.stalenessMs >= 2_000, 20_000);
    const later = await c.eventually(() => c.http('ap-south', 'GET', '/v1/status'), (r) => typeof r.body.stalenessMs === 'number' && r.body.stalenessMs > stale.body.stalenessMs, 20_000);
    expect(later.body.stalenessMs).toBeGreaterThan(stale.body.stalenessMs);

    // The failover region for ap-south (eu-west: the nearest) takes its rows once nobody can hold them.
    const taken = await c.eventually(() => patch('eu-west', 'owned', 'o1', { set: { v: 'b1' } }), (r) => r.status === 200, 30_000);
    const takenAfterMs = Date.now() - t0;
    expect(taken.body.fields.v).toBe('b1');
    const l = await lease('eu-west', 'ap-south');
    expect(l).toMatchObject({ holder: 'eu-west' });
    const takeoverEpoch = (l as { epoch: number }).epoch;
    expect(takeoverEpoch).toBeGreaterThan(1);
    // The home table (no failover) stays unwritable everywhere but home.
    expect((await patch('us-east', 'homed', 'h1', { set: { v: 'x' } })).status).toBe(421);
    expect((await patch('us-east', 'free', 'f1', { incr: { n: 7 } })).status).toBe(200);
    console.log(`isolation → guarded writes refused after ${fencedAfterMs} ms; failover region accepting after ${takenAfterMs} ms`);

    // Load on the majority while the island is away: distinct rows, so the island has a backlog
    // to catch up on that takes more than one message.
    const pad = 'x'.repeat(2_000);
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; Date.now() - t0 < 8_000; i++) await patch(w % 2 === 0 ? 'us-east' : 'eu-west', 'free', `load-${w}-${i}`, { set: { v: pad }, incr: { n: 1 } });
      }),
    );

    const healedAt = Date.now();
    await c.wan('POST', '/v1/wan/heal');
    const load = (async () => {
      for (let i = 0; Date.now() - healedAt < 4_000; i++) await patch('us-east', 'free', `heal${i % 20}`, { incr: { n: 1 } });
    })();
    await c.eventually(() => ready('ap-south'), (r) => r.stage === 'write-ready', 30_000);
    const readyAfterMs = Date.now() - healedAt;
    await load;
    const stages = stagesSince('ap-south', healedAt);
    console.log(`heal → write-ready after ${readyAfterMs} ms; stages: ${stages.join(' → ')}`);
    // Liveness is not readiness: it answered all along, but served nothing until it had caught up,
    // and took writes only with its lease back. (A backlog this size arrives in one or two steps,
    // so read-ready may be too short to see here; the core's tests step through it.)
    // The first stage after the heal refuses writes for the backlog: catching-up, or read-ready when
    // the ops queued for it during the partition arrive with its first contact and bring it within
    // readReadyLagMs in that very turn.
    expect(stages[0]).toMatch(/^(catching-up|read-ready)\(lag\)/);
    expect(stages.indexOf('write-ready')).toBe(stages.length - 1);

    // It takes its lease back (a new epoch) and every acknowledged write survived the handback.
    await c.eventually(() => lease('ap-south', 'ap-south'), (x) => x?.holder === 'ap-south' && x.epoch > takeoverEpoch, 20_000);
    for (const r of c.regions) {
      await c.eventually(() => read(r, 'owned', 'o1'), (x) => x.body?.fields?.v === 'b1');
      await c.eventually(() => read(r, 'free', 'f1'), (x) => x.body?.fields?.n === 12);
    }
    expect((await patch('ap-south', 'owned', 'o1', { set: { v: 'a2' } })).status).toBe(200);
    expect((await patch('eu-west', 'owned', 'o1', { set: { v: 'x' } })).status).toBe(421);
    expect((await patch('ap-south', 'strict', 's1', { set: { v: 'back' } })).status).toBe(200);
  }, 120_000);

  it('a leaseholder paused past its lease refuses guarded writes when it wakes', async () => {
    await c.eventually(() => ready('ap-south'), (r) => r.stage === 'write-ready', 30_000);
    c.signal('ap-south', 'SIGSTOP');
    try {
      await sleep(6_000); // lease 4 s + offset 0.5 s, and margin
      // Sent while it sleeps: the first thing it handles when it wakes, before any renewal.
      const pending = patch('ap-south', 'strict', 's2', { set: { v: 'late' } });
      await sleep(200);
      c.signal('ap-south', 'SIGCONT');
      const r = await pending;
      expect(r.status).toBe(503);
      expect(['FENCED', 'NOT_READY']).toContain(r.body.error.code);
    } finally {
      c.signal('ap-south', 'SIGCONT');
    }
    await c.eventually(() => ready('ap-south'), (r) => r.stage === 'write-ready', 30_000);
    await c.eventually(() => patch('ap-south', 'strict', 's2', { set: { v: 'awake' } }), (r) => r.status === 200, 20_000);
  }, 90_000);

  it('drain gives a region\u2019s lease up through the log; undrain brings it back; an unknown region is refused', async () => {
    const bad = await c.http('us-east', 'POST', '/v1/admin/drain', { region: 'mars' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'BAD_REQUEST', field: 'region' });
    expect((await c.http('us-east', 'POST', '/v1/admin/drain', 'nope', { 'content-type': 'application/json' })).status).toBe(400);
    expect(await ready('eu-west')).toMatchObject({ stage: 'write-ready' });

    const drained = await c.http('us-east', 'POST', '/v1/admin/drain', { region: 'eu-west' });
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ region: 'eu-west', drained: true });
    await c.eventually(() => ready('eu-west'), (r) => r.stage === 'fenced' && r.reason === 'drain');
    const refused = await patch('eu-west', 'strict', 's3', { set: { v: 'drained' } });
    expect(refused.body.error).toMatchObject({ code: 'FENCED', reason: 'drain' });
    expect((await patch('eu-west', 'free', 'f2', { incr: { n: 1 } })).status).toBe(200); // it keeps replicating and taking multi-writer writes

    expect((await c.http('ap-south', 'POST', '/v1/admin/undrain', { region: 'eu-west' })).status).toBe(200);
    await c.eventually(() => ready('eu-west'), (r) => r.stage === 'write-ready', 20_000);
    expect((await patch('eu-west', 'strict', 's3', { set: { v: 'back' } })).status).toBe(200);
  }, 60_000);
});
