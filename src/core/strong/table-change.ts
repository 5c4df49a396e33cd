/**
 * Which table changes the log accepts. Creating a table is always allowed. Altering one may only
 * change what existing data can follow: rows already written (and, for async tables, CRDT state
 * already replicated) must keep their meaning, so the mode, the declared type of a field, the
 * ownership and the unique fields are fixed once a table exists; new fields may be declared, and
 * tombstone retention and residency may change. The delete rule of an async table is fixed too:
 * regions apply async ops at different log positions of the change, so a delete and a concurrent
 * update resolved under different rules would leave them apart for good (found in review).
 *
 * The check runs when a change is proposed (to answer 400 at once) and again when it is applied,
 * because two concurrent changes can each be fine alone; the second then fails the same way on
 * every node.
 */
import { badRequest, type TernError } from '../errors.js';
import { canonicalJson } from '../util/json.js';
import type { TablePolicy } from '../schema/policy.js';

export function alterProblem(table: string, before: TablePolicy | undefined, after: TablePolicy): TernError | null {
  if (before === undefined) return null;
  if (before.mode !== after.mode) return badRequest('mode', `table ${table} is ${before.mode}; the mode of an existing table cannot change (create a new table and copy the rows)`);
  for (const [field, t] of Object.entries(before.fields)) {
    const now = Object.hasOwn(after.fields, field) ? after.fields[field] : undefined;
    if (now !== t) return badRequest(`fields.${field}`, `${field} is declared ${t}; an existing field's type cannot change or be dropped`);
  }
  for (const [field, t] of Object.entries(after.fields)) {
    if (!Object.hasOwn(before.fields, field) && t !== 'lww' && before.mode === 'async') {
      // An undeclared field is lww: rows may already hold lww state under this name.
      return badRequest(`fields.${field}`, `a new field of an existing async table must be lww (rows may already hold ${field} as lww)`);
    }
  }
  if (before.ownership !== after.ownership || canonicalJson(before.home) !== canonicalJson(after.home)) {
    return badRequest('ownership', `the ownership and home of table ${table} cannot change`);
  }
  if (canonicalJson(before.unique) !== canonicalJson(after.unique)) return badRequest('unique', `the unique fields of table ${table} cannot change`);
  if (before.mode === 'async' && before.onDeleteUpdate !== after.onDeleteUpdate) {
    return badRequest('onDeleteUpdate', `table ${table} resolves a delete against a concurrent update by ${before.onDeleteUpdate}; that rule cannot change (regions would resolve the same ops differently)`);
  }
  return null;
}
