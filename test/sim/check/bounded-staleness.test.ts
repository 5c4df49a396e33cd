import { describe, it, expect } from 'vitest';
import { checkBoundedStaleness } from '../../../src/sim/check/bounded-staleness.js';
import type { VersionVector } from '../../../src/core/clock/version-vector.js';
import { EU, History, US, op, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

const ledger = [op(US, 1, { wall: 10 }), op(US, 2, { wall: 150 })];

/** A write acked at 11 and another at 151, then a bounded read (100 ms) invoked at 200. */
function history(vector: VersionVector): History {
  const h = new History();
  h.write(1, US, { body: { set: { a: 1 } } }, { origin: US, seq: 1 }, { at: 10, okAt: 11 });
  h.write(1, US, { body: { set: { a: 2 } } }, { origin: US, seq: 2 }, { at: 150, okAt: 151 });
  h.read(2, EU, { consistency: 'bounded', maxStalenessMs: 100 }, vector, null, { at: 200, okAt: 205 });
  return h;
}

describe('bounded-staleness checker', () => {
  it('passes when a bounded read reflects every write acknowledged before its bound', () => {
    expect(checkBoundedStaleness(runRecord({ ledger, history: history({ [US]: 1 }).events }))).toMatchObject({ ok: true, checked: 1 });
    expect(checkBoundedStaleness(scenario())).toMatchObject({ ok: true, checked: 1 });
  });

  it('fails when a bounded read misses a write older than its bound', () => {
    const v = checkBoundedStaleness(runRecord({ ledger, history: history({}).events }));
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual(['op 3 (process 2, eu-west) bounded read (max 100 ms) of t/k invoked at 200 ms misses write us-east.1 (op 1) acknowledged at 11 ms; vector {}']);
  });

  it('skips reads whose window overlaps a period of excessive clock offset, and says so', () => {
    const clocks = { maxClockOffsetMs: 250, offsetExceeded: [{ fromMs: 120, toMs: 130 }] };
    const v = checkBoundedStaleness(runRecord({ ledger, clocks, history: history({}).events }));
    expect(v).toMatchObject({ ok: true, checked: 0, notes: ['1 bounded reads skipped: their window overlaps a period when clock offsets exceeded 250 ms'] });
    const earlier = { maxClockOffsetMs: 250, offsetExceeded: [{ fromMs: 0, toMs: 50 }] };
    expect(checkBoundedStaleness(runRecord({ ledger, clocks: earlier, history: history({}).events })).ok).toBe(false);
  });
});
