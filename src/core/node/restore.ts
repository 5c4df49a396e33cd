/**
 * What `terndb restore` does to a copy of a region's database before the region's node opens it:
 * the async replica recovers its own writes from its peers before it writes again
 * (replica/recovery.ts), and the Raft node comes back as a learner (raft.ts, `learner`). The copy
 * may come from this region's own backup or from another region's: rows, logs, the conflict feed,
 * idempotency records and the strong log are the same everywhere a cut of them is taken.
 */
import { restoreMetaKey } from '../replica/recovery.js';
import type { Storage } from '../storage/storage.js';
import { RaftStore } from '../strong/raft-store.js';

export interface RestoreNote {
  /** The region whose database the copy is (it may differ from the region restored). */
  readonly from: string;
  /** When the copy was taken (the backup's manifest). */
  readonly copiedAt: string;
}

export function markRestored(storage: Storage, note: RestoreNote): void {
  storage.transaction(() => {
    storage.putMeta(restoreMetaKey, note);
    RaftStore.forgetVotes(storage);
  });
}

/**
 * A member's copy prepared for a region rejoining after its eviction (src/server/snapshot,
 * replica/eviction.ts): the async replica recovers its own writes from its peers, as after a
 * restore, but the Raft state is the region's own (`old`'s), copied in: it was never lost, so the
 * node stays a voter (RaftStore.copyInto). Call inside a transaction on `copy`.
 */
export function markRejoined(copy: Storage, old: Storage, note: RestoreNote): void {
  copy.putMeta(restoreMetaKey, note);
  RaftStore.copyInto(old, copy);
}

/** The note of a store restored and still recovering, or null. */
export function restoreNote(storage: Storage): RestoreNote | null {
  return (storage.getMeta(restoreMetaKey) as RestoreNote | null | undefined) ?? null;
}
