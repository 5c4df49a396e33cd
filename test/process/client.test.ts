/** The client SDK against real nodes: typed tables, sessions across regions, failover. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, TernClientError } from '../../src/client/index.js';
import { ProcessCluster } from './harness.js';

const c = new ProcessCluster();
beforeAll(() => c.start(), 60_000);
afterAll(() => c.stop(), 60_000);

interface Profile {
  name: string;
  visits: number;
  tags: string[];
}

describe('client SDK', () => {
  it('writes and reads typed rows, and carries the session to read its writes in another region', async () => {
    const writer = connect({ regions: [c.url('us-east')] });
    const profiles = writer.table<Profile>('profiles');
    const row = await profiles.patch('sdk1', { set: { name: 'Sam' }, incr: { visits: 2 }, add: { tags: ['new'] } });
    expect(row.fields).toEqual({ name: 'Sam', visits: 2, tags: ['new'] });
    // Same session, another region: the token makes the read wait for the write.
    const elsewhere = connect({ regions: [c.url('ap-south')], ...(writer.session ? { session: writer.session } : {}) });
    const got = await elsewhere.table<Profile>('profiles').get('sdk1', { consistency: 'session' });
    expect(got?.fields.name).toBe('Sam');
    expect(await profiles.get('nobody')).toBeNull();
  });

  it('runs strong transactions, creates tables through the log, and reads its strong writes in another region', async () => {
    const db = connect({ regions: [c.url('ap-south')] });
    await db.putTable('wallets', { mode: 'strong', fields: { balance: 'counter' } });
    await db.txn({ success: [{ table: 'wallets', key: 'w1', set: { balance: 50 } }] });
    const move = { compare: [{ table: 'wallets', key: 'w1', field: 'balance', op: '>=' as const, value: 20 }], success: [{ table: 'wallets', key: 'w1', incr: { balance: -20 } }, { table: 'wallets', key: 'w2', incr: { balance: 20 } }] };
    expect(await db.txn(move, { idempotencyKey: 'move-1' })).toMatchObject({ succeeded: true, results: [{ fields: { balance: 30 } }, { fields: { balance: 20 } }] });
    // The same key again, in another region: the first answer, not a second transfer.
    const again = connect({ regions: [c.url('eu-west')] });
    expect(await again.txn(move, { idempotencyKey: 'move-1' })).toMatchObject({ succeeded: true, results: [{ fields: { balance: 30 } }, { fields: { balance: 20 } }] });
    const elsewhere = connect({ regions: [c.url('us-east')], ...(db.session ? { session: db.session } : {}) });
    expect((await elsewhere.table<{ balance: number }>('wallets').get('w1', { consistency: 'session' }))?.fields.balance).toBe(30);
    expect((await elsewhere.table<{ balance: number }>('wallets').get('w2'))?.fields.balance).toBe(20);
  });

  it('fails over to the next preferred region when the first is down', async () => {
    await c.kill('eu-west');
    try {
      const db = connect({ regions: [c.url('eu-west'), c.url('us-east')], timeoutMs: 2_000 });
      const row = await db.table<Profile>('profiles').put('sdk2', { name: 'Failover' });
      expect(row.fields.name).toBe('Failover');
    } finally {
      await c.startNode('eu-west');
    }
  });

  it('raises typed errors with the code, status and field', async () => {
    const db = connect({ regions: [c.url('us-east')] });
    const err = await db.table('profiles').patch('sdk3', { incr: { visits: 1.5 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TernClientError);
    expect(err).toMatchObject({ code: 'BAD_REQUEST', status: 400, retryable: false, field: 'incr.visits' });
  });
});
