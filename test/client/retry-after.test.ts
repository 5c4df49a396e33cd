/** Retry-After on 503 and 429: the region is not tried again before it passes; a call with no region left waits for it. */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { retryAfterMs } from '../../src/client/backoff.js';
import { FakeTime, errorBody, fakeNodes, json, type FakeNode, type Seen } from './fake.js';

const A = 'http://a.test';
const B = 'http://b.test';

function setup(nodes: Record<string, FakeNode>, extra: { deadlineMs?: number; maxAttempts?: number } = {}) {
  const time = new FakeTime();
  const f = fakeNodes(time, nodes);
  const db = connect({ regions: Object.keys(nodes), fetch: f.fetch, now: time.now, timers: time.timersApi, random: () => 0.5, probeIntervalMs: 0, ...extra });
  return { time, f, db, calls: () => f.calls().map((s) => [s.origin, s.method, s.at - 1_000_000]) };
}

/** us-east refuses writes with 503 FENCED and Retry-After: 2 (the write lease moves to it in 2 s). */
const fencedWrites = (req: Seen) => (req.method === 'GET' ? undefined : json(503, errorBody('FENCED', { reason: 'lease', regions: [], expected: { region: 'us-east', inMs: 1500 } }), 'us-east', { 'retry-after': '2' }));

describe('Retry-After', () => {
  it('a region is not sent writes again before its FENCED Retry-After passes (reads still go to it)', async () => {
    const { time, db, calls } = setup({ [A]: { region: 'us-east', answer: fencedWrites }, [B]: { region: 'eu-west' } });
    await expect(db.table('t').put('k', { v: 1 })).resolves.toMatchObject({ fields: { from: 'eu-west' } });
    time.t += 1999;
    await db.table('t').put('k', { v: 2 });
    await db.table('t').get('k');
    time.t += 1;
    await db.table('t').put('k', { v: 3 });
    expect(calls()).toEqual([
      [A, 'PUT', 0],
      [B, 'PUT', 0],
      [B, 'PUT', 1999],
      [A, 'GET', 1999],
      [A, 'PUT', 2000],
      [B, 'PUT', 2000],
    ]);
  });

  it('any other 503 or 429 with Retry-After holds the region for every call; an HTTP date works too', async () => {
    let answers = 0;
    const busy = () => (answers++ === 0 ? json(503, errorBody('OVERLOADED'), 'us-east', { 'retry-after': new Date(1_000_000 + 3000).toUTCString() }) : undefined);
    const { time, db, calls } = setup({ [A]: { region: 'us-east', answer: busy }, [B]: { region: 'eu-west' } });
    time.t = 1_000_000;
    await db.table('t').get('k');
    time.t += 2999;
    await db.table('t').get('k');
    await db.table('t').put('k', { v: 1 });
    time.t += 1;
    await db.table('t').get('k');
    expect(calls().map((c) => c[0])).toEqual([A, B, B, B, A]);
  });

  it('with no region left, the call waits for the first Retry-After to pass and tries again', async () => {
    let answers = 0;
    const tooSoon = () => (answers++ < 2 ? json(429, errorBody('TOO_SOON'), 'us-east', { 'retry-after': '1' }) : undefined);
    const { time, f, db, calls } = setup({ [A]: { region: 'us-east', answer: tooSoon } });
    const row = time.settle(db.table('t').patch('k', { incr: { n: 1 } }), 100);
    await expect(row).resolves.toMatchObject({ fields: { from: 'us-east' } });
    expect(calls()).toEqual([
      [A, 'PATCH', 0],
      [A, 'PATCH', 1000],
      [A, 'PATCH', 2000],
    ]);
    const keys = new Set(f.calls().map((s) => s.key));
    expect(keys.size).toBe(1);
  });

  it('does not wait past the deadline: the answer is thrown at once', async () => {
    const { f, db } = setup({ [A]: { region: 'us-east', answer: fencedWrites } }, { deadlineMs: 1500 });
    await expect(db.table('t').put('k', { v: 1 })).rejects.toMatchObject({ code: 'FENCED', status: 503 });
    expect(f.calls()).toHaveLength(1);
    // The next call makes no attempt: the only region is held past its deadline.
    await expect(db.table('t').put('k', { v: 1 })).rejects.toMatchObject({ code: 'NO_REGION', status: 0, retryable: true });
    expect(f.calls()).toHaveLength(1);
  });

  it('stops after maxAttempts', async () => {
    const always = () => json(503, errorBody('OVERLOADED'), 'us-east', { 'retry-after': '1' });
    const { time, f, db } = setup({ [A]: { region: 'us-east', answer: always } }, { maxAttempts: 3 });
    await expect(time.settle(db.table('t').get('k'), 100)).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(f.calls()).toHaveLength(3);
  });

  it('reads both forms of the header', () => {
    expect(retryAfterMs('2', 0)).toBe(2000);
    expect(retryAfterMs(' 0 ', 0)).toBe(0);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(new Date(1_000).toUTCString(), 4_000)).toBe(0);
    expect(retryAfterMs('86400', 0)).toBe(300_000); // capped
    expect(retryAfterMs('soon', 0)).toBeNull();
    expect(retryAfterMs('1.5', 0)).toBeNull();
    expect(retryAfterMs(null, 0)).toBeNull();
  });
});
