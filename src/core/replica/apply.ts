/**
 * Applying one op to the replica's store: the row's CRDT state, its conflict window, the unique
 * claims, the origin's log, the idempotency record and the applied vector, all in the step's
 * transaction. Local writes and remote ops go through the same path, so a region's own writes
 * are never special.
 */
import { assert } from '../util/assert.js';
import { applyOp, killedByTombstone, type RowState } from '../crdt/row.js';
import { compareStamps } from '../crdt/stamp.js';
import { fieldType, type TablePolicy } from '../schema/policy.js';
import { kindOf } from '../crdt/kinds/registry.js';
import type { ReplicaContext } from './context.js';
import { claimKey, claimWindowNs, updateClaims } from './unique.js';
import { approxOpBytes, sharedIdentity, type FenceStamp, type FieldChange, type Op } from '../model/op.js';
import { fieldWrote as fieldWroteOf, opWrote, valueWrote, type LoserWrite } from '../model/conflict.js';
import type { JsonValue } from '../util/json.js';
import { recordFencedWrite } from './feed.js';
import type { WindowEntry } from '../model/window-entry.js';

export function policyOf(ctx: ReplicaContext, table: string): TablePolicy | undefined {
  return Object.hasOwn(ctx.config.tables, table) ? ctx.config.tables[table] : undefined;
}

const noFields: readonly string[] = Object.freeze([]);

function windowEntry(op: Op, policy: TablePolicy, id: string | undefined): WindowEntry {
  let fields: string[] | null = null;
  for (const f in op.changes) {
    // Only fields whose concurrent writes conflict (registers) enter the conflict window.
    const t = fieldType(policy, f);
    if (kindOf(t).conflictRule(t) !== null) (fields ??= []).push(f);
  }
  // What the op wrote, should it lose a conflict (bounded: limits.conflictValueBytesMax). When
  // the whole patch is too large, each conflicting field's own value is kept too.
  const wrote = opWrote(op);
  let fieldWrote: Record<string, LoserWrite> | null = null;
  if ('truncated' in wrote) {
    for (const f of fields ?? noFields) {
      const w = fieldWroteOf(op.changes[f] as FieldChange);
      if (w !== undefined) (fieldWrote ??= {})[f] = w;
    }
  }
  const base = { dot: op.dot, hlc: op.hlc, deps: op.deps, id, del: op.kind === 'delete', fields: fields ?? noFields, done: false, maxes: null, wrote, ...(fieldWrote !== null ? { fieldWrote } : {}) };
  return op.fence === undefined ? base : { ...base, epoch: op.fence.epoch };
}

/** The unique-field claims an op makes: writes that set a unique field. */
export function claimsMadeBy(op: Op, policy: TablePolicy): Array<{ field: string; key: string }> {
  return claimedValues(op, policy).map(({ field, value }) => ({ field, key: claimKey(op.table, field, value) }));
}

function claimedValues(op: Op, policy: TablePolicy): Array<{ field: string; value: JsonValue }> {
  const out: Array<{ field: string; value: JsonValue }> = [];
  for (const { field } of policy.unique) {
    const c = Object.hasOwn(op.changes, field) ? op.changes[field] : undefined;
    if (c !== undefined && c.k === 'set') out.push({ field, value: c.value });
  }
  return out;
}

/** Applies an op whose causal dependencies are all applied. Returns the row's new state. */
export function applyToStore(ctx: ReplicaContext, op: Op, policy: TablePolicy): RowState {
  assert(ctx.live.get(op.dot.origin) === op.dot.seq - 1, () => `apply out of order: ${op.dot.origin}:${op.dot.seq} with applied ${ctx.live.get(op.dot.origin)}`);
  const { storage } = ctx;
  const record = storage.getRow(op.table, op.key);
  const before = record?.state;
  if (op.kind === 'write' && policy.onDeleteUpdate === 'delete-wins' && killedByTombstone(before, op)) ctx.metrics.writesKilledByTombstone++;
  const id = sharedIdentity(op);
  let after = applyOp(before, op, policy, id);
  if (ctx.config.knobs?.tombstonesCollectedEarly && after.tombs.length > 0) after = { ...after, tombs: [] };
  storage.putRow(op.table, op.key, { state: after, window: [...(record?.window ?? []), windowEntry(op, policy, id)] });

  if (policy.unique.length > 0) {
    updateClaims(storage, op.table, op.key, policy, before, after);
    for (const { field, value } of claimedValues(op, policy)) {
      const key = claimKey(op.table, field, value);
      const window = (storage.getAux(claimWindowNs, key) as readonly WindowEntry[] | undefined) ?? [];
      const entry: WindowEntry = { dot: op.dot, hlc: op.hlc, deps: op.deps, id, del: false, fields: noFields, rowKey: op.key, done: false, maxes: null, wrote: valueWrote(value), ...(op.fence !== undefined ? { epoch: op.fence.epoch } : {}) };
      storage.putAux(claimWindowNs, key, [...window, entry]);
    }
  }

  if (op.idem !== undefined) recordIdempotency(ctx, op);
  appendToLog(ctx, op);
  ctx.live.set(op.dot.origin, op.dot.seq);
  ctx.metaDirty = true;
  ctx.metrics.opsApplied++;
  return after;
}

/** Appends an applied op to its origin's log, counting the bytes the logs hold (retention.logBytesMax). */
export function appendToLog(ctx: ReplicaContext, op: Op): void {
  ctx.storage.appendOp(op);
  ctx.logBytes += approxOpBytes(op);
}

/**
 * Applies a guarded op whose writer did not hold its slot's epoch where it wrote it: as nothing.
 * It still takes its place in its origin's log and vector (so replication goes on and every region
 * sees it), and it is listed in the conflict feed, so nothing vanishes silently.
 */
export function applyFenced(ctx: ReplicaContext, op: Op & { readonly fence: FenceStamp }): void {
  assert(ctx.live.get(op.dot.origin) === op.dot.seq - 1, () => `apply out of order: ${op.dot.origin}:${op.dot.seq}`);
  const holder = ctx.guard.holderAt(op.fence.slot, op.fence.at);
  recordFencedWrite(ctx, op, holder);
  appendToLog(ctx, op);
  ctx.live.set(op.dot.origin, op.dot.seq);
  ctx.metaDirty = true;
  ctx.metrics.opsApplied++;
  ctx.metrics.fencedWrites++;
}

/** Keeps, per key, the record of the least op in op order, so every region keeps the same one. */
function recordIdempotency(ctx: ReplicaContext, op: Op): void {
  const stamp = op.idem;
  if (stamp === undefined) return;
  const prev = ctx.storage.getIdem(stamp.key);
  if (prev !== undefined) {
    ctx.metrics.idempotentCopies++;
    if (compareStamps(prev, op) <= 0) return;
  }
  ctx.storage.putIdem(stamp.key, {
    key: stamp.key,
    digest: stamp.digest,
    result: stamp.result,
    dot: op.dot,
    hlc: op.hlc,
    table: op.table,
    rowKey: op.key,
    createdMs: op.hlc.wall,
  });
}
