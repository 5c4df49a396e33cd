import { describe, expect, it } from 'vitest';
import { checkFencing } from '../../../src/sim/check/fencing.js';
import { AP, EU, US } from './fixtures.js';
import { ack, facts, grant } from './region-facts.js';

// us-east holds its slot under epoch 1; eu-west takes it over (epoch 2) at 5000 ms; us-east gets it back (epoch 3) at 9000 ms.
const grants = [grant(US, 1, US, 100), grant(US, 2, EU, 5000), grant(US, 3, US, 9000), grant(EU, 1, EU, 100)];

describe('fencing checker', () => {
  it('passes when each epoch’s holder writes only before the next grant, one writer at a time', () => {
    const v = checkFencing(facts({ grants, guardedAcks: [ack(US, US, 1, 200), ack(US, US, 1, 3000), ack(EU, US, 2, 5200), ack(EU, US, 2, 8000), ack(US, US, 3, 9100), ack(EU, EU, 1, 4000)] }));
    expect(v.ok, v.violations.join('\n')).toBe(true);
    expect(v.checked).toBe(6);
  });

  it('fails when a region acknowledges a write under an epoch after a later one was granted to another region', () => {
    const v = checkFencing(facts({ grants, guardedAcks: [ack(US, US, 1, 200), ack(US, US, 1, 5100)] }));
    expect(v.ok).toBe(false);
    expect(v.violations[0]).toMatch(/^us-east acknowledged failover\/f\d+ \(us-east\.\d+\) under slot us-east epoch 1 at 5100\.0 ms, after slot us-east was granted to eu-west under epoch 2 at 5000\.0 ms$/);
  });

  it('fails when two regions acknowledge writes of one slot in overlapping intervals (even with no grant seen in between)', () => {
    const v = checkFencing(facts({ grants: [], guardedAcks: [ack(US, AP, 1, 100), ack(US, AP, 1, 900), ack(EU, AP, 2, 500)] }));
    expect(v.ok).toBe(false);
    expect(v.violations.some((m) => m.includes('two writers at once'))).toBe(true);
  });

  it('does not mind one region writing again under a later epoch of its own', () => {
    const v = checkFencing(facts({ grants: [grant(AP, 1, AP, 0), grant(AP, 2, AP, 1000)], guardedAcks: [ack(AP, AP, 1, 500), ack(AP, AP, 2, 1500), ack(AP, AP, 1, 999)] }));
    expect(v.ok, v.violations.join('\n')).toBe(true);
  });
});
