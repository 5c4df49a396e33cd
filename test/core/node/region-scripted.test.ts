/**
 * Scripted interaction tests of the region core (in the style of raft-scripted.test.ts): a script
 * of actions on three deterministic cores, and after each, every region's stage and its view of
 * the write-lease slots as a transcript. Each line reads
 *   region stage(reason) | slot:holder#epoch[ drained] ...
 * Run vitest with -u to regenerate after a deliberate change, and read the diff.
 */
import { describe, expect, it } from 'vitest';
import { RegionCluster, regions } from './cluster.js';

function transcript(c: RegionCluster): string {
  return regions
    .map((r) => {
      const { stage, reason } = c.core(r).stage;
      const slots = c
        .core(r)
        .status()
        .leases.map((l) => `${l.region}:${l.holder ?? '-'}#${l.epoch}${l.drained ? ' drained' : ''}`)
        .join(' ');
      return `${r} ${stage}${reason === null ? '' : `(${reason})`} | ${slots}`;
    })
    .join('\n');
}

const ready = (): RegionCluster => {
  const c = new RegionCluster();
  c.until(() => c.allWriteReady(), 10_000, 'every region write-ready');
  c.run(500);
  return c;
};

describe('region core interactions', () => {
  it('starts catching up, measures clocks, takes its own slot, and is write-ready', () => {
    const c = new RegionCluster();
    expect(transcript(c)).toMatchInlineSnapshot(`
      "a catching-up(starting) | a:-#0 b:-#0 c:-#0
      b catching-up(starting) | a:-#0 b:-#0 c:-#0
      c catching-up(starting) | a:-#0 b:-#0 c:-#0"
    `);
    c.until(() => c.allWriteReady(), 10_000, 'every region write-ready');
    c.run(500);
    expect(transcript(c)).toMatchInlineSnapshot(`
      "a write-ready | a:a#1 b:b#1 c:c#1
      b write-ready | a:a#1 b:b#1 c:c#1
      c write-ready | a:a#1 b:b#1 c:c#1"
    `);
  });

  it('a region cut off loses its slot to the next in failover order, and gets it back after it heals', () => {
    const c = ready();
    c.isolate('c');
    // Past the lease: c stops writing guarded rows by its own clock; the majority takes c's slot over.
    c.until(() => c.core('a').status().leases.find((l) => l.region === 'c')?.holder !== 'c', 10_000, 'c’s slot taken over');
    c.run(500);
    expect(transcript(c)).toMatchInlineSnapshot(`
      "a write-ready | a:a#1 b:b#1 c:a#2
      b write-ready | a:a#1 b:b#1 c:a#2
      c fenced(lease) | a:a#1 b:b#1 c:c#1"
    `);
    c.heal();
    c.until(() => c.allWriteReady() && c.lease('a', 'c')?.holder === 'c' && c.lease('c', 'c')?.holder === 'c', 20_000, 'c back with its slot');
    c.run(500);
    expect(transcript(c)).toMatchInlineSnapshot(`
      "a write-ready | a:a#1 b:b#1 c:c#3
      b write-ready | a:a#1 b:b#1 c:c#3
      c write-ready | a:a#1 b:b#1 c:c#3"
    `);
  });

  it('a drain moves the slot away and fences the drained region for guarded rows; an undrain hands it back', () => {
    const c = ready();
    expect(c.admin('a', 'drain', 'b')).toMatchObject({ ok: true, changed: true });
    c.run(1000);
    expect(transcript(c)).toMatchInlineSnapshot(`
      "a write-ready | a:a#1 b:a#2 drained c:c#1
      b fenced(drain) | a:a#1 b:a#2 drained c:c#1
      c write-ready | a:a#1 b:a#2 drained c:c#1"
    `);
    c.run(2000); // past leaseMs: an undrain right after a drain is refused TOO_SOON
    expect(c.admin('c', 'undrain', 'b')).toMatchObject({ ok: true, changed: true });
    c.until(() => c.allWriteReady() && c.lease('b', 'b')?.holder === 'b', 10_000, 'b holds its slot again');
    c.run(500);
    expect(transcript(c)).toMatchInlineSnapshot(`
      "a write-ready | a:a#1 b:b#3 c:c#1
      b write-ready | a:a#1 b:b#3 c:c#1
      c write-ready | a:a#1 b:b#3 c:c#1"
    `);
  });

  it('a clock stepped far off fences only its own region; the others stay write-ready', () => {
    const c = ready();
    c.wallOffsetMs.set('c', 60_000);
    c.until(() => c.core('c').stage.stage === 'fenced', 10_000, 'c fenced for its clock');
    c.run(500);
    expect(transcript(c)).toMatchInlineSnapshot(`
      "a write-ready | a:a#1 b:b#1 c:c#1
      b write-ready | a:a#1 b:b#1 c:c#1
      c fenced(clock) | a:a#1 b:b#1 c:c#1"
    `);
    c.wallOffsetMs.set('c', 0);
    c.until(() => c.allWriteReady(), 20_000, 'c trusted again');
    c.run(500);
    expect(transcript(c)).toMatchInlineSnapshot(`
      "a write-ready | a:a#1 b:b#1 c:c#1
      b write-ready | a:a#1 b:b#1 c:c#1
      c write-ready | a:a#1 b:b#1 c:c#1"
    `);
  });
});
