/**
 * Sets (add-wins OR-sets): for every set field of a row with no delete and no set/unset of the
 * field, the final elements are exactly the sequential add-wins specification over the ledger —
 * an element is present iff some add of it was not followed (causally) by a remove of it. And an
 * acknowledged add is present at the end unless something that could undo it may have happened
 * after it.
 */
import { rowChangingOps } from './ledger-model.js';
import { fieldType } from '../../core/schema/policy.js';
import { canonicalJson, type JsonValue } from '../../core/util/json.js';
import type { FinalRegionState, RunRecord, WriteBody } from '../history.js';
import { callsOf, fmtCall, writeAckOf, type Call } from './calls.js';
import { dotKey } from '../../core/clock/version-vector.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtJson } from './format.js';
import { happenedBefore } from './reference.js';
import { groupBy } from './group.js';
import type { Op } from '../../core/model/op.js';

export const setsName = 'sets';

interface SetField {
  readonly table: string;
  readonly key: string;
  readonly field: string;
}

const setFieldId = (s: SetField): string => [s.table, s.key, s.field].join('\u0000');
const rowId = (table: string, key: string): string => table + '\u0000' + key;
const fmtSetField = (s: SetField): string => `set ${s.table}/${s.key}.${s.field}`;

export function checkSets(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  const calls = callsOf(run.history);
  const opsByRow = groupBy(rowChangingOps(run), (o) => rowId(o.table, o.key));
  // Writes acknowledged by a region later evicted and received by no other are orphaned: never
  // applied (their dots carry orphan reports); final-state checks that each is listed instead.
  const orphaned = new Set(run.ledger.filter((o) => o.orphaned !== undefined).map((o) => dotKey(o.dot)));
  const isOrphaned = (c: Call): boolean => {
    const ack = writeAckOf(c);
    return ack !== null && orphaned.has(dotKey(ack.dot));
  };
  const callsByRow = groupBy(calls, (c) => (c.invoke.call.f === 'read' ? '' : rowId(c.invoke.call.table, c.invoke.call.key)));
  for (const sf of setFields(run, calls)) {
    const ops = opsByRow.get(rowId(sf.table, sf.key)) ?? [];
    if (ops.some((o) => o.kind === 'delete')) continue;
    const final = run.finals[0];
    if (final === undefined) {
      f.violation(`${fmtSetField(sf)}: no final state to check (heal did not finish)`);
      continue;
    }
    const actual = finalElements(final, sf, f);
    if (!ops.some((o) => isReset(o.changes[sf.field]))) {
      f.examined();
      compareWithSpec(sf, final.region, actual, ops, f);
    }
    checkAckedAdds(sf, final.region, actual, (callsByRow.get(rowId(sf.table, sf.key)) ?? []).filter((c) => !isOrphaned(c)), f);
  }
  return f.verdict(setsName);
}

function isSetField(run: RunRecord, table: string, field: string): boolean {
  const policy = run.tables[table];
  return policy !== undefined && policy.mode === 'async' && fieldType(policy, field) === 'set';
}

function bodyFields(body: WriteBody): string[] {
  return [...Object.keys(body.set ?? {}), ...(body.unset ?? []), ...Object.keys(body.add ?? {}), ...Object.keys(body.remove ?? {})];
}

function setFields(run: RunRecord, calls: readonly Call[]): SetField[] {
  const out = new Map<string, SetField>();
  const note = (table: string, key: string, field: string): void => {
    if (isSetField(run, table, field)) out.set(setFieldId({ table, key, field }), { table, key, field });
  };
  for (const op of rowChangingOps(run)) for (const field of Object.keys(op.changes)) note(op.table, op.key, field);
  for (const call of calls) {
    const c = call.invoke.call;
    if (c.f === 'write') for (const field of bodyFields(c.body)) note(c.table, c.key, field);
  }
  return [...out.keys()].sort().map((id) => out.get(id) as SetField);
}

function isReset(c: Op['changes'][string] | undefined): boolean {
  return c?.k === 'set' || c?.k === 'unset';
}

