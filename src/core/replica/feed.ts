/**
 * Writing decided conflict pairs into the conflict feed. Entries are grouped by winner: the id is
 * a function of (kind, table, key, field, winner), and each decided pair adds its loser. Every
 * pair is decided exactly once per region, so the final losers (and their count) are the same in
 * every region whatever the order in which pairs were decided. Each loser carries what it wrote
 * (`wrote`), computed from its op alone at apply time, so that is the same everywhere too.
 */
import { formatHlc } from '../clock/hlc.js';
import { compareDots } from '../clock/version-vector.js';
import { limits } from '../limits.js';
import type { ReplicaContext } from './context.js';
import { indexEntry, nextFeedSeq, pastRetention } from './feed-retention.js';
import type { RegionId } from '../clock/version-vector.js';
import type { FenceStamp, Op } from '../model/op.js';
import { conflictId, opWrote, type ConflictKind, type LoserWrite, type OpRef } from '../model/conflict.js';
import type { JsonValue } from '../util/json.js';
import type { WindowEntry } from '../model/window-entry.js';

export interface DecidedConflict {
  readonly kind: ConflictKind;
  readonly table: string;
  readonly key: string;
  readonly field: string | null;
  readonly rule: string;
  readonly winner: WindowEntry;
  readonly loser: WindowEntry;
}

function ref(e: WindowEntry, withKey: boolean, wrote?: LoserWrite): OpRef {
  const base: OpRef = { region: e.dot.origin, seq: e.dot.seq, hlc: formatHlc(e.hlc), ...(e.epoch !== undefined ? { epoch: e.epoch } : {}) };
  const keyed = withKey && e.rowKey !== undefined ? { ...base, key: e.rowKey } : base;
  return wrote === undefined ? keyed : { ...keyed, wrote };
}

/**
 * What the loser of a decided pair wrote (docs/api.md, "Conflicts"): for write-write its value
 * of the entry's field, for delete-update the whole op, for insert-insert the claimed value (its
 * claim window entry holds it). A function of the op only, so the same in every region; undefined
 * when the window entry predates `wrote` (unknown).
 */
export function loserWrote(c: DecidedConflict): LoserWrite | undefined {
  const { wrote } = c.loser;
  if (wrote === undefined || c.kind !== 'write-write' || c.field === null) return wrote;
  const own = c.loser.fieldWrote;
  if (own !== undefined && Object.hasOwn(own, c.field)) return own[c.field];
  if (!('patch' in wrote)) return undefined;
  // The whole patch fits the limit, so its value of the field does too.
  const { set, unset } = wrote.patch;
  if (set !== undefined && Object.hasOwn(set, c.field)) return { value: set[c.field] as JsonValue };
  if (unset !== undefined && unset.includes(c.field)) return { unset: true };
  return undefined;
}

function compareRefs(a: OpRef, b: OpRef): number {
  return compareDots({ origin: a.region, seq: a.seq }, { origin: b.region, seq: b.seq });
}

/**
 * Records one decided pair, at a new local feed position. A pair whose entry is past retention
 * (feed-retention.ts) is not recorded: every region collects or skips it at the same point.
 */
export function recordConflict(ctx: ReplicaContext, c: DecidedConflict): void {
  if (pastRetention(ctx, c.winner.hlc.wall)) return;
  const storage = ctx.storage;
  const withKey = c.kind === 'insert-insert';
  const id = conflictId(c.kind, c.table, c.key, c.field, c.winner.dot);
  const prev = storage.getConflict(id)?.entry;
  const loser = ref(c.loser, withKey, loserWrote(c));
  const losers = [...(prev?.losers ?? []), loser].sort(compareRefs).slice(0, limits.conflictLosersMax);
  const regions = new Set(prev?.regions ?? [c.winner.dot.origin]);
  regions.add(loser.region);
  const entry = {
      id,
      table: c.table,
      key: c.key,
      field: c.field,
      kind: c.kind,
      rule: c.rule,
      winner: ref(c.winner, withKey),
      losers,
      loserCount: (prev?.loserCount ?? 0) + 1,
      regions: [...regions].sort(),
  };
  storage.putConflict({ seq: nextFeedSeq(ctx), entry });
  if (prev === undefined) indexEntry(ctx, entry);
}

/**
 * Records a fenced write: the op is the loser; the "winner" names the slot's holder at the op's
 * position (seq 0: a lease, not an op), with its epoch. Every region applies every op once, so
 * every region records the entry once, with the same id.
 */
export function recordFencedWrite(ctx: ReplicaContext, op: Op & { readonly fence: FenceStamp }, holder: { holder: RegionId | null; epoch: number } | null): void {
  if (pastRetention(ctx, op.hlc.wall)) return;
  const id = conflictId('fenced-write', op.table, op.key, null, op.dot);
  const loser: OpRef = { region: op.dot.origin, seq: op.dot.seq, hlc: formatHlc(op.hlc), epoch: op.fence.epoch, wrote: opWrote(op) };
  const winner: OpRef = { region: holder?.holder ?? '', seq: 0, hlc: '', epoch: holder?.epoch ?? 0 };
  const entry = { id, table: op.table, key: op.key, field: null, kind: 'fenced-write' as const, rule: 'fencing', winner, losers: [loser], loserCount: 1, regions: [...new Set([op.dot.origin, ...(holder?.holder ? [holder.holder] : [])])].sort() };
  const isNew = ctx.storage.getConflict(id) === undefined;
  ctx.storage.putConflict({ seq: nextFeedSeq(ctx), entry });
  if (isNew) indexEntry(ctx, entry);
}
