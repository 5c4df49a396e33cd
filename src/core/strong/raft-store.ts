/**
 * Raft's durable state on the Storage port: the hard state and the latest snapshot in meta, one
 * aux entry per log entry. Writes happen inside the caller's transaction (Storage contract: one
 * transaction is atomic and durable), so a Ready is persisted all or nothing.
 *
 * The store remembers which indexes it holds, so truncating or compacting deletes exactly those
 * keys without scanning.
 */
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { limits } from '../limits.js';
import type { Storage } from '../storage/storage.js';
import type { StrongSnapshotData } from './state-machine.js';
import type { StrongCommand } from './types.js';

export type StrongEntry = Entry<StrongCommand>;
export type StrongSnapshot = Snapshot<StrongSnapshotData>;

const logNs = 'raft.log';
const hardKey = 'raft.hard';
const snapshotKey = 'raft.snapshot';

/** Fixed width, so key order (code points) is index order. */
function entryKey(index: number): string {
  return index.toString().padStart(16, '0');
}

export interface RaftDisk {
  readonly hardState: HardState | null;
  readonly snapshot: StrongSnapshot | null;
  readonly entries: StrongEntry[];
}

export class RaftStore {
  readonly #storage: Storage;
  /** Lowest and highest index stored (first > last: none). */
  #first = 1;
  #last = 0;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** Reads everything back after a start or crash. */
  load(): RaftDisk {
    const hardState = (this.#storage.getMeta(hardKey) as HardState | undefined) ?? null;
    const snapshot = (this.#storage.getMeta(snapshotKey) as StrongSnapshot | undefined) ?? null;
    const entries: StrongEntry[] = [];
    let after = '';
    for (;;) {
      const page = this.#storage.scanAux(logNs, after, limits.raftLogPageEntriesMax);
      for (const [, e] of page) entries.push(e as StrongEntry);
      if (page.length < limits.raftLogPageEntriesMax) break;
      after = (page[page.length - 1] as readonly [string, unknown])[0];
    }
    this.#first = entries[0]?.index ?? (snapshot?.index ?? 0) + 1;
    this.#last = entries[entries.length - 1]?.index ?? this.#first - 1;
    return { hardState, snapshot, entries };
  }

  /**
   * The store was restored from a backup (maybe another node's): whatever votes and
   * acknowledgements it recorded may be older than what this node told its peers. It restarts as
   * a learner remembering no vote (Raft.learner), keeping its term and log.
   */
  static forgetVotes(storage: Storage): void {
    const hs = (storage.getMeta(hardKey) as HardState | undefined) ?? { term: 0, vote: null, commit: 0 };
    storage.putMeta(hardKey, { term: hs.term, vote: null, commit: hs.commit, learner: true } satisfies HardState);
  }

  /**
   * Puts `from`'s Raft state (hard state, snapshot, log) in place of `to`'s (inside a transaction on
   * `to`). A region rejoining after an eviction installs a member's async data but keeps its own
   * Raft state: it was never lost, and a Raft node must never forget a vote it cast or an entry it
   * acknowledged (if two regions rejoined at once as learners, no leader could be elected).
   */
  static copyInto(from: Storage, to: Storage): void {
    for (;;) {
      const page = to.scanAux(logNs, '', limits.raftLogPageEntriesMax);
      if (page.length === 0) break;
      for (const [k] of page) to.putAux(logNs, k, undefined);
    }
    let after = '';
    for (;;) {
      const page = from.scanAux(logNs, after, limits.raftLogPageEntriesMax);
      if (page.length === 0) break;
      for (const [k, v] of page) to.putAux(logNs, k, v);
      after = (page[page.length - 1] as readonly [string, unknown])[0];
    }
    to.putMeta(hardKey, from.getMeta(hardKey));
    to.putMeta(snapshotKey, from.getMeta(snapshotKey));
  }

  saveHardState(hs: HardState): void {
    this.#storage.putMeta(hardKey, hs);
  }

  /** Stores entries; the first may overwrite what is stored from its index on (a new leader's log wins). */
  appendEntries(entries: readonly StrongEntry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    for (let i = first.index; i <= this.#last; i++) this.#storage.putAux(logNs, entryKey(i), undefined);
    for (const e of entries) this.#storage.putAux(logNs, entryKey(e.index), e);
    if (this.#last < this.#first) this.#first = first.index;
    this.#last = (entries[entries.length - 1] as StrongEntry).index;
  }

  /** A snapshot from the leader replaces the whole log. */
  installSnapshot(snapshot: StrongSnapshot): void {
    this.#storage.putMeta(snapshotKey, snapshot);
    for (let i = this.#first; i <= this.#last; i++) this.#storage.putAux(logNs, entryKey(i), undefined);
    this.#first = snapshot.index + 1;
    this.#last = snapshot.index;
  }

  /** Our own snapshot: stored, and entries up to `through` dropped. */
  saveSnapshot(snapshot: StrongSnapshot, through: number): void {
    this.#storage.putMeta(snapshotKey, snapshot);
    const upTo = Math.min(through, this.#last);
    for (let i = this.#first; i <= upTo; i++) this.#storage.putAux(logNs, entryKey(i), undefined);
    this.#first = Math.max(this.#first, upTo + 1);
  }

  get entryCount(): number {
    return Math.max(0, this.#last - this.#first + 1);
  }
}
