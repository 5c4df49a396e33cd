/**
 * The Raft log as the state machine sees it: a snapshot point, then entries. `stable` is the
 * highest index known persisted; entries above it are handed to the application in a Ready and
 * become stable on `advance`. Invariant: entries[i].index === offset + 1 + i.
 */
import { assert } from '../util/assert.js';
import { limits } from '../limits.js';
import type { Entry, LogIndex, Snapshot, Term } from './types.js';

export class RaftLog<C> {
  /** Index and term of the last entry folded into a snapshot (0, 0 for none). */
  offset: LogIndex;
  offsetTerm: Term;
  entries: Array<Entry<C>>;
  stable: LogIndex;
  committed: LogIndex;
  /** Highest index handed out for applying. */
  applied: LogIndex;
  /** Lowest index changed since the last Ready (persist entries from here). */
  unstableFrom: LogIndex;

  constructor(snapshot: { index: LogIndex; term: Term } | null, entries: ReadonlyArray<Entry<C>>, committed: LogIndex) {
    this.offset = snapshot?.index ?? 0;
    this.offsetTerm = snapshot?.term ?? 0;
    this.entries = entries.filter((e) => e.index > this.offset);
    for (const [i, e] of this.entries.entries()) assert(e.index === this.offset + 1 + i, () => `log gap at ${e.index}`);
    this.stable = this.lastIndex();
    this.unstableFrom = this.stable + 1;
    this.committed = Math.max(committed, this.offset);
    this.applied = this.offset;
  }

  lastIndex(): LogIndex {
    return this.offset + this.entries.length;
  }

  lastTerm(): Term {
    return this.termAt(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`; undefined when compacted away or beyond the end. */
  termAt(index: LogIndex): Term | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.offset - 1] as Entry<C>).term;
  }

  entry(index: LogIndex): Entry<C> | undefined {
    return this.entries[index - this.offset - 1];
  }

  /** Entries from `from` on, at most `max`. */
  slice(from: LogIndex, max: number): Array<Entry<C>> {
    const start = Math.max(0, from - this.offset - 1);
    return this.entries.slice(start, start + max);
  }

  /** §5.4.1: is a log ending at (index, term) at least as up to date as ours? */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }

  append(entries: ReadonlyArray<Entry<C>>): void {
    for (const e of entries) {
      assert(e.index === this.lastIndex() + 1, () => `append out of order: ${e.index} after ${this.lastIndex()}`);
      this.entries.push(e);
    }
    if (entries.length > 0) this.unstableFrom = Math.min(this.unstableFrom, (entries[0] as Entry<C>).index);
  }

  /**
   * Follower side of AppendEntries (§5.3): entries after prevIndex that conflict with the leader's
   * are deleted with everything after them; new ones are appended. Returns the last new index.
   */
  mergeFromLeader(prevIndex: LogIndex, entries: ReadonlyArray<Entry<C>>): LogIndex {
    for (const e of entries) {
      if (e.index <= this.offset) continue; // already in the snapshot
      const have = this.termAt(e.index);
      if (have === e.term) continue;
      if (have !== undefined) {
        assert(e.index > this.committed, () => `leader overwrites committed entry ${e.index} (committed ${this.committed})`);
        this.entries.length = e.index - this.offset - 1;
        this.stable = Math.min(this.stable, e.index - 1);
      }
      this.append(entries.filter((x) => x.index >= e.index));
      break;
    }
    return prevIndex + entries.length;
  }

  /** Entries to persist now (from the lowest changed index), and marks them handed out. */
  takeUnstable(): Array<Entry<C>> {
    if (this.unstableFrom > this.lastIndex()) return [];
    const out = this.slice(this.unstableFrom, Number.MAX_SAFE_INTEGER);
    this.unstableFrom = this.lastIndex() + 1;
    return out;
  }

  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `commit ${index} beyond the log (${this.lastIndex()})`);
    this.committed = index;
    return true;
  }

  /** Committed entries not yet handed out for applying, up to what is persisted here. */
  takeCommitted(max: number = limits.raftCommittedPerReadyMax): Array<Entry<C>> {
    const upTo = Math.min(this.committed, this.stable);
    if (upTo <= this.applied) return [];
    const out = this.slice(this.applied + 1, Math.min(max, upTo - this.applied));
    this.applied += out.length;
    return out;
  }

  /** Drops entries up to `index` (a snapshot of the state machine at `index` exists). */
  compact(index: LogIndex): void {
    if (index <= this.offset) return;
    assert(index <= this.applied, () => `compact ${index} beyond applied ${this.applied}`);
    const term = this.termAt(index) as Term;
    this.entries = this.entries.slice(index - this.offset);
    this.offset = index;
    this.offsetTerm = term;
  }

  /** Replaces the whole log with a snapshot from the leader. */
  restore(snapshot: Snapshot<unknown>): void {
    this.offset = snapshot.index;
    this.offsetTerm = snapshot.term;
    this.entries = [];
    this.stable = snapshot.index;
    this.unstableFrom = snapshot.index + 1;
    this.committed = Math.max(this.committed, snapshot.index);
    this.applied = snapshot.index;
  }
}
