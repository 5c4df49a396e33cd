/**
 * Eviction from causal stability through the strong log (src/core/strong/membership.ts,
 * src/core/replica/eviction.ts): a region unheard past the retention window is evicted by the
 * others, who then collect their logs without it; a region never evicts itself, and eviction never
 * needs the evicted region.
 */
import { describe, expect, it } from 'vitest';
import { get } from '../../../src/core/clock/version-vector.js';
import { RegionCluster } from './cluster.js';

const retention = { idempotencyRetentionMs: 2_000, logRetentionMs: 2_000, conflictRetentionMs: 4_000 };
const write = (key: string) => ({ api: 'async' as const, request: { kind: 'write' as const, table: 'free', key, body: { set: { v: key } } } });

describe('eviction', () => {
  it('a region unheard past the window is evicted; the others collect their logs without it', () => {
    const c = new RegionCluster({ replica: retention });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    // c's last writes: some reach a member before the cut, some do not.
    for (let i = 0; i < 5; i++) c.submit('c', write(`c${i}`));
    c.run(15);
    c.isolate('c');
    for (let i = 5; i < 8; i++) c.submit('c', write(`c${i}`));
    let n = 0;
    for (let t = 0; t < 6_000; t += 100) {
      c.submit(t % 200 === 0 ? 'a' : 'b', write(`k${n++}`));
      c.run(100);
    }
    const m = c.core('a').strong.state.membership;
    expect(m.eviction('c')?.through).not.toBeNull();
    expect(m.eviction('a')).toBeUndefined();
    expect(m.eviction('b')).toBeUndefined();
    // Stability moved on without c: a's and b's writes are stable and their logs trimmed.
    for (const r of ['a', 'b']) {
      const st = c.core(r).replica.status();
      expect(get(st.stable, 'a')).toBeGreaterThan(20);
      expect(get(st.stable, 'b')).toBeGreaterThan(20);
      expect((c.disks.get(r) as { trimmedThrough(o: string): number }).trimmedThrough('a')).toBeGreaterThan(20);
    }
    // Every member holds c's ops exactly through the decided bound; what c wrote after the cut is beyond it.
    const through = m.eviction('c')?.through ?? -1;
    expect(through).toBeGreaterThanOrEqual(5);
    expect(through).toBeLessThan(get(c.core('c').replica.vector, 'c'));
    for (const r of ['a', 'b']) expect(get(c.core(r).replica.vector, 'c')).toBe(through);
    // Both members acknowledged; c had no say.
    expect(Object.keys(m.eviction('c')?.acks ?? {}).sort()).toEqual(['a', 'b']);
  });

  it('without eviction (a window longer than the absence) nothing is collected while a region is away', () => {
    const c = new RegionCluster({ replica: { ...retention, idempotencyRetentionMs: 60_000, logRetentionMs: 60_000, conflictRetentionMs: 60_000 } });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    c.isolate('c');
    for (let i = 0; i < 40; i++) {
      c.submit('a', write(`k${i}`));
      c.run(100);
    }
    expect(c.core('a').strong.state.membership.size).toBe(0);
    expect(get(c.core('a').replica.status().stable, 'a')).toBeLessThan(5);
  });

  it('an update the evicted region made concurrently with a delete never resurrects the row, whether or not a member received it', () => {
    const c = new RegionCluster({ replica: retention });
    c.until(() => c.allWriteReady(), 20_000, 'all write-ready');
    for (const k of ['held', 'orphan']) c.submit('a', write(k));
    c.run(500);
    // c updates both rows; only b receives the update of `held` before c is cut off; nobody gets `orphan`'s.
    c.cut.add('c|a');
    c.submit('c', write('held'));
    c.run(100);
    c.cut.add('c|b');
    c.submit('c', write('orphan'));
    c.isolate('c');
    // a deletes both (delete-wins); then a and b go on writing past the window.
    for (const k of ['held', 'orphan']) c.submit('a', { api: 'async', request: { kind: 'delete', table: 'free', key: k } });
    for (let i = 0; i < 60; i++) {
      c.submit('a', write(`k${i}`));
      c.run(100);
    }
    expect(c.core('a').strong.state.membership.eviction('c')?.through).not.toBeNull();
    // c comes back and offers its orphan to everyone: the members refuse it.
    c.heal();
    c.run(3_000);
    for (const r of ['a', 'b']) {
      for (const k of ['held', 'orphan']) expect(c.core(r).replica.peekRow('free', k), `${r} ${k}`).toBeNull();
    }
    // c's op on `held` survived the eviction (b held it), c's op on `orphan` did not.
    const through = c.core('a').strong.state.membership.eviction('c')?.through ?? -1;
    expect(get(c.core('a').replica.vector, 'c')).toBe(through);
    expect(get(c.core('c').replica.vector, 'c')).toBe(through + 1);
  });
});
