/**
 * Unique fields of an async table enforced through the strong log, across real processes: two
 * regions inserting the same value at once get exactly one success; a value is free again once its
 * row changes or is deleted; a region cut off from the quorum refuses the insert rather than
 * writing it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './harness.js';

const c = new ProcessCluster({
  tables: { users: { mode: 'async', fields: { email: 'lww', name: 'lww' }, unique: [{ field: 'email', enforce: 'strong' }] } },
  settings: { preferredLeader: 'us-east', raftHeartbeatMs: 50, raftElectionMs: 500, strongTimeoutMs: 2000, maxClockOffsetMs: 100 },
});

beforeAll(async () => {
  await c.start();
}, 60_000);
afterAll(() => c.stop(), 60_000);

const put = (region: string, key: string, fields: Record<string, unknown>) => c.http(region, 'PUT', `/v1/tables/users/rows/${key}`, { fields });
const emailsEverywhere = async (): Promise<string[][]> =>
  Promise.all(
    c.regions.map(async (r) => {
      const scan = await c.http(r, 'GET', '/v1/tables/users/rows?limit=100');
      return (scan.body.rows as Array<{ key: string; fields: { email?: string } }>).filter((row) => row.fields.email !== undefined).map((row) => `${row.key}=${row.fields.email}`).sort();
    }),
  );

describe('unique fields enforced through the strong log', () => {
  it('two regions inserting the same value at once: exactly one succeeds, the other is refused 409 and writes nothing', async () => {
    await c.eventually(() => c.http('us-east', 'GET', '/v1/status'), (s) => s.body.raft?.leader === 'us-east');
    for (let round = 0; round < 5; round++) {
      const email = `ann${round}@example.com`;
      const [a, b] = await Promise.all([put('eu-west', `a${round}`, { email, name: 'A' }), put('ap-south', `b${round}`, { email, name: 'B' })]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const refused = a.status === 409 ? a : b;
      expect(refused.body.error).toMatchObject({ code: 'UNIQUE_VIOLATION', field: 'email' });
      const loser = a.status === 409 ? `a${round}` : `b${round}`;
      for (const r of c.regions) expect((await c.http(r, 'GET', `/v1/tables/users/rows/${loser}`)).status).toBe(404);
    }
    const views = await c.eventually(emailsEverywhere, (v) => v.every((x) => x.length === 5 && JSON.stringify(x) === JSON.stringify(v[0])));
    expect(new Set((views[0] as string[]).map((x) => x.split('=')[1])).size).toBe(5);
    const conflicts = await c.http('us-east', 'GET', '/v1/conflicts?table=users');
    expect(conflicts.body.conflicts.filter((x: { kind: string }) => x.kind === 'insert-insert')).toEqual([]);
  }, 60_000);

  it('a value is free again once its row takes another value, or is deleted', async () => {
    expect((await put('us-east', 'u1', { email: 'x@example.com' })).status).toBe(200);
    expect((await put('eu-west', 'u2', { email: 'x@example.com' })).status).toBe(409);
    expect((await put('us-east', 'u1', { email: 'y@example.com' })).status).toBe(200);
    // The release waits until every region has heard of any write that could still give u1 the
    // old value (the strong timeout plus slack, a few seconds here), then goes through the log.
    await c.eventually(() => put('eu-west', 'u2', { email: 'x@example.com' }), (r) => r.status === 200);
    expect((await put('ap-south', 'u3', { email: 'y@example.com' })).status).toBe(409);
    expect((await c.http('us-east', 'DELETE', '/v1/tables/users/rows/u1')).status).toBe(200);
    await c.eventually(() => put('ap-south', 'u3', { email: 'y@example.com' }), (r) => r.status === 200);
    // Writing the row's own value again, or another field, needs no new claim and is never refused.
    expect((await put('ap-south', 'u3', { email: 'y@example.com', name: 'Three' })).status).toBe(200);
  }, 60_000);

  it('a region cut off from the quorum refuses the insert (no local commit), and accepts it after the heal', async () => {
    await c.wan('POST', '/v1/wan/partition', { isolate: 'ap-south' });
    try {
      const r = await put('ap-south', 'island', { email: 'island@example.com' });
      expect([503, 504]).toContain(r.status);
      expect(r.body.error.field).toBe('email');
      if (r.status === 504) expect(r.body.error.mayHaveCommitted).toBe(false);
      expect((await c.http('ap-south', 'GET', '/v1/tables/users/rows/island')).status).toBe(404);
      // Rows without a new unique value are async as ever: written at once while cut off.
      expect((await put('ap-south', 'u3', { name: 'cut off' })).status).toBe(200);
    } finally {
      await c.wan('POST', '/v1/wan/heal');
    }
    await c.eventually(() => put('ap-south', 'island', { email: 'island@example.com' }), (r) => r.status === 200, 20_000);
  }, 60_000);
});
