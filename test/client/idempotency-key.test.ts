/** One idempotency key per logical write, on every attempt of it in every region; a new one for the next write. */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { FakeTime, errorBody, fakeNodes, json } from './fake.js';

const A = 'http://a.test';
const B = 'http://b.test';
const C = 'http://c.test';

describe('idempotency keys', () => {
  it('every attempt of one write carries the same key, across regions and rounds; the next write a new one', async () => {
    const time = new FakeTime();
    let bAnswers = 0;
    let cAnswers = 0;
    const f = fakeNodes(time, {
      [A]: { region: 'us-east', down: true },
      // eu-west: first a quorum timeout that may have committed, then the answer.
      [B]: { region: 'eu-west', answer: () => (bAnswers++ === 0 ? json(504, errorBody('QUORUM_TIMEOUT', { mayHaveCommitted: true }), 'eu-west') : undefined) },
      // ap-south: busy, come back in 1 s.
      [C]: { region: 'ap-south', answer: () => (cAnswers++ === 0 ? json(503, errorBody('OVERLOADED'), 'ap-south', { 'retry-after': '1' }) : undefined) },
    });
    const db = connect({ regions: [A, B, C], fetch: f.fetch, now: time.now, timers: time.timersApi, random: () => 0.5, probeIntervalMs: 0 });
    // Round 1: A unreachable, B 504, C 503 with Retry-After 1. Round 2, 1 s later: A (still down), then B answers.
    await expect(time.settle(db.txn({ success: [{ table: 't', key: 'k', incr: { n: 1 } }] }), 50)).resolves.toBeTruthy();
    const first = f.calls();
    expect(first.map((s) => [s.origin, s.at - 1_000_000])).toEqual([
      [A, 0],
      [B, 0],
      [C, 0],
      [A, 1000],
      [B, 1000],
    ]);
    const key = first[0]?.key;
    expect(key).toBeTruthy();
    expect(first.every((s) => s.key === key)).toBe(true);

    f.seen.length = 0;
    await time.settle(db.table('t').patch('k', { incr: { n: 1 } }), 50);
    const second = f.calls();
    expect(second.length).toBeGreaterThanOrEqual(1);
    expect(second.every((s) => s.key === second[0]?.key)).toBe(true);
    expect(second[0]?.key).not.toBe(key);
  });

  it('a 504 of a write with a key goes on to the next region with the same key; the key given to txn() is used', async () => {
    const time = new FakeTime();
    const f = fakeNodes(time, {
      [A]: { region: 'us-east', answer: () => json(504, errorBody('QUORUM_TIMEOUT', { mayHaveCommitted: true }), 'us-east') },
      [B]: { region: 'eu-west' },
    });
    const db = connect({ regions: [A, B], fetch: f.fetch, now: time.now, timers: time.timersApi, probeIntervalMs: 0 });
    await db.txn({ success: [{ table: 't', key: 'k', set: { v: 1 } }] }, { idempotencyKey: 'move-1' });
    expect(f.calls().map((s) => [s.origin, s.key])).toEqual([
      [A, 'move-1'],
      [B, 'move-1'],
    ]);
  });

  it('reads carry no key', async () => {
    const time = new FakeTime();
    const f = fakeNodes(time, { [A]: { region: 'us-east' } });
    const db = connect({ regions: [A], fetch: f.fetch, now: time.now, timers: time.timersApi, probeIntervalMs: 0 });
    await db.table('t').get('k');
    await db.table('t').scan();
    expect(f.calls().map((s) => s.key)).toEqual([null, null]);
  });
});
