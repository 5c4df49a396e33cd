/** The follower-reads checker against hand-made histories, wrong and right. */
import { describe, expect, it } from 'vitest';
import { checkFollowerReads, type AckedWrite, type FollowerRead } from '../../../src/sim/check/follower-reads.js';

const write = (process: number, key: string, index: number, okMs: number): AckedWrite => ({ process, key, index, okMs });
const read = (process: number, key: string, consistency: FollowerRead['consistency'], version: number, invokeMs: number, okMs: number, maxStalenessMs?: number): FollowerRead => ({
  process,
  key,
  consistency,
  version,
  invokeMs,
  okMs,
  region: 'eu-west',
  ...(maxStalenessMs !== undefined ? { maxStalenessMs } : {}),
});

describe('follower-reads checker', () => {
  it('passes reads within their bound and sessions that move forward', () => {
    const v = checkFollowerReads({
      writes: [write(1, 'r0', 5, 100), write(2, 'r0', 9, 900)],
      reads: [
        read(3, 'r0', 'bounded', 5, 1000, 1001, 500), // index 9 was acked only 100 ms before: may be missed
        read(3, 'r0', 'bounded', 9, 1500, 1501, 500),
        read(1, 'r0', 'session', 5, 200, 201),
        read(1, 'r0', 'session', 9, 1000, 1001),
      ],
    });
    expect(v).toMatchObject({ ok: true, checked: 4 });
  });

  it('fails a bounded read that misses a write acknowledged longer ago than its bound', () => {
    const v = checkFollowerReads({ writes: [write(1, 'r0', 5, 100), write(1, 'r0', 7, 200)], reads: [read(2, 'r0', 'bounded', 5, 800, 801, 500)] });
    expect(v.ok).toBe(false);
    expect(v.violations[0]).toContain('a write at index 7 was acknowledged at 200.0 ms');
  });

  it('fails a session read that does not show the client’s own write (read-your-writes)', () => {
    const v = checkFollowerReads({ writes: [write(1, 'r0', 7, 100)], reads: [read(1, 'r0', 'session', 3, 150, 160)] });
    expect(v.ok).toBe(false);
    expect(v.violations[0]).toContain('older than its own write at index 7');
  });

  it('fails a session read that goes back from what the client read before, strongly or not (monotonic reads)', () => {
    const afterStrong = checkFollowerReads({ writes: [], reads: [read(1, 'r0', 'strong', 8, 100, 110), read(1, 'r0', 'session', 6, 120, 130)] });
    expect(afterStrong.ok).toBe(false);
    const afterSession = checkFollowerReads({ writes: [], reads: [read(1, 'r0', 'session', 8, 100, 110), read(1, 'r0', 'session', 6, 120, 130)] });
    expect(afterSession.ok).toBe(false);
    expect(afterSession.violations[0]).toContain('older than version 8 it read before');
  });

  it('does not hold one client to another client’s session', () => {
    const v = checkFollowerReads({ writes: [write(1, 'r0', 7, 100)], reads: [read(2, 'r0', 'session', 3, 150, 160)] });
    expect(v.ok).toBe(true);
  });
});
