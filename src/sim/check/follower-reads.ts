/**
 * The follower-reads checker for strong tables: `bounded` and `session` reads are served from a
 * region's applied state without asking the leader, so they are not linearizable, but each
 * promises something that this checks against the log positions the cluster reported.
 *
 * A strong row's version is the log index of the last write to it, so a state that includes a
 * write at index i shows that row at version ≥ i. Then:
 * - bounded(b): a read invoked at time t reflects every write to its key acknowledged before
 *   t − b (real, simulated time): its version is at least each such write's index;
 * - session: a read reflects the reading client's own acknowledged writes to the key
 *   (read-your-writes) and never goes back from a version that client already read of the key,
 *   strongly or not (monotonic reads).
 * Failed reads (STALE, SESSION_UNAVAILABLE, timeouts) promise nothing and are skipped.
 */
import { Findings, type CheckerVerdict } from './findings.js';

export const followerReadsName = 'follower-reads';

export interface AckedWrite {
  readonly process: number;
  readonly key: string;
  /** The log index the write committed at. */
  readonly index: number;
  readonly okMs: number;
}

export interface FollowerRead {
  readonly process: number;
  readonly key: string;
  /** Strong reads are checked by the linearizability checker; here they only move the session on. */
  readonly consistency: 'bounded' | 'session' | 'strong';
  /** The bound of a bounded read. */
  readonly maxStalenessMs?: number;
  readonly region: string;
  readonly invokeMs: number;
  readonly okMs: number;
  /** The row's version (log index of its last write), 0 for a missing row. */
  readonly version: number;
}

export interface FollowerReadsRecord {
  readonly writes: readonly AckedWrite[];
  readonly reads: readonly FollowerRead[];
}

export function checkFollowerReads(r: FollowerReadsRecord): CheckerVerdict {
  const f = new Findings();
  const writesByKey = new Map<string, AckedWrite[]>();
  for (const w of r.writes) {
    let list = writesByKey.get(w.key);
    if (list === undefined) writesByKey.set(w.key, (list = []));
    list.push(w);
  }
  // Per client and key, events in the client's own (sequential) order: its writes and reads.
  const lastSeen = new Map<string, { version: number; what: string }>();
  const events = [
    ...r.writes.map((w) => ({ at: w.okMs, w, read: undefined })),
    ...r.reads.map((rd) => ({ at: rd.okMs, w: undefined, read: rd })),
  ].sort((a, b) => a.at - b.at);
  for (const e of events) {
    if (e.w !== undefined) {
      const k = `${e.w.process}/${e.w.key}`;
      const prev = lastSeen.get(k);
      if (prev === undefined || prev.version < e.w.index) lastSeen.set(k, { version: e.w.index, what: `its own write at index ${e.w.index}` });
      continue;
    }
    const read = e.read as FollowerRead;
    const k = `${read.process}/${read.key}`;
    if (read.consistency === 'strong') {
      const prev = lastSeen.get(k);
      if (prev === undefined || prev.version < read.version) lastSeen.set(k, { version: read.version, what: `version ${read.version} it read before (strong)` });
      continue;
    }
    f.examined();
    const where = `${read.consistency} read of ${read.key} by process ${read.process} in ${read.region} (invoked ${read.invokeMs.toFixed(1)} ms)`;
    if (read.consistency === 'bounded') {
      const bound = read.maxStalenessMs ?? 0;
      let missed: AckedWrite | undefined;
      for (const w of writesByKey.get(read.key) ?? []) {
        if (w.okMs < read.invokeMs - bound && w.index > read.version && (missed === undefined || w.index > missed.index)) missed = w;
      }
      if (missed !== undefined) {
        f.violation(`${where} with bound ${bound} ms saw version ${read.version}, but a write at index ${missed.index} was acknowledged at ${missed.okMs.toFixed(1)} ms, ${(read.invokeMs - missed.okMs).toFixed(1)} ms before the read`);
      }
      continue;
    }
    const prev = lastSeen.get(k);
    if (prev !== undefined && read.version < prev.version) f.violation(`${where} saw version ${read.version}, older than ${prev.what}`);
    if (prev === undefined || prev.version < read.version) lastSeen.set(k, { version: read.version, what: `version ${read.version} it read before` });
  }
  return f.verdict(followerReadsName);
}
