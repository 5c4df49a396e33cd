import { describe, expect, it } from 'vitest';
import { checkClockGuard } from '../../../src/sim/check/clock-guard.js';
import { EU, US } from './fixtures.js';
import { facts, mark, served } from './region-facts.js';

// us-east's clock is 350 ms ahead from 1000 to 3000 ms; the grace is 600 ms.
const jump = { region: US, fromMs: 1000, toMs: 3000, offsetMs: 350 };
const fencedInTime = [mark(US, 0, 'write-ready'), mark(US, 1000, 'catching-up', 'starting'), mark(US, 1200, 'fenced', 'clock'), mark(US, 3100, 'write-ready')];

describe('clock-guard checker', () => {
  it('passes when the node fences for the clock within the grace and takes no writes until it is back', () => {
    const v = checkClockGuard(facts({ clockJumps: [jump], stages: fencedInTime, served: [served(US, 'write', 'write-ready', null, 1300), served(US, 'read', 'fenced', 'clock', 2000), served(EU, 'write', 'write-ready', null, 2000), served(US, 'write', 'write-ready', null, 3200)] }));
    // The write admitted at 1300 ms came before the grace ran out (1600 ms): allowed.
    expect(v.ok, v.violations.join('\n')).toBe(true);
    expect(v.checked).toBe(1);
  });

  it('fails when the node stays write-ready past the grace', () => {
    const v = checkClockGuard(facts({ clockJumps: [jump], stages: [mark(US, 0, 'write-ready')] }));
    expect(v.violations).toEqual(["us-east's clock +350 ms off from 1000 to 3000 ms: it was write-ready at 1600.0 ms, past the 600 ms grace"]);
  });

  it('fails when the node acknowledges a write admitted after the grace', () => {
    const v = checkClockGuard(facts({ clockJumps: [jump], stages: fencedInTime, served: [served(US, 'write', 'fenced', 'clock', 2500)] }));
    expect(v.ok).toBe(false);
    expect(v.violations[0]).toContain('it acknowledged a write (async write t/k) admitted at 2500.0 ms');
  });

  it('fails when an op created after the grace carries the skewed clock', () => {
    const v = checkClockGuard(facts({ clockJumps: [jump], stages: fencedInTime, created: [{ region: US, dot: { origin: US, seq: 4 }, timeMs: 2000, hlcAheadMs: 340 }, { region: US, dot: { origin: US, seq: 5 }, timeMs: 2100, hlcAheadMs: 20 }] }));
    expect(v.violations).toEqual(["us-east's clock +350 ms off from 1000 to 3000 ms: op us-east.4 created at 2000.0 ms carries an HLC 340 ms off true time"]);
  });

  it('does not judge jumps shorter than the grace', () => {
    expect(checkClockGuard(facts({ clockJumps: [{ ...jump, toMs: 1500 }], stages: [mark(US, 0, 'write-ready')] })).checked).toBe(0);
  });
});
