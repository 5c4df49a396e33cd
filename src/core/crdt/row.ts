/**
 * A row: a map of field CRDTs plus its existence (docs/internals/semantics.md).
 *
 * Existence is the set of writes that keep the row alive (existence.ts). A delete removes what it saw;
 * under `delete-wins` it also clears everything else and leaves a tombstone, so a write that was
 * concurrent with it and arrives later is dropped instead of resurrecting the row. Tombstones are
 * purged only once causally stable: then every op that can still arrive happened after the
 * delete, and no stale replica can bring the row back.
 *
 * Everything here is a pure function of immutable states. `apply*` require causal delivery: an op
 * is applied only after every op in its `deps`.
 */
import { assert } from '../util/assert.js';
import { formatHlc } from '../clock/hlc.js';
import { compareDots, covers, type VersionVector } from '../clock/version-vector.js';
import type { JsonValue } from '../util/json.js';
import { fieldType, type FieldType, type TablePolicy } from '../schema/policy.js';
import { mergeDotSets } from './dot-set.js';
import { addWriter, compactExistence, latestWriter, mergeExistence, removeSeenWriters, type Existence } from './existence.js';
import { kindOf, kindOfState, type FieldState } from './kinds/registry.js';
import type { MergeRegistry } from './merge-registry.js';
import type { Stamp } from './stamp.js';
import { type FieldChange, type Op, sharedIdentity } from '../model/op.js';
import type { RowView } from '../model/row-view.js';

export type { FieldState };

export interface RowState {
  /** Only fields with content; keys in any order (encoders sort them). */
  readonly fields: Readonly<Record<string, FieldState>>;
  /** The writes that keep the row alive; empty means the row does not exist. */
  readonly alive: Existence;
  /** delete-wins only: deletes not yet causally stable, sorted by dot. */
  readonly tombs: readonly Stamp[];
}

export const emptyRow: RowState = { fields: {}, alive: [], tombs: [] };

export function rowExists(row: RowState): boolean {
  return row.alive.length > 0;
}

/** True when the row holds nothing worth storing. */
export function rowIsVacant(row: RowState): boolean {
  return row.alive.length === 0 && row.tombs.length === 0 && Object.keys(row.fields).length === 0;
}

/** False when the field holds nothing worth storing (it is then dropped from the row). */
function fieldHasContent(s: FieldState): boolean {
  return kindOfState(s).hasContent(s);
}

/** True when `op` is concurrent with a delete this row still remembers (delete-wins drops it). */
export function killedByTombstone(row: RowState | undefined, op: Op): boolean {
  return row !== undefined && row.tombs.some((t) => !covers(op.deps, t.dot));
}

export function applyWrite(row: RowState | undefined, op: Op, policy: TablePolicy, id: string | undefined = sharedIdentity(op)): RowState {
  assert(op.kind === 'write', 'applyWrite needs a write op');
  const base = row ?? emptyRow;
  if (policy.onDeleteUpdate === 'delete-wins' && killedByTombstone(base, op)) return base;
  const fields: Record<string, FieldState> = { ...base.fields };
  for (const name in op.changes) {
    const change = op.changes[name] as FieldChange;
    const current = Object.hasOwn(fields, name) ? (fields[name] as FieldState) : kindOf(fieldType(policy, name)).empty;
    const next = kindOfState(current).apply(current, change, op, id);
    if (fieldHasContent(next)) fields[name] = next;
    else delete fields[name];
  }
  return { fields, alive: addWriter(base.alive, { dot: op.dot, hlc: op.hlc }, op.deps), tombs: base.tombs };
}

export function applyDelete(row: RowState | undefined, op: Op, policy: TablePolicy): RowState {
  assert(op.kind === 'delete', 'applyDelete needs a delete op');
  const base = row ?? emptyRow;
  if (policy.onDeleteUpdate === 'delete-wins') {
    // Clears everything, including writes concurrent with the delete that arrived first; keeps a
    // tombstone so concurrent writes arriving later are dropped too. Tombstones this delete saw
    // are redundant: anything concurrent with them is concurrent with or before this one.
    const tombs = base.tombs.filter((t) => !covers(op.deps, t.dot));
    tombs.push({ dot: op.dot, hlc: op.hlc });
    return { fields: {}, alive: [], tombs: tombs.sort((a, b) => compareDots(a.dot, b.dot)) };
  }
  const fields: Record<string, FieldState> = {};
  for (const [name, s] of Object.entries(base.fields)) {
    const next = kindOfState(s).reset(s, op.deps);
    if (fieldHasContent(next)) fields[name] = next;
  }
  return { fields, alive: removeSeenWriters(base.alive, op.deps), tombs: base.tombs };
}

