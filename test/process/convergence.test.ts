/**
 * Three region nodes and the WAN emulator as real processes: concurrent writes in every region
 * converge, sessions read their writes across regions, and a partition heals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './harness.js';

const c = new ProcessCluster();
beforeAll(() => c.start(), 60_000);
afterAll(() => c.stop(), 60_000);

const row = (region: string, table: string, key: string) => c.http(region, 'GET', `/v1/tables/${table}/rows/${encodeURIComponent(key)}`);
const patch = (region: string, table: string, key: string, body: unknown, headers?: Record<string, string>) => c.http(region, 'PATCH', `/v1/tables/${table}/rows/${encodeURIComponent(key)}`, body, headers);

async function sameEverywhere(table: string, key: string, check: (fields: any) => boolean): Promise<any> {
  const all = async () => Promise.all(c.regions.map((r) => row(r, table, key)));
  const got = await c.eventually(all, (rs) => rs.every((r) => r.status === 200 && check(r.body.fields) && JSON.stringify(r.body) === JSON.stringify(rs[0]?.body)));
  return got[0]?.body;
}

describe('three regions through the WAN emulator', () => {
  it('writes to different fields of one row in two regions are both kept', async () => {
    await Promise.all([patch('us-east', 'profiles', 'p1', { set: { name: 'Ann' } }), patch('ap-south', 'profiles', 'p1', { add: { tags: ['admin'] } })]);
    const body = await sameEverywhere('profiles', 'p1', (f) => f.name === 'Ann' && f.tags?.length === 1);
    expect(body.fields).toEqual({ name: 'Ann', tags: ['admin'] });
  });

  it('writes to the same field resolve identically everywhere and show in the conflict feed', async () => {
    await Promise.all([patch('us-east', 'docs', 'd1', { set: { title: 'from us-east' } }), patch('eu-west', 'docs', 'd1', { set: { title: 'from eu-west' } })]);
    const body = await sameEverywhere('docs', 'd1', (f) => typeof f.title === 'string');
    expect(['from us-east', 'from eu-west']).toContain(body.fields.title);
    const feeds = await c.eventually(
      () => Promise.all(c.regions.map((r) => c.http(r, 'GET', '/v1/conflicts?table=docs'))),
      (fs) => fs.every((f) => f.body.conflicts.some((e: any) => e.key === 'd1' && e.kind === 'write-write')),
    );
    const ids = feeds.map((f) => f.body.conflicts.filter((e: any) => e.key === 'd1').map((e: any) => e.id));
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[2]).toEqual(ids[0]);
  });

  it('increments in every region are all counted, and a set is add-wins', async () => {
    await Promise.all(c.regions.flatMap((r) => [1, 2, 3].map(() => patch(r, 'profiles', 'p2', { incr: { visits: 1 } }))));
    await sameEverywhere('profiles', 'p2', (f) => f.visits === 9);
    await patch('us-east', 'carts', 'c1', { add: { items: ['apple'] } });
    await sameEverywhere('carts', 'c1', (f) => f.items?.includes('apple'));
    await Promise.all([patch('us-east', 'carts', 'c1', { remove: { items: ['apple'] } }), patch('ap-south', 'carts', 'c1', { add: { items: ['apple'] } })]);
    const body = await sameEverywhere('carts', 'c1', (f) => Array.isArray(f.items));
    expect(body.fields.items).toEqual(['apple']); // the concurrent add wins
  });

  it('a delete concurrent with an update follows the table policy', async () => {
    await patch('us-east', 'docs', 'd2', { set: { title: 'v1' } });
    await patch('us-east', 'carts', 'c2', { set: { note: 'v1' } });
    await sameEverywhere('docs', 'd2', (f) => f.title === 'v1');
    await sameEverywhere('carts', 'c2', (f) => f.note === 'v1');
    await Promise.all([c.http('us-east', 'DELETE', '/v1/tables/docs/rows/d2'), patch('ap-south', 'docs', 'd2', { set: { title: 'v2' } })]);
    await Promise.all([c.http('us-east', 'DELETE', '/v1/tables/carts/rows/c2'), patch('ap-south', 'carts', 'c2', { add: { items: ['pear'] } })]);
    // docs is delete-wins: gone everywhere. carts is update-wins: the concurrent add survives, alone.
    await c.eventually(() => Promise.all(c.regions.map((r) => row(r, 'docs', 'd2'))), (rs) => rs.every((r) => r.status === 404));
    const body = await sameEverywhere('carts', 'c2', (f) => Array.isArray(f.items));
    expect(body.fields).toEqual({ items: ['pear'] });
  });

  it('a session reads its own write in another region', async () => {
    const w = await patch('us-east', 'profiles', 'p3', { set: { name: 'Bo' } });
    const token = w.headers.get('tern-session');
    expect(token).toMatch(/^t1\./);
    const r = await c.http('ap-south', 'GET', '/v1/tables/profiles/rows/p3?consistency=session', undefined, { 'tern-session': token as string });
    expect(r.status).toBe(200);
    expect(r.body.fields.name).toBe('Bo');
  });

  it('large rows written during a partition all arrive after it heals', async () => {
    await c.wan('POST', '/v1/wan/partition', { isolate: 'ap-south' });
    const big = 'x'.repeat(600 * 1024);
    for (let i = 0; i < 60; i++) expect((await c.http('us-east', 'PUT', `/v1/tables/docs/rows/big${i}`, { fields: { title: `${i}${big}` } })).status).toBe(200);
    await c.wan('POST', '/v1/wan/heal');
    await c.eventually(() => row('ap-south', 'docs', 'big59'), (r) => r.status === 200, 60_000);
  }, 90_000);

  it('writes on both sides of a partition converge after it heals', async () => {
    await c.wan('POST', '/v1/wan/partition', { isolate: 'ap-south' });
    await patch('ap-south', 'profiles', 'p4', { incr: { visits: 5 }, set: { name: 'island' } });
    await patch('us-east', 'profiles', 'p4', { incr: { visits: 7 }, add: { tags: ['main'] } });
    await new Promise((r) => setTimeout(r, 500));
    const isolated = await row('eu-west', 'profiles', 'p4');
    expect(isolated.body.fields.visits).toBe(7); // ap-south's write cannot have arrived
    await c.wan('POST', '/v1/wan/heal');
    const body = await sameEverywhere('profiles', 'p4', (f) => f.visits === 12);
    expect(body.fields).toEqual({ name: 'island', tags: ['main'], visits: 12 });
  });
});
