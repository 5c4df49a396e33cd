/** Regions that serve a call are tried fastest first, once their round trips are measured. */
import { describe, expect, it } from 'vitest';
import { connect, type Order } from '../../src/client/index.js';
import { FakeTime, fakeNodes, type FakeNode } from './fake.js';

const A = 'http://a.test';
const B = 'http://b.test';
const C = 'http://c.test';

function setup(order?: Order, probeIntervalMs?: number) {
  const time = new FakeTime();
  const nodes: Record<string, FakeNode> = { [A]: { region: 'us-east', latencyMs: 40 }, [B]: { region: 'eu-west', latencyMs: 5 }, [C]: { region: 'ap-south', latencyMs: 20 } };
  const f = fakeNodes(time, nodes);
  const db = connect({ regions: [A, B, C], fetch: f.fetch, now: time.now, timers: time.timersApi, random: () => 0.5, ...(order ? { order } : {}), ...(probeIntervalMs !== undefined ? { probeIntervalMs } : {}) });
  return { time, nodes, f, db, origins: () => f.calls().map((s) => s.origin) };
}

describe('latency ordering', () => {
  it('the fastest region is chosen once measured, and the next fastest when it fails', async () => {
    const { time, nodes, f, db, origins } = setup();
    await time.settle(db.table('t').get('k'));
    expect(origins()).toEqual([A]); // nothing measured yet: the order given
    await time.advance(100); // the probes are back
    expect(db.health().map((h) => h.rttMs)).toEqual([40, 5, 20]);
    f.seen.length = 0;
    await time.settle(db.table('t').get('k'));
    await time.settle(db.table('t').put('k', { v: 1 }));
    expect(origins()).toEqual([B, B]);

    nodes[B]!.down = true;
    f.seen.length = 0;
    await time.settle(db.table('t').get('k'));
    expect(origins()).toEqual([B, C]);
    db.close();
  });

  it('follows the measured round trips as they change (a moving average of the probes)', async () => {
    const { time, nodes, f, db, origins } = setup();
    await time.settle(db.table('t').get('k'));
    await time.advance(100);
    nodes[B]!.latencyMs = 60; // eu-west gets slow: a few probes later ap-south is the fastest
    await time.advance(5000);
    expect(db.health()[1]!.rttMs).toBeGreaterThan(40);
    f.seen.length = 0;
    await time.settle(db.table('t').get('k'));
    expect(origins()).toEqual([C]);
    db.close();
  });

  it("order: 'given' keeps the configured order as the preference", async () => {
    const { time, f, db, origins } = setup('given');
    await time.settle(db.table('t').get('k'));
    await time.advance(100);
    f.seen.length = 0;
    await time.settle(db.table('t').get('k'));
    expect(origins()).toEqual([A]);
    db.close();
  });

  it('without probes, answered calls measure the regions (each one once, then the fastest)', async () => {
    const { time, db, origins } = setup(undefined, 0);
    for (let i = 0; i < 5; i++) await time.settle(db.table('t').get('k'));
    expect(origins()).toEqual([A, B, C, B, B]);
    expect(db.health().map((h) => h.rttMs)).toEqual([40, 5, 20]);
  });
});
