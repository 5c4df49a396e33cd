/**
 * The region core's front door with no HTTP at all: client calls go in, one reply per call comes
 * out, and the core alone chooses the engine by the table's mode and moves the session token.
 */
import { describe, expect, it } from 'vitest';
import type { CallAnswer } from '../../../src/core/node/messages.js';
import type { ClientCall } from '../../../src/core/node/client-call.js';
import { RegionCluster } from './cluster.js';

function ready(): RegionCluster {
  const c = new RegionCluster();
  c.until(() => c.allWriteReady(), 10_000, 'every region write-ready');
  return c;
}

type Reply = CallAnswer['reply'];
const call = (c: RegionCluster, region: string, x: ClientCall): Reply => {
  const r = c.answer(c.call(region, x));
  if (r === undefined) throw new Error(`no answer to ${JSON.stringify(x)} in ${region}`);
  return r;
};
const ok = (r: Reply) => {
  if (!r.ok) throw new Error(`refused: ${r.error.code} ${r.error.message}`);
  return r;
};
/** The strong log index a session token carries (after `!`, base 36), 0 when none. */
const strongPart = (token: string | undefined): number => {
  const bang = token?.indexOf('!') ?? -1;
  return bang < 0 ? 0 : parseInt((token as string).slice(bang + 1), 36);
};

describe('the front door of the region core', () => {
  it('an async and a strong write go in as the same call; the core picks the engine and one token carries both', () => {
    const c = ready();
    const asyncWrite = ok(call(c, 'a', { kind: 'patch', table: 'free', key: 'k', body: { set: { v: 1 } } }));
    expect(asyncWrite.result).toMatchObject({ kind: 'row', row: { key: 'k', fields: { v: 1 } } });
    expect(asyncWrite.session).toMatch(/^t1\./);
    expect(strongPart(asyncWrite.session)).toBe(0);

    // The strong write carries the async part forward and adds the log index it committed at.
    const strongWrite = ok(call(c, 'a', { kind: 'patch', table: 'accounts', key: 'acct', body: { incr: { balance: 5 } }, session: asyncWrite.session }));
    expect(strongWrite.result).toMatchObject({ kind: 'row', row: { fields: { balance: 5 } } });
    const index = strongPart(strongWrite.session);
    expect(index).toBeGreaterThan(0);
    expect(strongWrite.session?.split('!')[0]).toBe(asyncWrite.session);

    // An async read keeps the strong part as it was; a strong read never moves it back.
    const asyncRead = ok(call(c, 'b', { kind: 'get', table: 'free', key: 'k', consistency: 'session', session: strongWrite.session }));
    expect(asyncRead.result).toMatchObject({ kind: 'row', row: { fields: { v: 1 } } });
    expect(strongPart(asyncRead.session)).toBe(index);
    const strongRead = ok(call(c, 'c', { kind: 'get', table: 'accounts', key: 'acct', session: asyncRead.session }));
    expect(strongRead.result).toMatchObject({ kind: 'row', row: { fields: { balance: 5 } } });
    expect(strongPart(strongRead.session)).toBeGreaterThanOrEqual(index);
  });

  it('a read that finds nothing is NOT_FOUND, and its session still moves forward', () => {
    const c = ready();
    const w = ok(call(c, 'a', { kind: 'patch', table: 'free', key: 'x', body: { set: { v: 1 } } }));
    const r = call(c, 'a', { kind: 'get', table: 'free', key: 'absent', session: w.session });
    expect(r).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', message: 'no row absent in free (absent or deleted)' } });
    expect(r.session).toBe(w.session);
    const s = call(c, 'a', { kind: 'get', table: 'accounts', key: 'absent' });
    expect(s).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(strongPart(s.session)).toBeGreaterThan(0);
  });

  it('a delete, a scan, a transaction, a table change, the feed and the status are calls too', () => {
    const c = ready();
    ok(call(c, 'a', { kind: 'put', table: 'free', key: 'r1', body: { fields: { v: 1 } } }));
    expect(ok(call(c, 'a', { kind: 'delete', table: 'free', key: 'r1' })).result).toEqual({ kind: 'deleted', key: 'r1' });
    expect(ok(call(c, 'a', { kind: 'scan', table: 'free' })).result).toMatchObject({ kind: 'rows', rows: [], next: null });
    const txn = ok(call(c, 'a', { kind: 'txn', body: { compare: [], success: [{ table: 'accounts', key: 't', incr: { balance: 1 } }] } }));
    expect(txn.result).toMatchObject({ kind: 'txn', succeeded: true });
    const table = ok(call(c, 'b', { kind: 'put-table', table: 'late', body: { mode: 'async' } }));
    expect(table.result).toMatchObject({ kind: 'table', table: 'late', policy: { mode: 'async' } });
    expect(ok(call(c, 'a', { kind: 'conflicts' })).result).toMatchObject({ kind: 'conflicts', conflicts: [] });
    // The status is answered in the very step that takes it.
    const id = c.call('c', { kind: 'status' });
    expect(c.answers.get(id)).toMatchObject({ ok: true, result: { kind: 'status', status: { stage: { stage: 'write-ready' } } } });
  });

  it('a drain is a call; its reply says whether anything changed', () => {
    const c = ready();
    expect(ok(call(c, 'a', { kind: 'drain', region: 'b' })).result).toMatchObject({ kind: 'drain', region: 'b', changed: true });
    expect(ok(call(c, 'a', { kind: 'drain', region: 'b' })).result).toMatchObject({ kind: 'drain', region: 'b', changed: false });
  });

  it('malformed calls are refused naming the field, and nothing is written', () => {
    const c = ready();
    const refusals: Array<[ClientCall, string]> = [
      [{ kind: 'patch', table: 'free', key: 'bad', body: { set: { v: 1 } }, session: 't1!#' }, 'session'],
      [{ kind: 'patch', table: 'accounts', key: 'bad', body: { incr: { balance: 1 } }, idempotencyKey: 7 }, 'idempotencyKey'],
      [{ kind: 'patch', table: 'free', key: 'bad', body: { set: { v: 1 } }, idempotencyKey: ['k'] }, 'idempotencyKey'],
      [{ kind: 'get', table: 'free', key: 'bad', consistency: 3 }, 'consistency'],
      [{ kind: 'put-table', table: '9lives', body: { mode: 'async' } }, 'table'],
      [{ kind: 'drain', region: 'b', force: 'yes' }, 'force'],
    ];
    for (const [x, field] of refusals) expect(call(c, 'a', x), JSON.stringify(x)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', field } });
    for (const table of ['free', 'accounts']) expect(call(c, 'a', { kind: 'get', table, key: 'bad' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(c.core('a').tables()['9lives']).toBeUndefined();
    expect(c.lease('a', 'b')?.drained).toBe(false);
  });
});
