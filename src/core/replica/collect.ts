/**
 * Garbage collection below the causally stable point, and conflict decisions. When the stable
 * vector advances, the ops between the last collection point and it are read from the logs; every
 * row (and unique value) they touched is visited once: its conflict window decided, its metadata
 * compacted, and the row purged if nothing is left. Then the logs are trimmed: every region has
 * applied those ops, so nobody will ask for them again.
 */
import { covers, dominates, get, type RegionId, type VersionVector } from '../clock/version-vector.js';
import { compactRow, rowIsVacant } from '../crdt/row.js';
import { compareStamps } from '../crdt/stamp.js';
import { limits } from '../limits.js';
import { fieldType, type TablePolicy } from '../schema/policy.js';
import { claimsMadeBy, policyOf } from './apply.js';
import type { ReplicaContext } from './context.js';
import { recordConflict, type DecidedConflict } from './feed.js';
import { claimWindowNs, updateClaims } from './unique.js';
import { processWindow, type DecidedPair, type Relevance } from './window.js';
import { approxOpBytes, type Op } from '../model/op.js';
import type { WindowEntry } from '../model/window-entry.js';

const rowRelevance: Relevance = {
  scopes: (x) => (x.del ? ['#du'] : ['#du', ...x.fields]),
  relevant: (x, y, scope) => (scope === '#du' ? x.del !== y.del : !x.del && !y.del && y.fields.includes(scope)),
};

const claimRelevance: Relevance = {
  scopes: () => ['ii'],
  relevant: (x, y) => x.rowKey !== y.rowKey,
};

function rowConflict(table: string, key: string, policy: TablePolicy, pair: DecidedPair): DecidedConflict {
  const { first, second, scope } = pair;
  if (scope === '#du') {
    const del = first.del ? first : second;
    const write = first.del ? second : first;
    const deleteWins = policy.onDeleteUpdate === 'delete-wins';
    return { kind: 'delete-update', table, key, field: null, rule: policy.onDeleteUpdate, winner: deleteWins ? del : write, loser: deleteWins ? write : del };
  }
  const [loser, winner] = compareStamps(first, second) < 0 ? [first, second] : [second, first];
  const t = fieldType(policy, scope);
  return { kind: 'write-write', table, key, field: scope, rule: t, winner, loser };
}

function countConflict(ctx: ReplicaContext, c: DecidedConflict): void {
  if (c.kind === 'write-write') ctx.metrics.conflictsWriteWrite++;
  else if (c.kind === 'delete-update') ctx.metrics.conflictsDeleteUpdate++;
  else ctx.metrics.conflictsInsertInsert++;
}

function visitRow(ctx: ReplicaContext, table: string, key: string, stable: VersionVector): void {
  const policy = policyOf(ctx, table);
  const record = ctx.storage.getRow(table, key);
  if (policy === undefined || record === undefined) return;
  const { window, pairs } = processWindow(record.window, stable, rowRelevance);
  for (const pair of pairs) {
    const c = rowConflict(table, key, policy, pair);
    countConflict(ctx, c);
    recordConflict(ctx, c);
  }
  const state = compactRow(record.state, stable, policy, ctx.nowMs);
  ctx.metrics.tombstonesPurged += record.state.tombs.length - state.tombs.length;
  scheduleRetainedTombs(ctx, table, key, state.tombs.filter((t) => covers(stable, t.dot)), policy);
  // Compaction can change which head is a unique field's claim; keep the index in step.
  if (policy.unique.length > 0 && state !== record.state) updateClaims(ctx.storage, table, key, policy, record.state, state);
  if (rowIsVacant(state) && window.length === 0) {
    ctx.storage.putRow(table, key, undefined);
    ctx.metrics.rowsPurged++;
  } else if (state !== record.state || window !== record.window) {
    ctx.storage.putRow(table, key, { state, window });
  }
}

function visitClaims(ctx: ReplicaContext, claimKey: string, stable: VersionVector): void {
  const window = (ctx.storage.getAux(claimWindowNs, claimKey) as readonly WindowEntry[] | undefined) ?? [];
  const [table, field] = claimKey.split('\u0000') as [string, string];
  const result = processWindow(window, stable, claimRelevance);
  for (const { first, second } of result.pairs) {
    // First writer wins: the lesser claim in op order keeps the value.
    const [winner, loser] = compareStamps(first, second) < 0 ? [first, second] : [second, first];
    const c: DecidedConflict = { kind: 'insert-insert', table, key: winner.rowKey as string, field, rule: 'first-writer-wins', winner, loser };
    countConflict(ctx, c);
    recordConflict(ctx, c);
  }
  if (result.window !== window) ctx.storage.putAux(claimWindowNs, claimKey, result.window.length > 0 ? result.window : undefined);
}

