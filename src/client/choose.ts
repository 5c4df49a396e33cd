/**
 * Where to send a call: the order of the configured regions for one round of attempts, from the
 * health book (docs/api.md, "The client SDK"). Pure: time comes in as `now`.
 */
import { heldUntil, type Access, type RegionHealth, type Stage } from './health.js';

export type Order = 'latency' | 'given';

/**
 * How well a region in `stage` (with `reason`) serves a call of kind `access`, from its last
 * /readyz (docs/api.md, "Stages"): 0 serves it; 1 serves it unless the write is guarded (`fenced`
 * for `lease` or `drain`: the client cannot tell whether a write is guarded); 2 unknown (no
 * /readyz answer yet); 3 does not serve it. A region `fenced` for its `storage` (its disk is full)
 * serves reads, but neither bounded reads, writes nor table changes.
 */
export function serveRank(access: Access, stage: Stage | null, reason: string | null): 0 | 1 | 2 | 3 {
  if (stage === null) return 2;
  const clockFenced = stage === 'fenced' && reason === 'clock';
  const storageFenced = stage === 'fenced' && reason === 'storage';
  switch (access) {
    case 'read':
      return stage === 'catching-up' ? 3 : 0;
    case 'bounded-read':
      return stage === 'catching-up' || clockFenced || storageFenced ? 3 : 0;
    case 'table':
      return clockFenced || storageFenced ? 3 : 0;
    case 'write':
      if (stage === 'write-ready') return 0;
      return stage === 'fenced' && !clockFenced && !storageFenced ? 1 : 3;
  }
}

/**
 * The URLs to try, best first, for a call of kind `access` at `now`:
 *
 * - never a region of another cluster, nor one whose Retry-After for this kind has not passed;
 * - regions in backoff only when every region left is;
 * - regions whose last /readyz says they do not serve the call only when no region left may
 *   (their answer is newer than the probe, and a node's 503 says why);
 * - then by rank (serves, serves unguarded writes, unknown), and within a rank, when `order` is
 *   `latency`, regions not yet measured first (so that each gets measured: with probes this is a
 *   moment at the start, without them one call each), then by measured round trip; on ties, and
 *   always when `order` is `given`, in the order given.
 */
export function plan(regions: ReadonlyArray<RegionHealth & { readonly index: number }>, access: Access, now: number, order: Order): string[] {
  let left = regions.filter((r) => !r.foreign && heldUntil(r, access) <= now);
  if (left.some((r) => r.backoffUntil <= now)) left = left.filter((r) => r.backoffUntil <= now);
  let ranked = left.map((r) => ({ r, rank: serveRank(access, r.stage, r.reason) }));
  if (ranked.some((x) => x.rank < 3)) ranked = ranked.filter((x) => x.rank < 3);
  // Not yet measured sorts first (-1), so that every region gets measured once.
  const rtt = (r: RegionHealth) => (order !== 'latency' ? 0 : r.rttMs === null ? -1 : r.rttMs);
  ranked.sort((a, b) => a.rank - b.rank || compareRtt(rtt(a.r), rtt(b.r)) || a.r.index - b.r.index);
  return ranked.map((x) => x.r.url);
}

function compareRtt(a: number, b: number): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
