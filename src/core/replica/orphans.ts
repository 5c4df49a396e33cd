/**
 * Orphaned writes (docs/internals/replication.md, "Bounded history"): writes a region made before
 * its eviction that no member received. They are never applied anywhere (applied late, on top of
 * a snapshot, they could bring deleted rows back). When the region rejoins, the store it installs
 * carries them (`orphansMetaKey`, written by the shell); once it is a member again, and before it
 * writes anything new, it publishes each through an **orphan report**: the orphaned write again,
 * under its own dot (no member ever applied that dot: they froze the region below it, so the
 * region's sequence stays gap-free and no number ever names two writes), with a new HLC and deps
 * and the `orphaned` stamp, applied as nothing everywhere, recording one `orphaned-write` feed
 * entry with the same id in every region. The application reads them (`terndb orphans`) and
 * re-applies what still makes sense.
 */
import { formatHlc } from '../clock/hlc.js';
import { get } from '../clock/version-vector.js';
import { conflictId, opWrote } from '../model/conflict.js';
import type { Op } from '../model/op.js';
import { assert } from '../util/assert.js';
import { limits } from '../limits.js';
import type { ReplicaContext } from './context.js';
import { indexEntry, nextFeedSeq, pastRetention } from './feed-retention.js';
import { appendToLog, applyToStore, policyOf } from './apply.js';

/** Replica meta of an installed store: the orphaned writes of its region, and how many are published. */
export const orphansMetaKey = 'orphans';

export interface OrphanRecord {
  /** The readmission they were found at. */
  readonly readmitIndex: number;
  /** The orphaned writes, in their origin's order. */
  readonly ops: readonly Op[];
  /** How many of them orphan reports already carry. */
  readonly published: number;
}


/** Applies an orphan report, from any origin: nothing of the write; its place in the log; the feed entry. */
export function applyOrphanReport(ctx: ReplicaContext, op: Op): void {
  assert(op.orphaned !== undefined, 'not an orphan report');
  assert(ctx.live.get(op.dot.origin) === op.dot.seq - 1, () => `apply out of order: ${op.dot.origin}:${op.dot.seq}`);
  // Aged by the report's time, not the write's: a write orphaned by a long absence is still listed for retention.conflictsMs.
  if (!pastRetention(ctx, op.hlc.wall)) {
    const o = op.orphaned;
    const id = conflictId('orphaned-write', op.table, op.key, null, o.dot);
    const loser = { region: o.dot.origin, seq: o.dot.seq, hlc: formatHlc(o.hlc), wrote: opWrote(op, true), ...(o.idempotencyKey !== undefined ? { idempotencyKey: o.idempotencyKey } : {}) };
    // The winner names who reported it and when (seq 0: not an op of its own).
    const winner = { region: op.dot.origin, seq: 0, hlc: formatHlc(op.hlc) };
    const entry = { id, table: op.table, key: op.key, field: null, kind: 'orphaned-write' as const, rule: 'eviction', winner, losers: [loser], loserCount: 1, regions: [o.dot.origin] };
    const isNew = ctx.storage.getConflict(id) === undefined;
    ctx.storage.putConflict({ seq: nextFeedSeq(ctx), entry });
    if (isNew) indexEntry(ctx, entry);
  }
  ctx.metrics.orphanedWrites++;
  const policy = policyOf(ctx, op.table);
  // The deliberately broken engine: the orphaned write is applied as if it were new.
  if (ctx.config.knobs?.replayOrphanedWrites === true && policy !== undefined) return void applyToStore(ctx, op, policy);
  appendToLog(ctx, op);
  ctx.live.set(op.dot.origin, op.dot.seq);
  ctx.metaDirty = true;
  ctx.metrics.opsApplied++;
}

/** This region's orphaned writes not yet reported (the region writes nothing new until they are). */
export function orphansPending(ctx: ReplicaContext): boolean {
  const current = (ctx.storage.getMeta(orphansMetaKey) as OrphanRecord[] | undefined)?.[0];
  return current !== undefined && current.published < current.ops.length;
}

/** Publishes the next batch of this region's orphaned writes as orphan reports (inside a step); whether some are still pending after it. */
export function publishOrphans(ctx: ReplicaContext): boolean {
  const record = ctx.storage.getMeta(orphansMetaKey) as OrphanRecord[] | undefined;
  const current = record?.[0];
  if (current === undefined || current.published >= current.ops.length) return false;
  const self = ctx.config.region;
  // A bounded batch per step, so a step stays short (limits.orphanReportsPerStepMax).
  const end = Math.min(current.ops.length, current.published + limits.orphanReportsPerStepMax);
  let published = current.published;
  for (let i = current.published; i < end; i++) {
    const w = current.ops[i] as Op;
    // Its own dot: the next of this region's sequence (the orphans follow the last write that survived).
    if (w.dot.origin !== self || w.dot.seq !== get(ctx.applied, self) + 1) {
      ctx.metrics.orphansOutOfSequence++;
      break;
    }
    const op: Op = {
      dot: w.dot,
      hlc: ctx.clock.now(ctx.nowMs),
      deps: ctx.applied,
      table: w.table,
      key: w.key,
      kind: w.kind,
      changes: w.changes,
      orphaned: { dot: w.dot, hlc: w.hlc, ...(w.idem !== undefined ? { idempotencyKey: w.idem.key } : {}) },
    };
    applyOrphanReport(ctx, op);
    ctx.out.created.push(op);
    ctx.pushed.push(op);
    published = i + 1;
  }
  if (published !== current.published) ctx.storage.putMeta(orphansMetaKey, [{ ...current, published }]);
  return published < current.ops.length;
}
