/**
 * Writing decided conflict pairs into the conflict feed. Entries are grouped by winner: the id is
 * a function of (kind, table, key, field, winner), and each decided pair adds its loser. Every
 * pair is decided exactly once per region, so the final losers (and their count) are the same in
 * every region whatever the order in which pairs were decided.
 */
import { formatHlc } from '../clock/hlc.js';
import { compareDots } from '../clock/version-vector.js';
import { limits } from '../limits.js';
import type { Storage } from '../storage/storage.js';
import type { RegionId } from '../clock/version-vector.js';
import type { FenceStamp, Op } from '../model/op.js';
import { conflictId, type ConflictKind, type OpRef } from '../model/conflict.js';
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

function ref(e: WindowEntry, withKey: boolean): OpRef {
  const base: OpRef = { region: e.dot.origin, seq: e.dot.seq, hlc: formatHlc(e.hlc), ...(e.epoch !== undefined ? { epoch: e.epoch } : {}) };
  return withKey && e.rowKey !== undefined ? { ...base, key: e.rowKey } : base;
}

function compareRefs(a: OpRef, b: OpRef): number {
  return compareDots({ origin: a.region, seq: a.seq }, { origin: b.region, seq: b.seq });
}

/** Records one decided pair; `nextSeq` gives the entry its new local feed position. */
export function recordConflict(storage: Storage, c: DecidedConflict, nextSeq: () => number): void {
  const withKey = c.kind === 'insert-insert';
  const id = conflictId(c.kind, c.table, c.key, c.field, c.winner.dot);
  const prev = storage.getConflict(id)?.entry;
  const loser = ref(c.loser, withKey);
  const losers = [...(prev?.losers ?? []), loser].sort(compareRefs).slice(0, limits.conflictLosersMax);
  const regions = new Set(prev?.regions ?? [c.winner.dot.origin]);
  regions.add(loser.region);
  storage.putConflict({
    seq: nextSeq(),
    entry: {
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
    },
  });
}

/**
 * Records a fenced write: the op is the loser; the "winner" names the slot's holder at the op's
 * position (seq 0: a lease, not an op), with its epoch. Every region applies every op once, so
 * every region records the entry once, with the same id.
 */
export function recordFencedWrite(storage: Storage, op: Op & { readonly fence: FenceStamp }, holder: { holder: RegionId | null; epoch: number } | null, nextSeq: () => number): void {
  const id = conflictId('fenced-write', op.table, op.key, null, op.dot);
  const loser: OpRef = { region: op.dot.origin, seq: op.dot.seq, hlc: formatHlc(op.hlc), epoch: op.fence.epoch };
  const winner: OpRef = { region: holder?.holder ?? '', seq: 0, hlc: '', epoch: holder?.epoch ?? 0 };
  storage.putConflict({
    seq: nextSeq(),
    entry: { id, table: op.table, key: op.key, field: null, kind: 'fenced-write', rule: 'fencing', winner, losers: [loser], loserCount: 1, regions: [...new Set([op.dot.origin, ...(holder?.holder ? [holder.holder] : [])])].sort() },
  });
}
