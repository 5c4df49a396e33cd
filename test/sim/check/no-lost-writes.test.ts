import { describe, it, expect } from 'vitest';
import { checkNoLostWrites } from '../../../src/sim/check/no-lost-writes.js';
import { EU, History, US, healed, op, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

describe('no-lost-writes checker', () => {
  it('passes when every acknowledged write is in the ledger and every final vector covers it', () => {
    const v = checkNoLostWrites(scenario());
    expect(v.ok).toBe(true);
    expect(v.checked).toBe(8);
  });

  it('fails on an acknowledged write that no region committed', () => {
    const h = new History();
    h.write(4, EU, { body: { set: { a: 1 } } }, { origin: EU, seq: 1 });
    const v = checkNoLostWrites(healed(runRecord({ history: h.events, ledger: [op(US, 1)] })));
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual(['op 1 (process 4, eu-west) write of t/k acknowledged as eu-west.1: no region committed eu-west.1 (lost acknowledged write)']);
  });

  it('fails when a final state does not cover an acknowledged write', () => {
    const run = scenario();
    const finals = run.finals.map((s) => (s.region === US ? { ...s, vector: { [US]: 5, [EU]: 2 } } : s));
    const v = checkNoLostWrites({ ...run, finals });
    expect(v.violations).toEqual([
      "op 10 (process 3, eu-west) write of comments/r1 acknowledged as eu-west.3: region us-east's final vector {eu-west:2,us-east:5} does not cover it (lost acknowledged write)",
    ]);
  });

  it('fails when the acknowledged dot is an op on another row', () => {
    const h = new History();
    h.write(1, US, { key: 'other', body: { set: { a: 1 } } }, { origin: US, seq: 1 });
    expect(checkNoLostWrites(healed(runRecord({ history: h.events, ledger: [op(US, 1)] }))).violations[0]).toMatch(/in the ledger is on t\/k/);
  });

  it('fails when there is no final state to hold the acknowledged writes', () => {
    const v = checkNoLostWrites({ ...scenario(), finals: [] });
    expect(v.ok).toBe(false);
    expect(v.violations[0]).toMatch(/8 acknowledged writes but no final state/);
  });
});
