/** The membership table (src/core/strong/membership.ts): who may evict whom, and the bound an eviction decides. */
import { describe, expect, it } from 'vitest';
import { Membership } from '../../../src/core/strong/membership.js';

const evict = (region: string, by: string) => ({ t: 'evict' as const, region, by, wallMs: 0 });
const ack = (region: string, by: string, through: number) => ({ t: 'evict-ack' as const, region, by, through, wallMs: 0 });

describe('membership', () => {
  it('decides an eviction once every member acknowledged, through the largest holding', () => {
    const m = new Membership(['a', 'b', 'c']);
    expect(m.apply(1, evict('c', 'a')).changed).toBe(true);
    expect(m.eviction('c')?.through).toBeNull();
    m.apply(2, ack('c', 'a', 7));
    expect(m.eviction('c')?.through).toBeNull();
    m.apply(3, ack('c', 'b', 9));
    expect(m.eviction('c')).toMatchObject({ through: 9, decidedIndex: 3, acks: { a: 7, b: 9 } });
    expect(m.members()).toEqual(['a', 'b']);
  });

  it('refuses a region evicting itself, a proposal by an evicted region, evicting twice, and evicting the last member', () => {
    const m = new Membership(['a', 'b', 'c']);
    expect(m.apply(1, evict('a', 'a'))).toMatchObject({ changed: false, why: 'a region never evicts itself' });
    m.apply(2, evict('c', 'a'));
    expect(m.apply(3, evict('a', 'c')).changed).toBe(false);
    expect(m.apply(4, ack('c', 'c', 99)).changed).toBe(false);
    expect(m.apply(5, evict('c', 'b')).changed).toBe(false);
    m.apply(6, evict('b', 'a'));
    expect(m.apply(7, evict('a', 'b')).changed).toBe(false); // b is evicted: no say; and a is the last member
    expect(m.apply(8, evict('x', 'a')).changed).toBe(false);
  });

  it('a second eviction completes the first: the evicted member is no longer waited for, and its holding does not count', () => {
    const m = new Membership(['a', 'b', 'c', 'd']);
    m.apply(1, evict('d', 'a'));
    m.apply(2, ack('d', 'a', 3));
    m.apply(3, ack('d', 'c', 8)); // c holds more of d's ops than anyone, then goes away itself
    m.apply(4, ack('d', 'b', 4));
    expect(m.eviction('d')?.through).toBe(8);
    const n = new Membership(['a', 'b', 'c', 'd']);
    n.apply(1, evict('d', 'a'));
    n.apply(2, ack('d', 'a', 3));
    n.apply(3, ack('d', 'c', 8));
    n.apply(4, evict('b', 'a')); // b never acknowledged: evicting it decides d's eviction among a and c
    expect(n.eviction('d')?.through).toBe(8);
    expect(n.eviction('b')?.through).toBeNull();
  });

  it('survives a snapshot', () => {
    const m = new Membership(['a', 'b', 'c']);
    m.apply(1, evict('c', 'a'));
    m.apply(2, ack('c', 'a', 5));
    const n = new Membership(['a', 'b', 'c']);
    n.restore(m.snapshot());
    n.apply(3, ack('c', 'b', 2));
    expect(n.eviction('c')?.through).toBe(5);
    expect(n.version).toBeGreaterThan(0);
  });

  it('readmits a region once every member acknowledged and the region installed a snapshot taken after that', () => {
    const m = new Membership(['a', 'b', 'c']);
    m.apply(1, evict('c', 'a'));
    m.apply(2, ack('c', 'a', 5));
    m.apply(3, ack('c', 'b', 5));
    const readmit = { t: 'readmit' as const, region: 'c', by: 'c', evictionIndex: 1, wallMs: 0 };
    const rack = (by: string, stable: Record<string, number>) => ({ t: 'readmit-ack' as const, region: 'c', by, stable, wallMs: 0 });
    expect(m.apply(4, { ...readmit, by: 'a' }).changed).toBe(false); // only the region itself asks
    expect(m.apply(4, { ...readmit, evictionIndex: 9 }).changed).toBe(false); // of the eviction that was decided
    expect(m.apply(5, readmit).changed).toBe(true);
    expect(m.apply(6, rack('c', {})).changed).toBe(false); // installed before the members acknowledged: refused
    m.apply(7, rack('a', { a: 10, b: 3 }));
    expect(m.readmitJoin('c')).toBeNull();
    m.apply(8, rack('b', { a: 8, b: 4, c: 5 }));
    expect(m.readmitJoin('c')).toEqual({ a: 10, b: 4, c: 5 });
    expect(m.eviction('c')).toBeDefined(); // still out: it has not installed a snapshot
    expect(m.apply(9, rack('c', {})).changed).toBe(true);
    expect(m.eviction('c')).toBeUndefined();
    expect(m.readmitted('c')).toEqual({ region: 'c', index: 9, after: { a: 10, b: 4, c: 5 } });
    expect(m.members()).toEqual(['a', 'b', 'c']);
    // Evicted again later: the old readmission no longer counts.
    m.apply(10, evict('c', 'b'));
    expect(m.readmitted('c')).toBeUndefined();
  });
});
