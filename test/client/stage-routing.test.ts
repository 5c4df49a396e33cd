/** Regions are chosen by their last /readyz: catching-up gets nothing, read-ready gets reads, writes go where they are served. */
import { describe, expect, it } from 'vitest';
import { connect, TernClientError } from '../../src/client/index.js';
import { FakeTime, fakeNodes, flush, type FakeNode } from './fake.js';

const A = 'http://a.test';
const B = 'http://b.test';
const C = 'http://c.test';

function setup(nodes: Record<string, FakeNode>, extra: { cluster?: string } = {}) {
  const time = new FakeTime();
  const f = fakeNodes(time, nodes);
  const db = connect({ regions: Object.keys(nodes), fetch: f.fetch, now: time.now, timers: time.timersApi, random: () => 0.5, ...extra });
  return { time, f, db, origins: () => f.calls().map((s) => s.origin) };
}

describe('stage-aware routing', () => {
  it('skips a catching-up region for reads and writes; a read-ready one gets reads, not writes', async () => {
    const { f, db, origins } = setup({ [A]: { region: 'us-east', stage: 'catching-up' }, [B]: { region: 'eu-west', stage: 'read-ready' }, [C]: { region: 'ap-south' } });
    // The first call starts the probes and goes out before they answer: in the order given, past A's 503 NOT_READY.
    await expect(db.table('t').get('k')).resolves.toMatchObject({ fields: { from: 'eu-west' } });
    expect(origins()).toEqual([A, B]);
    await flush();
    expect(db.health().map((h) => h.stage)).toEqual(['catching-up', 'read-ready', 'write-ready']);

    f.seen.length = 0;
    await expect(db.table('t').get('k')).resolves.toMatchObject({ fields: { from: 'eu-west' } });
    await expect(db.table('t').patch('k', { set: { v: 1 } })).resolves.toMatchObject({ fields: { from: 'ap-south' } });
    await db.table('t').delete('k');
    await db.txn({ success: [{ table: 't', key: 'k', set: { v: 2 } }] });
    await db.table('t').scan({ consistency: 'session' });
    expect(origins()).toEqual([B, C, C, C, B]);
    db.close();
  });

  it('prefers write-ready for writes, then fenced (lease); never fenced (clock) for writes or bounded reads', async () => {
    const { f, db, origins } = setup({ [A]: { region: 'us-east', stage: 'fenced', reason: 'clock' }, [B]: { region: 'eu-west', stage: 'fenced', reason: 'lease' }, [C]: { region: 'ap-south', stage: 'read-ready' } });
    await db.table('t').get('k');
    await flush();
    f.seen.length = 0;
    await db.table('t').put('k', { v: 1 }); // no write-ready region: fenced (lease) serves unguarded writes
    await db.table('t').get('k', { consistency: 'bounded', maxStalenessMs: 1000 });
    await db.table('t').get('k', { consistency: 'eventual' });
    expect(origins()).toEqual([B, B, A]);
    db.close();
  });

  it('when no region says it serves the call, asks them anyway: the node answers why', async () => {
    const { f, db } = setup({ [A]: { region: 'us-east', stage: 'catching-up' }, [B]: { region: 'eu-west', stage: 'catching-up' } });
    await db.table('t').get('k').catch(() => undefined);
    await flush();
    f.seen.length = 0;
    await expect(db.table('t').get('k')).rejects.toMatchObject({ code: 'NOT_READY', status: 503, region: 'eu-west' });
    expect(f.calls().map((s) => s.origin)).toEqual([A, B]);
    db.close();
  });

  it('never sends to a region of another cluster', async () => {
    const { f, db, origins } = setup({ [A]: { region: 'us-east', cluster: 'staging' }, [B]: { region: 'eu-west', cluster: 'prod' } }, { cluster: 'prod' });
    await db.table('t').get('k');
    await flush();
    expect(db.health().map((h) => h.foreign)).toEqual([true, false]);
    f.seen.length = 0;
    await db.table('t').get('k');
    await db.table('t').put('k', { v: 1 });
    expect(origins()).toEqual([B, B]);
    db.close();
  });

  it('when every region is of another cluster, a call fails at once', async () => {
    const { f, db } = setup({ [A]: { region: 'us-east', cluster: 'staging' } }, { cluster: 'prod' });
    await db.table('t').get('k');
    await flush();
    f.seen.length = 0;
    const err = await db.table('t').get('k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TernClientError);
    expect(err).toMatchObject({ code: 'WRONG_CLUSTER', retryable: false, status: 0 });
    expect(f.calls()).toEqual([]);
    db.close();
  });

  it('without the cluster option, the first cluster a region names is the expected one', async () => {
    const { time, f, db, origins } = setup({ [A]: { region: 'us-east', cluster: 'old', latencyMs: 10 }, [B]: { region: 'eu-west', cluster: 'new', latencyMs: 1 } });
    await time.settle(db.table('t').get('k')); // to A (not measured yet), while both are probed: B answers first
    await time.advance(50);
    expect(db.health().map((h) => [h.cluster, h.foreign])).toEqual([['old', true], ['new', false]]);
    f.seen.length = 0;
    await time.settle(db.table('t').get('k'));
    expect(origins()).toEqual([B]);
    db.close();
  });
});
