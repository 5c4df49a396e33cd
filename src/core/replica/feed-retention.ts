/**
 * Conflict-feed retention (docs/internals/replication.md, "Conflict-feed retention"). An entry is
 * collected once its time (its winner's HLC wall; for a fenced write, the write's) is older than
 * `conflictRetentionMs` before the **stable time**: the newest HLC wall among the ops garbage
 * collection has visited, i.e. ops every region holds. The stable time is a function of the
 * stable vector alone, so every region collects the same entries at the same point, whatever
 * order it decided them in; a pair decided after its entry's time has passed retention is not
 * recorded (it would be collected at once, and elsewhere it already was), so the feeds stay equal.
 *
 * Entries are found by time through an index (`feed-due`, keyed by time then id), not by feed
 * position: positions are local and change when an entry gains a loser. A reader whose cursor is
 * below the highest position collected has missed something: GONE, naming `goneThrough`. Entries
 * still held below a collected one's position are first moved past it (given new positions, as when
 * an entry changes), so a reader who resumes from `goneThrough` misses nothing that is still held.
 */
import { limits } from '../limits.js';
import type { ConflictEntry } from '../model/conflict.js';
import type { ReplicaContext } from './context.js';

const feedDueNs = 'feed-due';

/** The time an entry ages by: its winner's HLC wall, or for a fenced write (no winning op) its op's. */
export function entryTimeMs(entry: Pick<ConflictEntry, 'winner' | 'losers'>): number {
  const hlc = entry.winner.hlc !== '' ? entry.winner.hlc : (entry.losers[0]?.hlc ?? '0');
  return Number(hlc.split('.')[0]);
}

function dueKey(timeMs: number, id: string): string {
  return `${String(Math.max(0, Math.floor(timeMs))).padStart(16, '0')}\u0000${id}`;
}

/** An entry with this time is past retention here: collected, or not recorded if it is new. */
export function pastRetention(ctx: ReplicaContext, timeMs: number): boolean {
  return timeMs + ctx.config.conflictRetentionMs <= ctx.stableWallMs;
}

/** Indexes a new entry by time (call once, when the entry is first stored). */
export function indexEntry(ctx: ReplicaContext, entry: Pick<ConflictEntry, 'id' | 'winner' | 'losers'>): void {
  ctx.storage.putAux(feedDueNs, dueKey(entryTimeMs(entry), entry.id), entry.id);
}

/** The next feed position, for a new or changed entry. */
export function nextFeedSeq(ctx: ReplicaContext): number {
  ctx.feedSeq++;
  ctx.metaDirty = true;
  return ctx.feedSeq;
}

/**
 * Collects entries past retention, oldest first, within the per-step budget. Before an entry goes,
 * entries still held at lower positions are moved past it, so `goneThrough` (the highest position
 * collected) has nothing held below it.
 */
export function collectFeed(ctx: ReplicaContext): void {
  let budget = limits.feedCollectPerStepMax;
  for (const [dueKeyText, value] of ctx.storage.scanAux(feedDueNs, '', budget)) {
    if (budget <= 0) return;
    if (!pastRetention(ctx, Number(dueKeyText.slice(0, 16)))) return;
    const id = value as string;
    const record = ctx.storage.getConflict(id);
    if (record !== undefined && record.seq > ctx.feedGoneThrough) {
      // Move what is held between the last collected position and this one past the end.
      for (;;) {
        const below = ctx.storage.conflictsAfter(ctx.feedGoneThrough, Math.min(budget, limits.feedMovedPerReadMax)).filter((r) => r.seq < record.seq);
        if (below.length === 0) break;
        for (const r of below) {
          ctx.storage.putConflict({ seq: nextFeedSeq(ctx), entry: r.entry });
          budget--;
        }
        if (budget <= 0) return; // resumed at the next sweep: nothing was collected yet
      }
      ctx.feedGoneThrough = record.seq;
    }
    if (record !== undefined) ctx.storage.removeConflict(id);
    ctx.storage.putAux(feedDueNs, dueKeyText, undefined);
    ctx.metrics.conflictsCollected++;
    ctx.metaDirty = true;
    budget--;
  }
}
