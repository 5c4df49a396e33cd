/** The SDK's `token` option: sent as a bearer token with every call; a 401 or 403 is thrown at once, never tried in another region. */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { FakeTime, errorBody, fakeNodes, json } from './fake.js';

const A = 'http://a.test';
const B = 'http://b.test';

describe('the token option', () => {
  it('every call carries Authorization: Bearer <token>; UNAUTHENTICATED and FORBIDDEN are not retried elsewhere', async () => {
    const time = new FakeTime();
    const auth: Array<string | null> = [];
    const f = fakeNodes(time, {
      [A]: { region: 'us-east', answer: () => json(403, errorBody('FORBIDDEN'), 'us-east') },
      [B]: { region: 'eu-west' },
    });
    const fetch = (async (input: URL | string | Request, init?: RequestInit) => {
      if (!String(input).endsWith('/readyz')) auth.push(new Headers(init?.headers).get('authorization'));
      return f.fetch(input, init);
    }) as typeof globalThis.fetch;
    const db = connect({ regions: [A, B], fetch, token: 'alice.secret', order: 'given', now: time.now, timers: time.timersApi, random: () => 0.5, probeIntervalMs: 0 });
    await expect(time.settle(db.table('t').patch('k', { set: { v: 1 } }), 50)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(f.calls().map((c) => c.origin)).toEqual([A]);
    expect(auth).toEqual(['Bearer alice.secret']);
  });
});
