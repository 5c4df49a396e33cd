import { describe, it, expect } from 'vitest';
import { checkCounters } from '../../../src/sim/check/counters.js';
import type { RunRecord } from '../../../src/sim/history.js';
import { EU, History, US, healed, op, policy, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';
import type { Op } from '../../../src/core/model/op.js';

const tables = { t: policy({ fields: { n: 'counter' } }) };
const incr = (key?: string) => ({ body: { incr: { n: 1 } }, ...(key === undefined ? {} : { idempotencyKey: key }) });

/** One logical +1 with key 'r1': the first attempt times out, the retry lands in another region. */
function retried(ledger: readonly Op[]): RunRecord {
  const h = new History();
  const first = h.invoke(1, US, { f: 'write', table: 't', key: 'k', ...incr('r1') });
  h.info(first);
  h.write(1, EU, incr('r1'), { origin: EU, seq: 1 }, { retryOf: first });
  return healed(runRecord({ tables, ledger, history: h.events }));
}

describe('counters checker', () => {
  it('passes when ok increments count once and info increments at most once', () => {
    const h = new History();
    h.write(1, US, incr(), { origin: US, seq: 1 });
    h.info(h.invoke(2, EU, { f: 'write', table: 't', key: 'k', body: { incr: { n: 5 } } }));
    h.fail(h.invoke(3, EU, { f: 'write', table: 't', key: 'k', body: { incr: { n: 7 } } }), 'OVERLOADED');
    const landed = healed(runRecord({ tables, history: h.events, ledger: [op(US, 1, { incr: { n: 1 } }), op(EU, 1, { incr: { n: 5 } })] }));
    expect(checkCounters(landed)).toMatchObject({ ok: true, checked: 1 });
    const lost = healed(runRecord({ tables, history: h.events, ledger: [op(US, 1, { incr: { n: 1 } })] }));
    expect(checkCounters(lost).ok).toBe(true);
    expect(checkCounters(scenario())).toMatchObject({ ok: true, checked: 2 });
  });

  it('passes when a retried increment landed twice as copies of one identity', () => {
    const copies = [op(US, 1, { incr: { n: 1 }, idem: { key: 'r1' } }), op(EU, 1, { incr: { n: 1 }, idem: { key: 'r1' } })];
    expect(checkCounters(retried(copies)).ok).toBe(true);
  });

  it('fails when a retried increment is counted twice', () => {
    const twice = [op(US, 1, { incr: { n: 1 }, idem: { key: 'r1', digest: 'd1' } }), op(EU, 1, { incr: { n: 1 }, idem: { key: 'r1', digest: 'd2' } })];
    const v = checkCounters(retried(twice));
    expect(v.ok).toBe(false);
    expect(v.violations).toContain('counter t/k.n: region us-east has 2, outside [1, 1] allowed by 1 ok and 0 info logical increments (counted an increment more than once? retried: op 1)');
    expect(v.violations.join('\n')).toMatch(/idempotency key r1: one request was sent, but ops us-east.1, eu-west.1 carry 2 digests/);
  });

  it('fails when the final value is not the sum of the ledger increments', () => {
    const run = retried([op(EU, 1, { incr: { n: 1 }, idem: { key: 'r1' } })]);
    const finals = run.finals.map((s) => ({ ...s, rows: { t: [{ key: 'k', fields: { n: 0 }, version: '1.0.eu-west' }] } }));
    const v = checkCounters({ ...run, finals });
    expect(v.violations.join('\n')).toMatch(/counter t\/k.n: region us-east has 0 but the ledger's 1 increments \(1 distinct identities\) sum to 1/);
    expect(v.violations.join('\n')).toMatch(/outside \[1, 1\].*lost an acknowledged increment/);
  });

  it('fails when an acknowledged idempotent increment has no op in the ledger', () => {
    const v = checkCounters(retried([]));
    expect(v.ok).toBe(false);
    expect(v.violations.join('\n')).toMatch(/acknowledged increment op 1 \(process 1, idempotency key r1\) has no op in the ledger/);
  });

  it('fails when there is no final state to read the counter from', () => {
    expect(checkCounters({ ...scenario(), finals: [] }).violations[0]).toMatch(/counter t\/k.n: 2 logical increments but no final state/);
  });

  it('leaves counters that were reset or whose row was deleted to the final-state checker', () => {
    const h = new History();
    h.write(1, US, incr(), { origin: US, seq: 1 });
    const ledger = [op(US, 1, { incr: { n: 1 } }), op(EU, 1, { set: { n: 40 } })];
    expect(checkCounters(healed(runRecord({ tables, ledger, history: h.events })))).toMatchObject({ ok: true, checked: 0 });
    const deleted = [op(US, 1, { incr: { n: 1 } }), op(EU, 1, { del: true })];
    expect(checkCounters(healed(runRecord({ tables, ledger: deleted, history: h.events })))).toMatchObject({ ok: true, checked: 0 });
  });
});