/** `id` is the op's sharedIdentity, when the caller already has it. */
export function applyOp(row: RowState | undefined, op: Op, policy: TablePolicy, id: string | undefined = sharedIdentity(op)): RowState {
  return op.kind === 'write' ? applyWrite(row, op, policy, id) : applyDelete(row, op, policy);
}

/** The value of one field, or undefined when it has no content. */
export function fieldValue(s: FieldState, t: FieldType, merge: MergeRegistry): JsonValue | undefined {
  return kindOfState(s).value(s, t, merge);
}

/** The row as clients see it (before unique-field masking), or null when it does not exist. */
export function viewRow(key: string, row: RowState | undefined, policy: TablePolicy, merge: MergeRegistry): RowView | null {
  if (row === undefined || !rowExists(row)) return null;
  const fields: Record<string, JsonValue> = {};
  for (const name of Object.keys(row.fields).sort()) {
    const s = row.fields[name];
    if (s === undefined) continue;
    const v = fieldValue(s, fieldType(policy, name), merge);
    if (v !== undefined) fields[name] = v;
  }
  return { key, fields, version: formatHlc((latestWriter(row.alive) as Stamp).hlc) };
}

/**
 * Compacts metadata below the causally stable vector: drops redundant dots and heads, folds
 * counters and purges stable tombstones older than the policy's retention. Never changes what
 * `viewRow` returns, nor what any later op does to the row.
 */
export function compactRow(row: RowState, stable: VersionVector, policy: TablePolicy, nowMs: number): RowState {
  let fields: Record<string, FieldState> | null = null;
  for (const name in row.fields) {
    const s = row.fields[name] as FieldState;
    const next = kindOfState(s).compact(s, fieldType(policy, name), stable);
    if (next === s) continue;
    fields ??= { ...row.fields };
    if (next === null) delete fields[name];
    else fields[name] = next;
  }
  const alive = compactExistence(row.alive, stable);
  const retained = (t: Stamp) => policy.tombstoneRetentionMs > 0 && t.hlc.wall + policy.tombstoneRetentionMs > nowMs;
  const tombs = row.tombs.filter((t) => !covers(stable, t.dot) || retained(t));
  if (fields === null && alive === row.alive && tombs.length === row.tombs.length) return row;
  return { fields: fields ?? row.fields, alive, tombs: tombs.length === row.tombs.length ? row.tombs : tombs };
}

/**
 * State merge of two rows with their replicas' causal contexts (their applied vectors). Used to
 * prove the algebra; replicas exchange ops, not states. Under delete-wins, what one side holds
 * that the other never saw dies if the other holds a tombstone the first never saw: the two are
 * concurrent, and the delete wins.
 */
export function mergeRows(a: RowState, ctxA: VersionVector, b: RowState, ctxB: VersionVector, policy: TablePolicy): RowState {
  const names = new Set([...Object.keys(a.fields), ...Object.keys(b.fields)]);
  const dw = policy.onDeleteUpdate === 'delete-wins';
  const killOnlyA = dw && b.tombs.some((t) => !covers(ctxA, t.dot));
  const killOnlyB = dw && a.tombs.some((t) => !covers(ctxB, t.dot));
  const keep = (dot: { origin: string; seq: number }) =>
    !(killOnlyA && !covers(ctxB, dot)) && !(killOnlyB && !covers(ctxA, dot));
  const fields: Record<string, FieldState> = {};
  for (const name of names) {
    const empty = kindOf(fieldType(policy, name)).empty;
    const x = Object.hasOwn(a.fields, name) ? (a.fields[name] as FieldState) : empty;
    const y = Object.hasOwn(b.fields, name) ? (b.fields[name] as FieldState) : empty;
    const kind = kindOfState(x);
    if (x.t !== y.t) throw new Error(`mergeField: field types differ (${x.t} vs ${y.t})`);
    const merged = kind.keepDots(kind.merge(x, ctxA, y, ctxB), keep);
    if (fieldHasContent(merged)) fields[name] = merged;
  }
  const tombDots = mergeDotSets(a.tombs.map((t) => t.dot), ctxA, b.tombs.map((t) => t.dot), ctxB);
  const tombs = tombDots.map((d) => [...a.tombs, ...b.tombs].find((t) => t.dot.origin === d.origin && t.dot.seq === d.seq) as Stamp);
  return {
    fields,
    alive: mergeExistence(a.alive, ctxA, b.alive, ctxB).filter((x) => keep(x.dot)),
    tombs,
  };
}
