/**
 * Unique fields enforced asynchronously (policy `unique: [{field, enforce: 'async'}]`).
 *
 * A region refuses a write that would duplicate a value another live row holds (as far as it
 * knows). Regions cannot know what others accept concurrently, so duplicates can still meet; then
 * the first claim in op order keeps the value and the other rows read as if the field were absent
 * (masked). The claims index maps (table, field, value) to the rows currently holding it; it is
 * derived from the rows and updated with them, in the same transaction.
 */
import type { Hlc } from '../clock/hlc.js';
import type { Dot } from '../clock/version-vector.js';
import { rowExists, type RowState } from '../crdt/row.js';
import { compareStamps } from '../crdt/stamp.js';
import type { TablePolicy } from '../schema/policy.js';
import type { Storage } from '../storage/storage.js';
import { canonicalJson, type JsonValue } from '../util/json.js';
import type { RowView } from '../model/row-view.js';

export const claimsNs = 'claims';
export const claimWindowNs = 'claim-window';

export interface Claim {
  readonly rowKey: string;
  /** The op whose write of the value is the row's current one. */
  readonly dot: Dot;
  readonly hlc: Hlc;
}

export function claimKey(table: string, field: string, value: JsonValue): string {
  return `${table}\u0000${field}\u0000${canonicalJson(value)}`;
}

/**
 * The row's current claim on `field`: its value (the greatest lww head) and, as the claim's
 * stamp, the least live head holding that value (first writer wins, also within one row).
 */
function currentClaim(row: RowState | undefined, field: string): { value: JsonValue; dot: Dot; hlc: Hlc } | null {
  if (row === undefined || !rowExists(row) || !Object.hasOwn(row.fields, field)) return null;
  const s = row.fields[field];
  if (s === undefined || s.t !== 'reg') return null;
  const top = s.heads[s.heads.length - 1];
  if (top === undefined || top.value === undefined) return null;
  const text = canonicalJson(top.value);
  const first = s.heads.find((h) => h.value !== undefined && canonicalJson(h.value) === text) ?? top;
  return { value: top.value, dot: first.dot, hlc: first.hlc };
}

export function claimsOf(storage: Storage, key: string): readonly Claim[] {
  return (storage.getAux(claimsNs, key) as readonly Claim[] | undefined) ?? [];
}

/** Keeps the claims index in step with one row's change. */
export function updateClaims(storage: Storage, table: string, rowKey: string, policy: TablePolicy, before: RowState | undefined, after: RowState): void {
  for (const { field } of policy.unique) {
    const b = currentClaim(before, field);
    const a = currentClaim(after, field);
    if (b !== null && a !== null && b.dot.origin === a.dot.origin && b.dot.seq === a.dot.seq) continue;
    if (b !== null) {
      const k = claimKey(table, field, b.value);
      const rest = claimsOf(storage, k).filter((c) => c.rowKey !== rowKey);
      storage.putAux(claimsNs, k, rest.length > 0 ? rest : undefined);
    }
    if (a !== null) {
      const k = claimKey(table, field, a.value);
      const rest = claimsOf(storage, k).filter((c) => c.rowKey !== rowKey);
      storage.putAux(claimsNs, k, [...rest, { rowKey, dot: a.dot, hlc: a.hlc }]);
    }
  }
}

/** The row that keeps a contested value: the first claim in op order. */
function claimant(claims: readonly Claim[]): Claim | undefined {
  let best: Claim | undefined;
  for (const c of claims) if (best === undefined || compareStamps(c, best) < 0) best = c;
  return best;
}

/** Hides unique-field values this row holds but does not keep. */
export function maskView(storage: Storage, table: string, policy: TablePolicy, view: RowView): RowView {
  if (policy.unique.length === 0) return view;
  let fields: Record<string, JsonValue> | null = null;
  for (const { field } of policy.unique) {
    if (!Object.hasOwn(view.fields, field)) continue;
    const v = view.fields[field] as JsonValue;
    const winner = claimant(claimsOf(storage, claimKey(table, field, v)));
    if (winner !== undefined && winner.rowKey !== view.key) {
      fields ??= { ...view.fields };
      delete fields[field];
    }
  }
  return fields === null ? view : { ...view, fields };
}

/** Another live row holding `value` in `field`, if any (the local duplicate check). */
export function otherHolder(storage: Storage, table: string, field: string, value: JsonValue, rowKey: string): string | undefined {
  return claimsOf(storage, claimKey(table, field, value)).find((c) => c.rowKey !== rowKey)?.rowKey;
}