/** The final elements by canonical JSON; also checks the stored form (sorted, no duplicates). */
function finalElements(final: FinalRegionState, sf: SetField, f: Findings): Set<string> {
  const row = (final.rows[sf.table] ?? []).find((r) => r.key === sf.key);
  const value = row?.fields[sf.field];
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) {
    f.violation(`${fmtSetField(sf)}: region ${final.region} holds ${fmtJson(value)}, not an array`);
    return new Set();
  }
  const elements = (value as readonly JsonValue[]).map((e) => canonicalJson(e));
  if (elements.some((e, i) => i > 0 && (elements[i - 1] ?? '') >= e)) {
    f.violation(`${fmtSetField(sf)}: region ${final.region} holds ${fmtJson(value)}, not sorted by canonical JSON without duplicates`);
  }
  return new Set(elements);
}

function added(op: Op, field: string): string[] {
  const c = op.changes[field];
  if (c?.k === 'add') return c.elems.map((e) => canonicalJson(e));
  if (c?.k === 'set' && Array.isArray(c.value)) return (c.value as readonly JsonValue[]).map((e) => canonicalJson(e));
  return [];
}

function undoes(op: Op, field: string, element: string): boolean {
  const c = op.changes[field];
  return isReset(c) || (c?.k === 'remove' && c.elems.some((e) => canonicalJson(e) === element));
}

/** Sequential add-wins: e is present iff some add of e happened before no remove of e. */
function compareWithSpec(sf: SetField, region: string, actual: Set<string>, ops: readonly Op[], f: Findings): void {
  const expected = new Set<string>();
  for (const a of ops) {
    for (const e of added(a, sf.field)) {
      if (!ops.some((r) => undoes(r, sf.field, e) && happenedBefore(a, r))) expected.add(e);
    }
  }
  for (const e of [...expected].sort()) {
    if (!actual.has(e)) f.violation(`${fmtSetField(sf)}: region ${region} lacks ${e}, which the ledger adds and never removes after the add`);
  }
  for (const e of [...actual].sort()) {
    if (!expected.has(e)) f.violation(`${fmtSetField(sf)}: region ${region} holds ${e}, but every add of it in the ledger was removed afterwards (or there is none)`);
  }
}

/** Could `other` (not failed) undo an add of `element` made by `add`? Only if it may have happened after it. */
function mayUndo(other: Call, add: Call, addBeganAt: number, sf: SetField, element: string): boolean {
  const c = other.invoke.call;
  if (other.outcome === 'fail' || c.f === 'read' || c.table !== sf.table || c.key !== sf.key) return false;
  // A delete can be concurrent with the add however early it completed (delete-wins kills it).
  if (c.f === 'delete') return true;
  const touches = c.body.set?.[sf.field] !== undefined || (c.body.unset ?? []).includes(sf.field) || (c.body.remove?.[sf.field] ?? []).some((e) => canonicalJson(e) === element);
  // Superseding needs the add to have happened before it: impossible if it completed before the
  // add began. A retried add began with its first attempt (which may be the op that took effect).
  // An unknown outcome (a timeout) may take effect at any time after its invoke: a request queued
  // in a paused node runs when the node wakes, however long after its client gave up.
  return touches && other !== add && (other.outcome === 'info' || other.completedAt > addBeganAt);
}

/** `calls`: the writes and deletes of the set's row. */
function checkAckedAdds(sf: SetField, region: string, actual: Set<string>, calls: readonly Call[], f: Findings): void {
  const byId = new Map(calls.map((c) => [c.id, c]));
  for (const add of calls) {
    const c = add.invoke.call;
    if (add.outcome !== 'ok' || c.f !== 'write' || c.table !== sf.table || c.key !== sf.key) continue;
    const retryOf = add.invoke.retryOf;
    const beganAt = retryOf === undefined ? add.invokeAt : (byId.get(retryOf)?.invokeAt ?? add.invokeAt);
    for (const e of (c.body.add?.[sf.field] ?? []).map((x) => canonicalJson(x))) {
      f.examined();
      if (actual.has(e) || calls.some((other) => mayUndo(other, add, beganAt, sf, e))) continue;
      f.violation(`${fmtSetField(sf)}: ${fmtCall(add)} added ${e} (acknowledged) but region ${region} ends without it, and nothing that could remove it ran after the add`);
    }
  }
}

