/**
 * Receiving remote ops: drop duplicates, refuse timestamps too far ahead, apply in causal order,
 * buffer what arrives early (bounded; what does not fit is dropped and comes again with the next
 * sync).
 */
import { dominates, type RegionId } from '../clock/version-vector.js';
import { limits } from '../limits.js';
import { applyFenced, applyToStore, policyOf } from './apply.js';
import type { ReplicaContext } from './context.js';
import { applyLimit } from './eviction.js';
import { applyOrphanReport } from './orphans.js';
import type { FenceStamp, Op } from '../model/op.js';

function ready(ctx: ReplicaContext, op: Op): boolean {
  if (ctx.live.get(op.dot.origin) !== op.dot.seq - 1) return false;
  if (op.fence !== undefined && ctx.guard.verdict(op as Op & { fence: FenceStamp }) === 'wait') return false;
  return ctx.config.knobs?.noCausalDelivery === true || dominates(ctx.live.view(), op.deps);
}

/** Applies `op` now; false if its timestamp was refused (the caller stops that origin's batch). */
function applyRemote(ctx: ReplicaContext, op: Op): boolean {
  const policy = policyOf(ctx, op.table);
  if (policy === undefined || policy.mode !== 'async') {
    // Policies are cluster-wide configuration; an op for a table we do not know means the
    // regions disagree about it. Applying it blind would diverge silently, so replication from
    // its origin stops here until the table exists (visible as lag and as opsUnknownTable).
    ctx.metrics.opsUnknownTable++;
    return false;
  }
  // With a clock the region core does not trust, the HLC takes no reading of it (a clock far ahead
  // would drag every later write into the future) and refuses nothing by it.
  if (!ctx.clockTrusted) ctx.clock.adopt(op.hlc);
  else if (ctx.clock.receive(op.hlc, ctx.nowMs).kind === 'refused') {
    ctx.metrics.hlcRefused++;
    return false;
  }
  if (op.orphaned !== undefined) applyOrphanReport(ctx, op);
  else if (op.fence !== undefined && ctx.guard.verdict(op as Op & { fence: FenceStamp }) === 'fenced') applyFenced(ctx, op as Op & { fence: FenceStamp });
  else applyToStore(ctx, op, policy);
  ctx.freshness.applied(op.dot.origin, op.hlc.wall);
  if (ctx.config.reportRemoteApplies === true) ctx.out.appliedRemote.push([op.dot.origin, op.hlc.wall]);
  return true;
}

function buffer(ctx: ReplicaContext, op: Op): void {
  let q = ctx.buffer.get(op.dot.origin);
  if (q === undefined) ctx.buffer.set(op.dot.origin, (q = new Map()));
  if (q.has(op.dot.seq)) return;
  if (ctx.bufferedCount >= limits.bufferedOpsMax) {
    ctx.metrics.opsBufferDropped++;
    return;
  }
  q.set(op.dot.seq, op);
  ctx.bufferedCount++;
  ctx.metrics.opsBuffered++;
}

/** Handles a batch of ops from a peer, then applies whatever the buffer can now release. */
export function receiveOps(ctx: ReplicaContext, ops: readonly Op[]): void {
  const refused = new Set<RegionId>();
  for (const op of ops) {
    if (refused.has(op.dot.origin)) continue;
    if (ctx.live.get(op.dot.origin) >= op.dot.seq) {
      ctx.metrics.opsDuplicate++;
      continue;
    }
    if (op.dot.seq > applyLimit(ctx, op.dot.origin)) {
      ctx.metrics.opsOfEvicted++;
      continue;
    }
    if (ready(ctx, op)) {
      if (!applyRemote(ctx, op)) refused.add(op.dot.origin);
    } else buffer(ctx, op);
  }
  drainBuffer(ctx);
}

/** Applies buffered ops whose dependencies are now satisfied, until none is. */
export function drainBuffer(ctx: ReplicaContext): void {
  if (ctx.bufferedCount === 0) return;
  let progress = true;
  while (progress) {
    progress = false;
    for (const [origin, q] of ctx.buffer) {
      // Drop what was applied meanwhile (it came again by another path).
      for (const seq of q.keys()) {
        if (seq <= ctx.live.get(origin)) {
          q.delete(seq);
          ctx.bufferedCount--;
        }
      }
      for (;;) {
        const next = q.get(ctx.live.get(origin) + 1);
        if (next === undefined || next.dot.seq > applyLimit(ctx, origin) || !ready(ctx, next)) break;
        q.delete(next.dot.seq);
        ctx.bufferedCount--;
        if (!applyRemote(ctx, next)) break;
        progress = true;
      }
      if (q.size === 0) ctx.buffer.delete(origin);
    }
  }
}
