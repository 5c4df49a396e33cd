/**
 * The strong state machine's transactions (docs/api.md, "Transactions": POST /v1/txn) and the
 * validation in front of them: compares, branches, atomicity, idempotency, table changes, claims,
 * snapshots.
 */
import { describe, expect, it } from 'vitest';
import { validatePolicy, type TablePolicy } from '../../../src/core/schema/policy.js';
import { StrongState } from '../../../src/core/strong/state-machine.js';
import { parseTxnBody } from '../../../src/core/strong/txn-body.js';
import type { ApplyResult, StrongCommand } from '../../../src/core/strong/types.js';

function policy(input: unknown): TablePolicy {
  const p = validatePolicy(input, { regions: ['a', 'b', 'c'] });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

const tables: Record<string, TablePolicy> = {
  accounts: policy({ mode: 'strong', fields: { balance: 'counter', tags: 'set' } }),
  claims: policy({ mode: 'strong' }),
  profiles: policy({ mode: 'async' }),
};

class Machine {
  readonly state = new StrongState(tables, 60_000);
  index = 0;
  wallMs = 1000;

  txn(body: unknown, idem: { key: string; digest: string } | null = null): ApplyResult {
    const txn = parseTxnBody(body, this.state.tables());
    if (!txn.ok) throw new Error(txn.error.message);
    return this.run({ t: 'txn', txn: txn.value, idem, wallMs: this.wallMs }) as ApplyResult;
  }

  run(cmd: StrongCommand | null): ApplyResult | null {
    return this.state.apply(++this.index, cmd);
  }
}

const transfer = (from: string, to: string, amount: number): unknown => ({
  compare: [{ table: 'accounts', key: from, field: 'balance', op: '>=', value: amount }],
  success: [
    { table: 'accounts', key: from, incr: { balance: -amount } },
    { table: 'accounts', key: to, incr: { balance: amount } },
  ],
  failure: [{ table: 'accounts', key: from, get: true }],
});

describe('transactions', () => {
  it('runs the success branch when every compare holds, the failure branch otherwise', () => {
    const m = new Machine();
    m.txn({ success: [{ table: 'accounts', key: 'a', set: { balance: 100 } }] });
    const ok = m.txn(transfer('a', 'b', 30));
    expect(ok).toMatchObject({ ok: true, outcome: { succeeded: true, results: [{ key: 'a', fields: { balance: 70 } }, { key: 'b', fields: { balance: 30 } }] } });
    const refused = m.txn(transfer('a', 'b', 71));
    expect(refused).toMatchObject({ ok: true, outcome: { succeeded: false, results: [{ key: 'a', fields: { balance: 70 }, version: '2' }] } });
    expect(m.state.get('accounts', 'b')).toEqual({ fields: { balance: 30 }, version: 2 });
  });

  it('compares on existence, version and values; an absent field compares as null', () => {
    const m = new Machine();
    const claim = (key: string, owner: string): unknown => ({
      compare: [{ table: 'claims', key, op: 'missing' }],
      success: [{ table: 'claims', key, set: { owner } }],
      failure: [{ table: 'claims', key, get: true }],
    });
    expect(m.txn(claim('x', 'p1'))).toMatchObject({ outcome: { succeeded: true } });
    expect(m.txn(claim('x', 'p2'))).toMatchObject({ outcome: { succeeded: false, results: [{ fields: { owner: 'p1' } }] } });
    const v = m.state.get('claims', 'x')?.version as number;
    expect(m.txn({ compare: [{ table: 'claims', key: 'x', op: '==', version: v }], success: [{ table: 'claims', key: 'x', set: { owner: 'p3' } }] })).toMatchObject({ outcome: { succeeded: true } });
    expect(m.txn({ compare: [{ table: 'claims', key: 'x', op: '==', version: v }], success: [{ table: 'claims', key: 'x', set: { owner: 'p4' } }] })).toMatchObject({ outcome: { succeeded: false } });
    expect(m.txn({ compare: [{ table: 'claims', key: 'nope', op: '==', version: 0 }, { table: 'claims', key: 'x', field: 'gone', op: '==', value: null }] })).toMatchObject({ outcome: { succeeded: true } });
    expect(m.txn({ compare: [{ table: 'claims', key: 'x', field: 'owner', op: '<', value: 5 }] })).toMatchObject({ outcome: { succeeded: false } }); // string vs number
    expect(m.txn({ compare: [{ table: 'accounts', key: 'q', field: 'tags', op: '==', value: ['b', 'a', 'a'] }], success: [{ table: 'accounts', key: 'q', add: { tags: ['a', 'b'] } }] })).toMatchObject({ outcome: { succeeded: false } });
    m.txn({ success: [{ table: 'accounts', key: 'q', add: { tags: ['b', 'a'] } }] });
    expect(m.txn({ compare: [{ table: 'accounts', key: 'q', field: 'tags', op: '==', value: ['b', 'a', 'a'] }] })).toMatchObject({ outcome: { succeeded: true } });
  });

  it('is atomic: an op that fails (counter overflow) leaves every row as it was', () => {
    const m = new Machine();
    m.txn({ success: [{ table: 'accounts', key: 'big', set: { balance: Number.MAX_SAFE_INTEGER } }] });
    const r = m.txn({ success: [{ table: 'accounts', key: 'other', set: { balance: 1 } }, { table: 'accounts', key: 'big', incr: { balance: 1 } }] });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', field: 'success[1].incr.balance' } });
    expect(m.state.get('accounts', 'other')).toBeUndefined();
  });

  it('applies ops in order within a branch (a get sees the earlier write; delete then write recreates)', () => {
    const m = new Machine();
    const r = m.txn({
      success: [
        { table: 'claims', key: 'k', set: { v: 1 } },
        { table: 'claims', key: 'k', get: true },
        { table: 'claims', key: 'k', delete: true },
        { table: 'claims', key: 'k', get: true },
      ],
    });
    expect(r).toMatchObject({ ok: true, outcome: { results: [{ fields: { v: 1 } }, { fields: { v: 1 } }, null, null] } });
    expect(m.state.get('claims', 'k')).toBeUndefined();
  });

  it('executes a transaction with an idempotency key at most once and answers retries with the first answer', () => {
    const m = new Machine();
    m.txn({ success: [{ table: 'accounts', key: 'a', set: { balance: 100 } }] });
    const idem = { key: 'k1', digest: 'd1' };
    const first = m.txn(transfer('a', 'b', 10), idem);
    const retry = m.txn(transfer('a', 'b', 10), idem);
    expect(retry).toEqual({ ...(first as object), replayed: true });
    expect(m.state.get('accounts', 'a')?.fields).toEqual({ balance: 90 });
    expect(m.txn(transfer('a', 'b', 10), { key: 'k1', digest: 'other' })).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_MISMATCH' } });
    // After the retention window the key may be used again.
    m.wallMs += 60_001;
    m.run({ t: 'lease', op: 'drain', slot: 'a', wallMs: m.wallMs });
    expect(m.txn(transfer('a', 'b', 10), idem)).toMatchObject({ ok: true, replayed: false });
  });

  it('table changes: creation, safe alteration, and refused alteration, decided at apply time', () => {
    const m = new Machine();
    expect(m.run({ t: 'table', table: 'orders', policy: policy({ mode: 'strong' }), wallMs: 1 })).toMatchObject({ ok: true, kind: 'table' });
    expect(m.run({ t: 'table', table: 'orders', policy: policy({ mode: 'strong', fields: { n: 'counter' } }), wallMs: 1 })).toMatchObject({ ok: true });
    expect(m.run({ t: 'table', table: 'orders', policy: policy({ mode: 'async' }), wallMs: 1 })).toMatchObject({ ok: false, error: { field: 'mode' } });
    expect(m.run({ t: 'table', table: 'orders', policy: policy({ mode: 'strong', fields: { n: 'set' } }), wallMs: 1 })).toMatchObject({ ok: false, error: { field: 'fields.n' } });
    expect(m.state.tables()['orders']?.fields).toEqual({ n: 'counter' });
  });

  it('claims: first holder keeps the value; a release gives back what the key claimed at or below its fence, except what it keeps', () => {
    const m = new Machine();
    const c = (key: string, value = 'a@x'): StrongCommand => ({ t: 'claim', table: 'users', field: 'email', value, key, wallMs: 1 });
    const release = (key: string, upTo: number, keep: string | null = null): StrongCommand => ({ t: 'release', table: 'users', field: 'email', key, keep, upTo, wallMs: 1 });
    expect(m.run(c('u1'))).toMatchObject({ granted: true }); // index 1
    expect(m.run(c('u1'))).toMatchObject({ granted: true }); // index 2: claimed again, fenced higher
    expect(m.run(c('u2'))).toMatchObject({ granted: false, holder: 'u1' });
    expect(m.run(release('u2', 100))).toMatchObject({ released: 0 }); // not the holder: no effect
    expect(m.run(c('u2'))).toMatchObject({ granted: false });
    expect(m.run(release('u1', 1))).toMatchObject({ released: 0 }); // u1 claimed it again at 2, after the fence
    expect(m.run(c('u1', 'b@x'))).toMatchObject({ granted: true }); // index 7
    expect(m.run(release('u1', 7, 'b@x'))).toMatchObject({ released: 1 }); // a@x goes, b@x is kept
    expect(m.state.claimHolder('users', 'email', 'b@x')).toBe('u1');
    expect(m.run(c('u2'))).toMatchObject({ granted: true });
    // The claims survive a snapshot, with their indexes.
    const copy = new StrongState(tables, 60_000);
    copy.restore(m.state.snapshot());
    expect(copy.apply(m.index + 1, release('u1', 6))).toMatchObject({ released: 0 });
    expect(copy.apply(m.index + 2, release('u1', 7))).toMatchObject({ released: 1 });
    expect(copy.claimHolder('users', 'email', 'b@x')).toBeUndefined();
  });

  it('a forwarded command is applied once however many later forwards come between its copies, for the retention time', () => {
    // Found in review: a window of the last 4,096 sequence numbers was shorter than a retry at
    // high rates. Copies are now recognised by time.
    const m = new Machine();
    const fwd = (seq: number, wallMs: number): StrongCommand => ({ t: 'lease', op: 'handback', slot: 'b', wallMs, from: { origin: 'b.1', seq } });
    expect(m.run(fwd(1, 1000))).not.toBeNull();
    for (let seq = 2; seq < 10_000; seq++) m.run(fwd(seq, 1000 + seq));
    expect(m.run(fwd(1, 11_000))).toBeNull(); // a late copy of seq 1: skipped
    const copy = new StrongState(tables, 60_000);
    copy.restore(m.state.snapshot());
    expect(copy.apply(m.index + 1, fwd(2, 11_001))).toBeNull();
    // Past the retention, the memory of seq 1 goes (no copy can be that late).
    expect(m.run(fwd(20_000, 1000 + 130_000))).not.toBeNull();
    expect(m.run(fwd(1, 1000 + 130_001))).not.toBeNull();
  });

  it('a snapshot restores the same state, and replayed entries are skipped', () => {
    const m = new Machine();
    m.txn({ success: [{ table: 'accounts', key: 'a', set: { balance: 5, tags: ['x'] } }] }, { key: 'i', digest: 'd' });
    m.run({ t: 'lease', op: 'drain', slot: 'b', wallMs: 2000 });
    const copy = new StrongState(tables, 60_000);
    copy.restore(structuredClone(m.state.snapshot()));
    expect(copy.snapshot()).toEqual(m.state.snapshot());
    expect(copy.apply(1, null)).toBeNull();
    expect(copy.index).toBe(2);
  });
});

describe('transaction bodies: bad input is refused with the field named', () => {
  const cases: Array<[string, unknown, string, string]> = [
    ['not an object', [], 'BAD_REQUEST', 'body'],
    ['empty', {}, 'BAD_REQUEST', 'body'],
    ['unknown key', { compare: [], sucess: [] }, 'BAD_REQUEST', 'sucess'],
    ['too many ops', { success: Array.from({ length: 129 }, (_, i) => ({ table: 'claims', key: `k${i}`, get: true })) }, 'TOO_LARGE', 'body'],
    ['unknown table', { success: [{ table: 'nope', key: 'k', get: true }] }, 'NO_SUCH_TABLE', 'success[0].table'],
    ['async table', { success: [{ table: 'profiles', key: 'k', get: true }] }, 'BAD_REQUEST', 'success[0].table'],
    ['missing key', { success: [{ table: 'claims', get: true }] }, 'BAD_REQUEST', 'success[0].key'],
    ['compare without a field', { compare: [{ table: 'claims', key: 'k', op: '==', value: 1 }] }, 'BAD_REQUEST', 'compare[0].field'],
    ['compare with a bad op', { compare: [{ table: 'claims', key: 'k', field: 'f', op: '=', value: 1 }] }, 'BAD_REQUEST', 'compare[0].op'],
    ['ordering on a set field', { compare: [{ table: 'accounts', key: 'k', field: 'tags', op: '<', value: 1 }] }, 'BAD_REQUEST', 'compare[0].op'],
    ['counter compared with a string', { compare: [{ table: 'accounts', key: 'k', field: 'balance', op: '==', value: 'x' }] }, 'BAD_REQUEST', 'compare[0].value'],
    ['incr of an lww field', { success: [{ table: 'claims', key: 'k', incr: { v: 1 } }] }, 'BAD_REQUEST', 'success[0].incr.v'],
    ['compare of a field the table does not declare', { compare: [{ table: 'accounts', key: 'k', field: 'balanse', op: '==', value: 1 }] }, 'BAD_REQUEST', 'compare[0].field'],
    ['a write of a field the table does not declare', { success: [{ table: 'accounts', key: 'k', set: { balanse: 1 } }] }, 'BAD_REQUEST', 'success[0].set.balanse'],
    ['bad op shape', { failure: [{ table: 'claims', key: 'k', get: true, delete: true }] }, 'BAD_REQUEST', 'failure[0].get'],
  ];
  for (const [name, body, code, field] of cases) {
    it(name, () => {
      const r = parseTxnBody(body, tables);
      expect(r.ok).toBe(false);
      if (!r.ok) expect({ code: r.error.code, field: r.error.field }).toEqual({ code, field });
    });
  }
});
