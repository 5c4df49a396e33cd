import { describe, expect, it } from 'vitest';
import { checkContainment } from '../../../src/sim/check/containment.js';
import { AP, EU, US } from './fixtures.js';
import { facts, mark } from './region-facts.js';

const settleMs = 1000;

describe('fault-containment checker', () => {
  it('passes a region demoted while, or shortly after, it had a fault of its own', () => {
    const v = checkContainment(
      facts({
        settleMs,
        stages: [mark(US, 0, 'catching-up', 'starting'), mark(US, 100, 'write-ready'), mark(US, 2000, 'down'), mark(US, 2500, 'catching-up', 'starting'), mark(US, 3200, 'write-ready'), mark(EU, 0, 'write-ready'), mark(EU, 4000, 'fenced', 'clock'), mark(EU, 4600, 'write-ready')],
        afflictions: [
          { region: US, fromMs: 2000, toMs: 2500, what: 'down' },
          { region: EU, fromMs: 3900, toMs: 3900, what: 'clock set' },
        ],
      }),
    );
    expect(v.ok, v.violations.join('\n')).toBe(true);
    expect(v.checked).toBe(5);
  });

  it('passes starting up (before the first write-ready) and a lease fence (a quorum matter, not judged here)', () => {
    const v = checkContainment(facts({ settleMs, stages: [mark(AP, 0, 'catching-up', 'starting'), mark(AP, 900, 'read-ready', 'lag'), mark(AP, 1000, 'write-ready'), mark(AP, 5000, 'fenced', 'lease')] }));
    expect(v.ok, v.violations.join('\n')).toBe(true);
  });

  it('fails a healthy region demoted for lag while another region has a bad clock', () => {
    const v = checkContainment(
      facts({
        settleMs,
        stages: [mark(US, 0, 'write-ready'), mark(US, 3000, 'catching-up', 'lag'), mark(AP, 0, 'write-ready'), mark(AP, 2900, 'fenced', 'clock')],
        afflictions: [{ region: AP, fromMs: 2900, toMs: 100_000, what: 'clock off' }],
      }),
    );
    expect(v.violations).toEqual(["us-east was catching-up (lag) at 3000.0 ms with no fault of its own since 0 ms (another region's fault demoted it)"]);
  });

  it('excuses a catch-up after its own fault however long it takes, but not a demotion once it was back for the settle time', () => {
    const cut = { region: EU, fromMs: 1800, toMs: 2200, what: 'cut off' };
    // Demoted from its own fault until 5000 (others were slow to send what it missed): its own catch-up.
    const slow = checkContainment(facts({ settleMs, stages: [mark(EU, 0, 'write-ready'), mark(EU, 2000, 'read-ready', 'lag'), mark(EU, 5000, 'write-ready')], afflictions: [cut] }));
    expect(slow.ok, slow.violations.join('\n')).toBe(true);
    // Back at 2500 and ready for 1500 ms (more than the settle time), then demoted again: not its fault.
    const again = checkContainment(facts({ settleMs, stages: [mark(EU, 0, 'write-ready'), mark(EU, 2000, 'read-ready', 'lag'), mark(EU, 2500, 'write-ready'), mark(EU, 4000, 'catching-up', 'lag')], afflictions: [cut] }));
    expect(again.violations).toEqual(["eu-west was catching-up (lag) at 4000.0 ms with no fault of its own since 3200 ms (another region's fault demoted it)"]);
  });

  it('judges the fault phase only: the heal restarts everyone', () => {
    const v = checkContainment(facts({ settleMs, faultsEndMs: 2000, stages: [mark(US, 0, 'write-ready'), mark(US, 2500, 'catching-up', 'starting')] }));
    expect(v.ok).toBe(true);
  });
});
