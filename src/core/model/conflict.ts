/**
 * Conflict feed entries: every resolved conflict, with the same id in every region.
 */
import type { Dot } from '../clock/version-vector.js';
import { limits } from '../limits.js';
import { hash64 } from '../util/hash.js';
import { canonicalJson, utf8Length, type JsonScalar, type JsonValue } from '../util/json.js';
import { sha256Hex } from '../util/sha256.js';
import type { FieldChange, Op } from './op.js';

/** A write's changes in the PATCH body vocabulary (docs/api.md, "Rows"): it can be sent again as is. */
export interface PatchBody {
  readonly set?: Readonly<Record<string, JsonValue>>;
  readonly unset?: readonly string[];
  readonly incr?: Readonly<Record<string, number>>;
  readonly add?: Readonly<Record<string, readonly JsonScalar[]>>;
  readonly remove?: Readonly<Record<string, readonly JsonScalar[]>>;
}

/**
 * What a losing op wrote, as a conflict-feed loser shows it (docs/api.md, "Conflicts"). Always an
 * object with one tag, so a user value can never be mistaken for the truncation marker:
 * - `value`: write-write, insert-insert: the value it set the entry's field to;
 * - `unset`: write-write: it unset the field;
 * - `patch`: delete-update, fenced-write: the losing write's changes as a PATCH body;
 * - `delete`: the loser is a delete;
 * - `truncated`: a `value` or `patch` whose canonical JSON exceeds limits.conflictValueBytesMax,
 *   given as its UTF-8 size and the SHA-256 (hex) of its canonical JSON.
 */
export type LoserWrite =
  | { readonly value: JsonValue }
  | { readonly unset: true }
  | { readonly patch: PatchBody }
  | { readonly delete: true }
  | { readonly truncated: true; readonly bytes: number; readonly sha256: string };

/** A reference to one op inside a conflict entry. */
export interface OpRef {
  readonly region: string;
  readonly seq: number;
  readonly hlc: string;
  /** The row key, for insert-insert conflicts (the rows differ). */
  readonly key?: string;
  /** The write lease epoch a guarded op was written under (home-with-failover collisions show both sides'). */
  readonly epoch?: number;
  /**
   * Losers only: what the op wrote. Absent: unknown (entries, or conflict windows, stored before
   * losers carried it).
   */
  readonly wrote?: LoserWrite;
  /** An orphaned write's idempotency key, when it had one. */
  readonly idempotencyKey?: string;
}

/**
 * `fenced-write`: a guarded op whose writer no longer held the slot's epoch at the strong-log
 * position it was written at; it is applied as nothing everywhere, and listed as the loser.
 */
export type ConflictKind = 'write-write' | 'delete-update' | 'insert-insert' | 'fenced-write' | 'orphaned-write';

/**
 * One resolved conflict. The id is a function of (kind, table, key, field, winner) only, so every
 * region computes the same id; `losers` accumulates as pairs are decided and ends identical
 * everywhere (docs/internals/replication.md, "Conflicts").
 */
export interface ConflictEntry {
  readonly id: string;
  readonly table: string;
  readonly key: string;
  /** The field, for write-write and insert-insert; null for delete-update and fenced-write. */
  readonly field: string | null;
  readonly kind: ConflictKind;
  /** 'lww', 'merge:<name>', 'delete-wins', 'update-wins', 'first-writer-wins' or 'fencing'. */
  readonly rule: string;
  readonly winner: OpRef;
  /** Sorted by (region, seq); at most limits.conflictLosersMax are listed. */
  readonly losers: readonly OpRef[];
  /** How many losers there are in all (can exceed losers.length). */
  readonly loserCount: number;
  /** Regions of the winner and losers, sorted. */
  readonly regions: readonly string[];
}

/** The conflict feed id: a function of what was decided, so every region computes the same one. */
export function conflictId(kind: ConflictKind, table: string, key: string, field: string | null, winner: Dot): string {
  return hash64([kind, table, key, field ?? '', winner.origin, String(winner.seq)].join('\u0000'));
}


/** `x` itself (tagged `tag`) when its canonical JSON fits limits.conflictValueBytesMax, else its size and digest. */
function bounded(tag: 'value' | 'patch', x: JsonValue | PatchBody): LoserWrite {
  const text = canonicalJson(x);
  const bytes = utf8Length(text);
  if (bytes > limits.conflictValueBytesMax) return { truncated: true, bytes, sha256: sha256Hex(text) };
  return tag === 'value' ? { value: x as JsonValue } : { patch: x as PatchBody };
}

/** What a write wrote to one lww or merge field (write-write), or a unique value (insert-insert). */
export function valueWrote(value: JsonValue): LoserWrite {
  return bounded('value', value);
}

/** What a write wrote to one lww or merge field: its new value, or that it unset it. */
export function fieldWrote(change: FieldChange): LoserWrite | undefined {
  if (change.k === 'set') return valueWrote(change.value);
  if (change.k === 'unset') return { unset: true };
  return undefined; // counters and sets do not conflict
}

/** A write's changes as the PATCH body that makes them, fields in name order. */
export function patchOf(changes: Readonly<Record<string, FieldChange>>): PatchBody {
  const set: Record<string, JsonValue> = {};
  const unset: string[] = [];
  const incr: Record<string, number> = {};
  const add: Record<string, readonly JsonScalar[]> = {};
  const remove: Record<string, readonly JsonScalar[]> = {};
  for (const f of Object.keys(changes).sort()) {
    const c = changes[f] as FieldChange;
    if (c.k === 'set') set[f] = c.value;
    else if (c.k === 'unset') unset.push(f);
    else if (c.k === 'incr') incr[f] = c.delta;
    else if (c.k === 'add') add[f] = c.elems;
    else remove[f] = c.elems;
  }
  const some = (r: object): boolean => Object.keys(r).length > 0;
  return {
    ...(some(set) ? { set } : {}),
    ...(unset.length > 0 ? { unset } : {}),
    ...(some(incr) ? { incr } : {}),
    ...(some(add) ? { add } : {}),
    ...(some(remove) ? { remove } : {}),
  };
}

/**
 * What a whole op wrote (delete-update, fenced-write, orphaned-write): its PATCH body, or that it
 * is a delete. Bounded like any loser's value, except `whole` (an orphaned write: the application
 * may re-apply it, so it is never truncated; a row is at most limits.rowBytesMax).
 */
export function opWrote(op: Pick<Op, 'kind' | 'changes'>, whole = false): LoserWrite {
  if (op.kind === 'delete') return { delete: true };
  const patch = patchOf(op.changes);
  return whole ? { patch } : bounded('patch', patch);
}
