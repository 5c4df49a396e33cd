/**
 * A region whose disk is full (docs/api.md, "Stages": fenced, reason storage) answers writes
 * 507 INSUFFICIENT_STORAGE: the SDK moves the call on to the next region under the same idempotency
 * key, asks the full region's /readyz again at once, and sends it reads but no writes while its
 * stage says so. A 507 that may have committed moves on only as a 504 does: keyed, or a GET.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { errorBody, FakeTime, fakeNodes, flush, json, type FakeNode, type Seen } from './fake.js';

const A = 'http://a.test';
const B = 'http://b.test';

const full = (extra: Record<string, unknown> = {}) => (req: Seen) =>
  req.method === 'GET' ? undefined : json(507, errorBody('INSUFFICIENT_STORAGE', { reason: 'storage', regions: ['eu-west'], ...extra }), 'us-east');

function setup(a: FakeNode, probeIntervalMs = 1000) {
  const time = new FakeTime();
  const f = fakeNodes(time, { [A]: a, [B]: { region: 'eu-west' } });
  const db = connect({ regions: [A, B], fetch: f.fetch, now: time.now, timers: time.timersApi, random: () => 0.5, probeIntervalMs, order: 'given' });
  return { time, f, db, calls: () => f.calls().map((s) => [s.origin, s.method, s.key] as const) };
}

describe('a region with a full disk', () => {
  it('a write answered 507 goes on to the next region with the same idempotency key; the full region is probed at once', async () => {
    const { f, db, calls } = setup({ region: 'us-east', answer: full() }, 0);
    await expect(db.table('t').patch('k', { set: { v: 1 } })).resolves.toMatchObject({ fields: { from: 'eu-west' } });
    const [first, second] = calls();
    expect([first?.[0], second?.[0]]).toEqual([A, B]);
    expect(first?.[2]).toBeTruthy();
    expect(second?.[2]).toBe(first?.[2]);
    // With probes on, the 507 has the region's /readyz asked again at once.
    const probed = setup({ region: 'us-east', answer: full() });
    await probed.db.table('t').patch('k', { set: { v: 1 } });
    await flush();
    expect(probed.f.probes().filter((p) => p.origin === A).length).toBeGreaterThanOrEqual(2);
    probed.db.close();
    expect(f.probes()).toEqual([]);
  });

  it('one that may have committed moves on when keyed (a write), and is thrown for an unkeyed table change', async () => {
    const { db, calls } = setup({ region: 'us-east', answer: full({ mayHaveCommitted: true }) }, 0);
    await expect(db.table('t').put('k', { v: 1 })).resolves.toMatchObject({ fields: { from: 'eu-west' } });
    expect(calls().map((c) => c[0])).toEqual([A, B]);
    await expect(db.putTable('n', { mode: 'async' })).rejects.toMatchObject({ code: 'INSUFFICIENT_STORAGE', status: 507, mayHaveCommitted: true, region: 'us-east' });
  });

  it('once its /readyz says fenced (storage): reads go to it, writes and table changes elsewhere first, bounded reads elsewhere', async () => {
    const { db, f, calls } = setup({ region: 'us-east', stage: 'fenced', reason: 'storage', answer: full() });
    await db.table('t').get('k');
    await flush();
    expect(db.health()[0]).toMatchObject({ stage: 'fenced', reason: 'storage' });
    f.seen.length = 0;
    await expect(db.table('t').get('k')).resolves.toMatchObject({ fields: { from: 'us-east' } });
    await expect(db.table('t').get('k', { consistency: 'bounded', maxStalenessMs: 100 })).resolves.toMatchObject({ fields: { from: 'eu-west' } });
    await expect(db.table('t').patch('k', { set: { v: 1 } })).resolves.toMatchObject({ fields: { from: 'eu-west' } });
    expect(calls().map((c) => c[0])).toEqual([A, B, B]);
    db.close();
  });
});
