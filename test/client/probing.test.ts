/** Background /readyz probes: lazy, one in flight per region, unref()ed timers, stopped by close(). */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { FakeTime, fakeNodes, flush } from './fake.js';

const A = 'http://a.test';
const B = 'http://b.test';

describe('probing', () => {
  it('starts with the first call, probes every probeIntervalMs, and stops after close()', async () => {
    const time = new FakeTime();
    const f = fakeNodes(time, { [A]: { region: 'us-east' }, [B]: { region: 'eu-west' } });
    const db = connect({ regions: [A, B], fetch: f.fetch, now: time.now, timers: time.timersApi, probeIntervalMs: 1000 });
    await time.advance(5000);
    expect(f.seen).toEqual([]); // a client that is not used sends nothing
    await db.table('t').get('k');
    await flush();
    expect(f.probes().map((s) => s.origin)).toEqual([A, B]);
    await time.advance(3000);
    expect(f.probes()).toHaveLength(8);
    expect(time.pending().every((t) => !t.refed)).toBe(true); // only unref()ed timers

    db.close();
    expect(time.pending()).toEqual([]);
    await time.advance(10_000);
    expect(f.probes()).toHaveLength(8);
    // Calls still work after close(), without probes.
    await expect(db.table('t').get('k')).resolves.toMatchObject({ fields: { from: 'us-east' } });
    await time.advance(10_000);
    expect(f.probes()).toHaveLength(8);
  });

  it('keeps at most one probe in flight per region, and close() aborts them', async () => {
    const time = new FakeTime();
    const f = fakeNodes(time, { [A]: { region: 'us-east', latencyMs: 3500 } });
    const db = connect({ regions: [A], fetch: f.fetch, now: time.now, timers: time.timersApi, probeIntervalMs: 1000, timeoutMs: 10_000 });
    void db.table('t').get('k').catch(() => undefined);
    await time.advance(3000);
    expect(f.probes()).toHaveLength(1); // the first one has not answered yet: no second
    await time.advance(600); // answered at 3500; the tick at 4000 sends the next
    await time.advance(400);
    expect(f.probes()).toHaveLength(2);
    db.close();
    expect(f.probes()[1]?.signal?.aborted).toBe(true);
    await time.advance(10_000);
    expect(f.probes()).toHaveLength(2);
  });

  it('a probe that fails backs the region off, and it is not probed again before the backoff ends', async () => {
    const time = new FakeTime();
    const f = fakeNodes(time, { [A]: { region: 'us-east', down: true }, [B]: { region: 'eu-west' } });
    const db = connect({ regions: [A, B], fetch: f.fetch, now: time.now, timers: time.timersApi, probeIntervalMs: 100, random: () => 0, backoff: { baseMs: 1000, maxMs: 4000 } });
    await db.table('t').get('k'); // the probes start; A refuses them and the call
    await time.advance(2000);
    // A: the probe and the call fail at 0 ms (backoffs of 500, then 1000 ms: random 0 takes the lower half), the probe at 1000 ms too (2000 ms). B: every 100 ms.
    const probesOf = (o: string) => f.probes().filter((s) => s.origin === o).map((s) => s.at - 1_000_000);
    expect(probesOf(A)).toEqual([0, 1000]);
    expect(db.health()[0]).toMatchObject({ failures: 3, backoffUntil: 1_000_000 + 3000 });
    expect(probesOf(B)).toHaveLength(21);
    db.close();
  });

  it('never keeps a Node process alive: the platform timers it leaves behind are unref()ed', async () => {
    const handles: Array<ReturnType<typeof setTimeout>> = [];
    const timers = {
      setTimeout: (fn: () => void, ms: number) => {
        const h = setTimeout(fn, ms);
        handles.push(h);
        return h;
      },
      clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    const time = new FakeTime();
    const f = fakeNodes(time, { [A]: { region: 'us-east' } });
    const db = connect({ regions: [A], fetch: f.fetch, timers, probeIntervalMs: 60_000 });
    await db.table('t').get('k');
    await flush();
    expect(handles.length).toBeGreaterThan(0);
    expect(handles.every((h) => !h.hasRef())).toBe(true);
    db.close();
  });
});