const tombDueNs = 'tomb-due';

/**
 * Stable tombstones kept for the policy's retention are purged by a later visit: remember when.
 * Keys sort by due time, so a tick finds what is due with one ordered scan.
 */
function scheduleRetainedTombs(ctx: ReplicaContext, table: string, key: string, retained: readonly { hlc: { wall: number } }[], policy: TablePolicy): void {
  if (retained.length === 0) return;
  const dueMs = Math.max(...retained.map((t) => t.hlc.wall + policy.tombstoneRetentionMs));
  // The key orders by due time and stays unique per row; the value says which row (keys may hold any character).
  ctx.storage.putAux(tombDueNs, `${String(Math.max(0, Math.ceil(dueMs))).padStart(16, '0')}\u0000${JSON.stringify([table, key])}`, { table, key });
}

/** Revisits rows whose retained tombstones are due. */
export function purgeDueTombstones(ctx: ReplicaContext): void {
  const stable = ctx.stability.stable(ctx.applied);
  for (const [k, v] of ctx.storage.scanAux(tombDueNs, '', limits.gcOpsPerStepMax)) {
    if (Number(k.slice(0, 16)) > ctx.nowMs) break;
    const { table, key } = v as { table: string; key: string };
    ctx.storage.putAux(tombDueNs, k, undefined);
    visitRow(ctx, table, key, stable);
  }
}

/** Advances garbage collection towards the stable vector, within the per-step budget. */
export function collect(ctx: ReplicaContext): void {
  const stable = ctx.stability.stable(ctx.applied);
  if (dominates(ctx.gcPoint, stable)) return;
  const rows = new Map<string, [string, string]>();
  const claims = new Set<string>();
  const point: Record<RegionId, number> = { ...ctx.gcPoint };
  let budget = limits.gcOpsPerStepMax;
  let trimmedBytes = 0;
  for (const origin of ctx.config.regions) {
    let from = get(ctx.gcPoint, origin);
    const to = get(stable, origin);
    while (from < to && budget > 0) {
      const ops: Op[] = ctx.storage.readOps(origin, from, Math.min(budget, to - from));
      if (ops.length === 0) break;
      for (const op of ops) {
        if (op.hlc.wall > ctx.stableWallMs) ctx.stableWallMs = op.hlc.wall;
        trimmedBytes += approxOpBytes(op);
        rows.set(`${op.table}\u0000${op.key}`, [op.table, op.key]);
        const policy = policyOf(ctx, op.table);
        if (policy !== undefined) for (const c of claimsMadeBy(op, policy)) claims.add(c.key);
        from = op.dot.seq;
        budget--;
      }
    }
    point[origin] = from;
  }
  for (const [table, key] of rows.values()) visitRow(ctx, table, key, stable);
  for (const key of claims) visitClaims(ctx, key, stable);
  for (const origin of ctx.config.regions) {
    const through = point[origin] ?? 0;
    if (through > ctx.storage.trimmedThrough(origin)) {
      ctx.metrics.logOpsTrimmed += through - ctx.storage.trimmedThrough(origin);
      ctx.storage.trimOps(origin, through);
    }
  }
  ctx.gcPoint = point;
  ctx.logBytes = Math.max(0, ctx.logBytes - trimmedBytes);
  ctx.metaDirty = true;
}

/**
 * Expires idempotency records older than the retention window (by the physical clock), never
 * before their op is causally stable. Counter parts need nothing: they fold at stability.
 */
export function expireIdempotency(ctx: ReplicaContext): void {
  const stable = ctx.stability.stable(ctx.applied);
  const old = ctx.storage.idemCreatedBefore(ctx.physicalMs - ctx.config.idempotencyRetentionMs, limits.idempotencyExpiriesPerStepMax);
  for (const record of old) {
    if (get(stable, record.dot.origin) < record.dot.seq) continue;
    ctx.storage.putIdem(record.key, undefined);
    ctx.metrics.idempotencyExpired++;
  }
}
