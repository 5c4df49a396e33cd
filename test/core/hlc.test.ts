import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareHlc, HybridClock, type Hlc } from '../../src/core/clock/hlc.js';

describe('hybrid logical clock', () => {
  it('now() is strictly increasing even when the physical clock stands still or goes back', () => {
    const c = new HybridClock('a', 500);
    const a = c.now(100);
    const b = c.now(100);
    const d = c.now(50);
    expect(compareHlc(a, b)).toBeLessThan(0);
    expect(compareHlc(b, d)).toBeLessThan(0);
    expect(d.wall).toBe(100);
  });

  it('a timestamp issued after receive() is greater than the received one (happens-before)', () => {
    const c = new HybridClock('b', 500);
    const remote: Hlc = { wall: 300, logical: 7, node: 'a' };
    const r = c.receive(remote, 100);
    expect(r.kind).toBe('accepted');
    expect(compareHlc(c.now(100), remote)).toBeGreaterThan(0);
  });

  it('receive() refuses a timestamp further ahead than the max offset, with a typed outcome, and keeps the clock', () => {
    const c = new HybridClock('b', 500);
    c.now(1000);
    const before = c.last;
    const r = c.receive({ wall: 1601, logical: 0, node: 'a' }, 1100);
    expect(r).toEqual({ kind: 'refused', aheadMs: 501 });
    expect(c.last).toEqual(before);
    expect(c.receive({ wall: 1600, logical: 0, node: 'a' }, 1100).kind).toBe('accepted');
  });

  it('never moves backwards over any sequence of local events and receives (property)', () => {
    const event = fc.oneof(
      fc.record({ k: fc.constant('now' as const), tick: fc.integer({ min: 0, max: 2000 }) }),
      fc.record({
        k: fc.constant('recv' as const),
        tick: fc.integer({ min: 0, max: 2000 }),
        wall: fc.integer({ min: 0, max: 3000 }),
        logical: fc.integer({ min: 0, max: 5 }),
        // Equal node ids on purpose: the tiebreak must still give a total order.
        node: fc.constantFrom('a', 'b'),
      }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const c = new HybridClock('a', 500);
        let last = c.last;
        for (const e of events) {
          if (e.k === 'now') {
            const t = c.now(e.tick);
            if (compareHlc(t, last) <= 0) return false;
          } else {
            const r = c.receive({ wall: e.wall, logical: e.logical, node: e.node }, e.tick);
            if (r.kind === 'accepted' && compareHlc(c.last, { wall: e.wall, logical: e.logical, node: e.node }) <= 0) return false;
            if (compareHlc(c.last, last) < 0) return false;
          }
          last = c.last;
        }
        return true;
      }),
    );
  });

  it('a restarted clock resumes from its persisted last timestamp', () => {
    const c = new HybridClock('a', 500);
    const t = c.now(5000);
    const restarted = new HybridClock('a', 500, c.last);
    expect(compareHlc(restarted.now(10), t)).toBeGreaterThan(0);
  });
});
