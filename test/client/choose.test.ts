/** choose.ts: the order of regions for one round of a call, from the health book alone. */
import { describe, expect, it } from 'vitest';
import { plan, serveRank } from '../../src/client/choose.js';
import type { RegionHealth, Stage } from '../../src/client/health.js';

function region(index: number, o: Partial<RegionHealth> = {}): RegionHealth & { index: number } {
  return { url: `http://${index}.test`, index, region: null, cluster: 'c', stage: 'write-ready', reason: null, checkedAt: 0, rttMs: 10, failures: 0, backoffUntil: 0, writesHeldUntil: 0, heldUntil: 0, foreign: false, ...o };
}
const urls = (...i: number[]) => i.map((n) => `http://${n}.test`);

describe('choosing regions', () => {
  it('ranks stages as docs/api.md "Stages" says', () => {
    const stages: Array<[Stage | null, string | null]> = [['write-ready', null], ['fenced', 'lease'], ['fenced', 'drain'], ['fenced', 'clock'], ['fenced', 'storage'], ['read-ready', 'lag'], ['catching-up', 'starting'], [null, null]];
    const table = stages.map(([s, r]) => [`${s}/${r}`, serveRank('read', s, r), serveRank('bounded-read', s, r), serveRank('write', s, r), serveRank('table', s, r)]);
    expect(table).toEqual([
      ['write-ready/null', 0, 0, 0, 0],
      ['fenced/lease', 0, 0, 1, 0],
      ['fenced/drain', 0, 0, 1, 0],
      ['fenced/clock', 0, 3, 3, 3],
      ['fenced/storage', 0, 3, 3, 3],
      ['read-ready/lag', 0, 0, 3, 0],
      ['catching-up/starting', 3, 3, 3, 0],
      ['null/null', 2, 2, 2, 2],
    ]);
  });

  it('writes: write-ready fastest first, then fenced (lease), then unknown; read-ready and catching-up left out', () => {
    const book = [region(0, { stage: 'read-ready', reason: 'lag', rttMs: 1 }), region(1, { stage: 'fenced', reason: 'lease', rttMs: 2 }), region(2, { stage: null, rttMs: null }), region(3, { rttMs: 30 }), region(4, { rttMs: 20 }), region(5, { stage: 'catching-up', reason: 'lag' })];
    expect(plan(book, 'write', 0, 'latency')).toEqual(urls(4, 3, 1, 2));
    expect(plan(book, 'write', 0, 'given')).toEqual(urls(3, 4, 1, 2));
    expect(plan(book, 'read', 0, 'latency')).toEqual(urls(0, 1, 4, 3, 2));
  });

  it('backoff: skipped unless every region is; Retry-After and other clusters: always', () => {
    const book = [region(0, { backoffUntil: 100 }), region(1, { heldUntil: 100 }), region(2, { foreign: true }), region(3, { writesHeldUntil: 100 })];
    expect(plan(book, 'read', 50, 'latency')).toEqual(urls(3));
    expect(plan(book, 'write', 50, 'latency')).toEqual(urls(0)); // every region left is in backoff
    expect(plan(book, 'write', 100, 'latency')).toEqual(urls(0, 1, 3));
  });

  it('a region not measured yet comes first among equals, so that it gets measured', () => {
    expect(plan([region(0, { rttMs: 5 }), region(1, { rttMs: null })], 'read', 0, 'latency')).toEqual(urls(1, 0));
  });
});
