/** A region that cannot be reached: the call goes on to the next, and the next calls skip it until its backoff ends. */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { FakeTime, fakeNodes, type FakeNode } from './fake.js';

const A = 'http://a.test';
const B = 'http://b.test';

function setup() {
  const time = new FakeTime();
  const nodes: Record<string, FakeNode> = { [A]: { region: 'us-east', down: true }, [B]: { region: 'eu-west' } };
  const f = fakeNodes(time, nodes);
  // No probes: only calls touch the regions. random 0.5: the first backoff is 375 ms (500 ms base, half jittered).
  const db = connect({ regions: [A, B], fetch: f.fetch, now: time.now, timers: time.timersApi, random: () => 0.5, probeIntervalMs: 0 });
  return { time, nodes, f, db, origins: () => f.calls().map((s) => s.origin) };
}

describe('failover and backoff', () => {
  it('fails over past a region that is down, skips it while it backs off, and tries it again after', async () => {
    const { time, nodes, f, db, origins } = setup();
    await expect(db.table('t').get('k')).resolves.toMatchObject({ fields: { from: 'eu-west' } });
    expect(origins()).toEqual([A, B]);
    expect(db.health()[0]).toMatchObject({ url: A, failures: 1, backoffUntil: time.t + 375 });

    // Within its backoff: not tried, for reads and writes alike.
    f.seen.length = 0;
    await db.table('t').get('k');
    await db.table('t').put('k', { v: 1 });
    time.t += 374;
    await db.table('t').get('k');
    expect(origins()).toEqual([B, B, B]);

    // Back up, and the backoff over: the preferred region again.
    nodes[A]!.down = false;
    time.t += 1;
    f.seen.length = 0;
    await expect(db.table('t').get('k')).resolves.toMatchObject({ fields: { from: 'us-east' } });
    expect(origins()).toEqual([A]);
    expect(db.health()[0]).toMatchObject({ failures: 0, backoffUntil: 0 });
  });

  it('backs off longer after each failure, up to the cap', async () => {
    const { time, db } = setup();
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      await db.table('t').get('k');
      const h = db.health()[0];
      waits.push(h!.backoffUntil - time.t);
      time.t = h!.backoffUntil; // the backoff just over: tried (and failing) again
    }
    expect(waits).toEqual([375, 750, 1500, 3000, 6000, 12000, 30000 * 0.75, 30000 * 0.75, 30000 * 0.75]);
  });

  it('when every region is in backoff, every one is tried (the error is the last one)', async () => {
    const { nodes, f, db, origins } = setup();
    nodes[B]!.down = true;
    await expect(db.table('t').get('k')).rejects.toMatchObject({ code: 'UNREACHABLE', status: 0 });
    f.seen.length = 0;
    await expect(db.table('t').get('k')).rejects.toMatchObject({ code: 'UNREACHABLE' });
    expect(origins()).toEqual([A, B]);
  });
});
