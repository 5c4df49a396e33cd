import { describe, expect, it } from 'vitest';
import { checkStages } from '../../../src/sim/check/stages.js';
import { EU, US } from './fixtures.js';
import { facts, served } from './region-facts.js';

describe('staged-rejoin checker', () => {
  it('passes reads from read-ready and fenced nodes, and writes from write-ready and lease-fenced ones', () => {
    const v = checkStages(facts({ served: [served(US, 'read', 'read-ready', 'lag'), served(US, 'read', 'fenced', 'clock'), served(EU, 'bounded-read', 'write-ready', null), served(EU, 'write', 'write-ready', null), served(EU, 'write', 'fenced', 'lease')] }));
    expect(v.ok, v.violations.join('\n')).toBe(true);
    expect(v.checked).toBe(5);
  });

  it('fails on a read served while catching up', () => {
    const v = checkStages(facts({ served: [served(US, 'read', 'catching-up', 'lag', 42)] }));
    expect(v.violations).toEqual(['us-east served a read (async read t/k) admitted at 42.0 ms in stage catching-up (lag)']);
  });

  it('fails on a write served by a read-ready node, and on one served while fenced for the clock', () => {
    const v = checkStages(facts({ served: [served(US, 'write', 'read-ready', 'lag'), served(EU, 'write', 'fenced', 'clock')] }));
    expect(v.ok).toBe(false);
    expect(v.violations).toHaveLength(2);
  });

  it('fails on a bounded read served while fenced for the clock', () => {
    expect(checkStages(facts({ served: [served(US, 'bounded-read', 'fenced', 'clock')] })).ok).toBe(false);
  });
});
