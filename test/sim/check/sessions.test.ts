import { describe, it, expect } from 'vitest';
import { checkSessions } from '../../../src/sim/check/sessions.js';
import { EU, History, US, op, row, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

const ledger = [op(US, 1, { set: { a: 1 } }), op(EU, 1, { set: { a: 2 } })];
const r = row('k', {}, 'v');

describe('sessions checker', () => {
  it('passes when session reads see the token, the process’s own writes and its earlier reads', () => {
    const h = new History();
    h.write(1, US, { body: { set: { a: 1 } } }, { origin: US, seq: 1 });
    h.read(1, EU, { consistency: 'session' }, { [US]: 1, [EU]: 1 }, r, { session: { [US]: 1 } });
    h.read(1, US, { consistency: 'causal' }, { [US]: 1, [EU]: 1 }, r, { session: { [US]: 1, [EU]: 1 } });
    expect(checkSessions(runRecord({ ledger, history: h.events }))).toMatchObject({ ok: true, checked: 2 });
    expect(checkSessions(scenario())).toMatchObject({ ok: true, checked: 4 });
  });

  it('fails when a read’s vector is below the session token the client sent', () => {
    const h = new History();
    h.read(2, EU, { consistency: 'session' }, { [EU]: 1 }, r, { session: { [US]: 1 } });
    const v = checkSessions(runRecord({ ledger, history: h.events }));
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual(['op 1 (process 2, eu-west) session read of t/k at vector {eu-west:1} is below the session token it sent {us-east:1}']);
  });

  it('fails when a read misses the process’s own acknowledged write', () => {
    const h = new History();
    h.write(3, US, { body: { set: { a: 1 } } }, { origin: US, seq: 1 });
    h.read(3, EU, { consistency: 'causal' }, { [EU]: 1 }, r);
    expect(checkSessions(runRecord({ ledger, history: h.events })).violations).toEqual([
      "op 2 (process 3, eu-west) causal read of t/k at vector {eu-west:1} misses the process's own earlier write us-east.1 (op 1): read-your-writes",
    ]);
  });

  it('fails when reads go backwards (monotonic reads)', () => {
    const h = new History();
    h.read(4, US, { consistency: 'session' }, { [US]: 1, [EU]: 1 }, r);
    h.read(4, EU, { consistency: 'session' }, { [EU]: 1 }, r);
    expect(checkSessions(runRecord({ ledger, history: h.events })).violations[0]).toMatch(/op 2 \(process 4, eu-west\) .* is not at least the vector \{eu-west:1,us-east:1\} of its earlier read op 1: monotonic reads/);
  });

  it('does not hold eventual reads or other processes to a session', () => {
    const h = new History();
    h.write(5, US, { body: { set: { a: 1 } } }, { origin: US, seq: 1 });
    h.read(5, EU, { consistency: 'eventual' }, {}, null);
    h.read(6, EU, { consistency: 'session' }, {}, null);
    expect(checkSessions(runRecord({ ledger, history: h.events }))).toMatchObject({ ok: true, checked: 1 });
  });
});
