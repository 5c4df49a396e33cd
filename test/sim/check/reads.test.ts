import { describe, it, expect } from 'vitest';
import { checkReads } from '../../../src/sim/check/reads.js';
import { EU, History, US, op, row, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

const ledger = [op(US, 1, { wall: 1, set: { a: 1 } }), op(US, 2, { wall: 2, set: { a: 2 } }), op(EU, 1, { deps: { [US]: 2 }, wall: 3, key: 'gone', del: true })];

describe('reads checker', () => {
  it('passes when every read returned the reference row at its vector', () => {
    const h = new History();
    h.read(1, US, {}, { [US]: 1 }, row('k', { a: 1 }, '1.0.us-east'));
    h.read(1, US, {}, { [US]: 2 }, row('k', { a: 2 }, '2.0.us-east'));
    h.read(2, EU, { key: 'gone' }, { [US]: 2, [EU]: 1 }, null);
    const v = checkReads(runRecord({ ledger, history: h.events }));
    expect(v).toMatchObject({ ok: true, checked: 3 });
    expect(checkReads(scenario()).checked).toBeGreaterThan(3);
  });

  it('fails on a stale read: the row is older than the vector it reports', () => {
    const h = new History();
    h.read(7, EU, { consistency: 'session' }, { [US]: 2 }, row('k', { a: 1 }, '1.0.us-east'));
    const v = checkReads(runRecord({ ledger, history: h.events }));
    expect(v.ok).toBe(false);
    expect(v.violations[0]).toBe(
      'op 1 (process 7, eu-west) read t/k (session) at vector {us-east:2}: returned {"fields":{"a":1},"key":"k","version":"1.0.us-east"} but the reference has {"fields":{"a":2},"key":"k","version":"2.0.us-east"}',
    );
  });

  it('fails when a read shows a row the reference does not have, or hides one it has', () => {
    const h = new History();
    h.read(1, EU, { key: 'gone' }, { [US]: 2, [EU]: 1 }, row('gone', {}, '3.0.eu-west'));
    h.read(1, EU, {}, { [US]: 2 }, null);
    const v = checkReads(runRecord({ ledger, history: h.events }));
    expect(v.violations).toHaveLength(2);
    expect(v.violations[0]).toMatch(/read t\/gone .* but the reference has no such row/);
    expect(v.violations[1]).toMatch(/read t\/k .* returned no row but the reference has/);
  });

  it('fails on a read from the future: its vector covers an op no region committed', () => {
    const h = new History();
    h.read(3, US, {}, { [US]: 3 }, row('k', { a: 2 }, '2.0.us-east'));
    const v = checkReads(runRecord({ ledger, history: h.events }));
    expect(v.violations[0]).toMatch(/op 1 \(process 3, us-east\) read t\/k .* covers us-east\.3, which no region committed \(read from the future\)/);
  });

  it('skips strong reads and failed reads', () => {
    const h = new History();
    h.read(1, US, { consistency: 'strong' }, {}, row('k', { a: 9 }, 'x'));
    h.fail(h.invoke(1, US, { f: 'read', table: 't', key: 'k', consistency: 'eventual' }), 'NOT_READY');
    expect(checkReads(runRecord({ ledger, history: h.events }))).toMatchObject({ ok: true, checked: 0 });
  });
});
