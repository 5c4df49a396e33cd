/** The SDK follows 421 WRONG_REGION once, to the home's URL, with the same idempotency key (first-day issue). */
import { describe, expect, it } from 'vitest';
import { connect, TernClientError } from '../../src/client/index.js';

interface Seen {
  readonly url: string;
  readonly method: string;
  readonly key: string | null;
}

/** Two regions behind fake URLs: us-east answers every write 421 (the row lives in `home`), eu-west serves it. */
function fakeRegions(home: string, homeAlsoRefuses = false) {
  const seen: Seen[] = [];
  const regionAt: Record<string, string> = { 'http://a.test': 'us-east', 'http://b.test': 'eu-west' };
  const json = (status: number, body: unknown, region: string) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'tern-region': region } });
  const fetch = (async (input: URL | string | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const region = regionAt[url.origin] as string;
    const method = init?.method ?? 'GET';
    seen.push({ url: url.href, method, key: new Headers(init?.headers).get('idempotency-key') });
    if (url.pathname === '/livez') return json(200, { status: 'ok', region }, region);
    if (region !== home || homeAlsoRefuses) return json(421, { error: { code: 'WRONG_REGION', message: `row homed in ${home}`, retryable: false, home } }, region);
    return json(200, { key: 'k', fields: { v: 1 }, version: '1' }, region);
  }) as typeof globalThis.fetch;
  return { seen, fetch };
}

describe('421 WRONG_REGION', () => {
  it('a write is sent once more, to the home region, under the same idempotency key', async () => {
    const f = fakeRegions('eu-west');
    const db = connect({ regions: ['http://a.test', 'http://b.test'], fetch: f.fetch });
    await expect(db.table('owned').patch('k', { set: { v: 1 } })).resolves.toMatchObject({ fields: { v: 1 } });
    const writes = f.seen.filter((s) => s.method === 'PATCH');
    expect(writes.map((w) => new URL(w.url).origin)).toEqual(['http://a.test', 'http://b.test']);
    expect(writes[0]?.key).toBeTruthy();
    expect(writes[1]?.key).toBe(writes[0]?.key);
  });

  it('follows only once: a second 421 is the answer', async () => {
    const f = fakeRegions('eu-west', true);
    const db = connect({ regions: ['http://a.test', 'http://b.test'], fetch: f.fetch });
    const err = await db.table('owned').patch('k', { set: { v: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TernClientError);
    expect(err).toMatchObject({ code: 'WRONG_REGION', home: 'eu-west' });
    expect(f.seen.filter((s) => s.method === 'PATCH')).toHaveLength(2);
  });

  it('a home outside the configured regions: the 421 is the answer, nothing else is tried', async () => {
    const f = fakeRegions('ap-south');
    const db = connect({ regions: ['http://a.test', 'http://b.test'], fetch: f.fetch });
    await expect(db.table('owned').patch('k', { set: { v: 1 } })).rejects.toMatchObject({ code: 'WRONG_REGION', home: 'ap-south' });
    expect(f.seen.filter((s) => s.method === 'PATCH')).toHaveLength(1);
  });
});
