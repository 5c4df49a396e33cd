/** The drill's figures from made-up request records: RTO windows, errors by code, time per stage. */
import { describe, expect, it } from 'vitest';
import { errorsByCode, longestGapMs, rtoMs, stageTimes, type Sent } from '../../src/drill/measure.js';

const at = (atMs: number, status: number, code: string | null = null, kind: 'async' | 'strong' = 'async', doneMs = atMs + 5): Sent => ({ kind, atMs, doneMs, status, code });

describe('drill figures', () => {
  it('RTO: the end of the last 1 s window after the fault below 99 % success', () => {
    const sent = [at(500, 200), at(1000, 503, 'NOT_READY'), at(1200, 200), at(2100, 503, 'NOT_READY'), at(2500, 200), at(3100, 200), at(3900, 200)];
    expect(rtoMs(sent, 'async', 1000)).toBe(2000); // windows [1000,2000) and [2000,3000) are bad
    expect(rtoMs(sent, 'strong', 1000)).toBe(0); // no strong requests
  });

  it('RTO is 0 when nothing failed after the fault, and null when the load never recovered', () => {
    expect(rtoMs([at(1000, 200), at(2500, 200)], 'async', 1000)).toBe(0);
    expect(rtoMs([at(1000, 200), at(2500, 0, 'UNREACHABLE')], 'async', 1000)).toBeNull();
  });

  it('the longest wait for an acknowledgement after the fault, a late success included', () => {
    const sent = [at(900, 200), at(1000, 200, null, 'strong', 2500), at(1100, 200, null, 'strong', 2600), at(2700, 200, null, 'strong', 2750)];
    expect(longestGapMs(sent, 'strong', 1000, 3000)).toBe(1500); // fault → first ack at 2500
    expect(longestGapMs(sent, 'async', 1000, 3000)).toBe(2000); // no async ack after the fault
  });

  it('counts errors by code, the most frequent first', () => {
    expect(errorsByCode([at(1, 503, 'FENCED'), at(2, 0, 'UNREACHABLE'), at(3, 503, 'FENCED'), at(4, 200), at(5, 500)])).toEqual([
      ['FENCED', 2],
      ['HTTP_500', 1],
      ['UNREACHABLE', 1],
    ]);
  });

  it('time in each stage, the last until the end', () => {
    expect(stageTimes([{ atMs: 0, stage: 'down' }, { atMs: 300, stage: 'catching-up' }, { atMs: 900, stage: 'write-ready' }, { atMs: 1000, stage: 'fenced' }, { atMs: 1100, stage: 'write-ready' }], 1500)).toEqual([
      ['down', 300],
      ['catching-up', 600],
      ['write-ready', 500],
      ['fenced', 100],
    ]);
  });
});
