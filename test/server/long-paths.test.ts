/** A key far past its limit gets the same 413 TOO_LARGE as a key just past it, not the router's raw 414 (first-day issue). */
import { describe, expect, it } from 'vitest';
import { buildApi } from '../../src/server/http-api.js';
import { fakeApiNode } from './fake-api-node.js';

describe('over-long path segments', () => {
  const app = buildApi(fakeApiNode({ code: 'TOO_LARGE', message: 'key is longer than 1024 bytes', field: 'key' }));

  it.each([5_000, 20_000])('a %i-character key is 413 TOO_LARGE naming the key', async (n) => {
    const r = await app.inject({ method: 'GET', url: `/v1/tables/t/rows/${'a'.repeat(n)}` });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ error: { code: 'TOO_LARGE', field: 'key' } });
    expect(r.body.length).toBeLessThan(300);
  });

  it('an over-long table name is 400 naming the table', async () => {
    const r = await app.inject({ method: 'PATCH', url: `/v1/tables/${'t'.repeat(5_000)}/rows/k`, payload: { set: { a: 1 } } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: { code: 'BAD_REQUEST', field: 'table' } });
  });
});
