/**
 * Validation of a `POST /v1/txn` body (docs/api.md, "Transactions") into a Txn. Everything is checked before anything
 * is proposed, with the exact field named: a refused transaction changes nothing anywhere.
 */
import { badRequest, ternError, type Result, ok, fail, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import { acceptsField, fieldType, isValidFieldName, undeclaredFieldMessage, type TablePolicy } from '../schema/policy.js';
import { jsonProblem, type JsonValue } from '../util/json.js';
import { kindOf, patchGroups } from '../crdt/kinds/registry.js';
import { compareOps, type Compare, type CompareOp, type Txn, type TxnOp } from './types.js';
import { keyProblem } from '../model/validate.js';
import { parseWriteBody } from '../model/write-body.js';


const txnKeys = new Set(['compare', 'success', 'failure']);
const patchKeys: readonly string[] = patchGroups;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The strong table named at `where`, or why not. */
export function strongTable(tables: Readonly<Record<string, TablePolicy>>, table: unknown, where: string): Result<TablePolicy> {
  if (typeof table !== 'string' || table === '') return fail(badRequest(where, 'must be a table name'));
  const policy = Object.hasOwn(tables, table) ? tables[table] : undefined;
  if (policy === undefined) return fail(ternError('NO_SUCH_TABLE', `${where}: no table named ${table}; list tables with GET /v1/tables`, { field: where }));
  if (policy.mode !== 'strong') return fail(badRequest(where, `${table} is an async table; transactions cover strong tables only`));
  return ok(policy);
}

function rowRef(tables: Readonly<Record<string, TablePolicy>>, item: Record<string, unknown>, where: string): Result<{ table: string; key: string; policy: TablePolicy }> {
  const policy = strongTable(tables, item['table'], `${where}.table`);
  if (!policy.ok) return policy;
  const kp = keyProblem(item['key'], `${where}.key`);
  if (kp !== null) return fail(kp);
  return ok({ table: item['table'] as string, key: item['key'] as string, policy: policy.value });
}

function parseCompare(tables: Readonly<Record<string, TablePolicy>>, item: unknown, where: string): Result<Compare> {
  if (!isRecord(item)) return fail(badRequest(where, 'must be {table, key, field, op, value}, {table, key, op, version} or {table, key, op: "exists"|"missing"}'));
  for (const k of Object.keys(item)) {
    if (!['table', 'key', 'field', 'op', 'value', 'version'].includes(k)) return fail(badRequest(`${where}.${k}`, 'unknown key (use table, key, field, op, value or version)'));
  }
  const ref = rowRef(tables, item, where);
  if (!ref.ok) return ref;
  const { table, key, policy } = ref.value;
  const op = item['op'];
  if (op === 'exists' || op === 'missing') {
    if (item['field'] !== undefined || item['value'] !== undefined || item['version'] !== undefined) return fail(badRequest(where, `"${op}" tests the row itself: give no field, value or version`));
    return ok({ kind: op, table, key });
  }
  if (typeof op !== 'string' || !(compareOps as readonly string[]).includes(op)) return fail(badRequest(`${where}.op`, `must be one of ${compareOps.join(' ')}, exists or missing`));
  const cop = op as CompareOp;
  if (item['version'] !== undefined) {
    const v = item['version'];
    if (item['field'] !== undefined || item['value'] !== undefined) return fail(badRequest(where, 'a version compare has no field or value'));
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return fail(badRequest(`${where}.version`, 'must be a non-negative integer (a row version; 0 for a missing row)'));
    return ok({ kind: 'version', table, key, op: cop, value: v });
  }
  const field = item['field'];
  if (field === undefined) return fail(badRequest(`${where}.field`, 'is required (or compare the row with op "exists"/"missing", or its version)'));
  if (typeof field !== 'string' || !isValidFieldName(field)) return fail(badRequest(`${where}.field`, 'must be a field name'));
  if (!acceptsField(policy, field)) return fail(badRequest(`${where}.field`, undeclaredFieldMessage(policy, field)));
  if (!Object.hasOwn(item, 'value')) return fail(badRequest(`${where}.value`, 'is required (null matches an absent field)'));
  const value = item['value'];
  const problem = jsonProblem(value);
  if (problem !== null) return fail(badRequest(`${where}.value`, problem));
  const ordering = cop !== '==' && cop !== '!=';
  const refused = kindOf(fieldType(policy, field)).compareProblem(field, ordering, value as JsonValue);
  if (refused !== null) return fail(badRequest(`${where}.${refused.at}`, refused.message));
  if (ordering && typeof value !== 'number' && typeof value !== 'string') return fail(badRequest(`${where}.value`, `${op} compares numbers or strings`));
  return ok({ kind: 'field', table, key, field, op: cop, value: value as JsonValue });
}

function parseOp(tables: Readonly<Record<string, TablePolicy>>, item: unknown, where: string): Result<TxnOp> {
  if (!isRecord(item)) return fail(badRequest(where, 'must be {table, key, get: true}, {table, key, delete: true} or {table, key, set?, unset?, incr?, add?, remove?}'));
  const ref = rowRef(tables, item, where);
  if (!ref.ok) return ref;
  const { table, key, policy } = ref.value;
  const rest = Object.keys(item).filter((k) => k !== 'table' && k !== 'key');
  if (rest.length === 1 && rest[0] === 'get') {
    if (item['get'] !== true) return fail(badRequest(`${where}.get`, 'must be true'));
    return ok({ kind: 'get', table, key });
  }
  if (rest.length === 1 && rest[0] === 'delete') {
    if (item['delete'] !== true) return fail(badRequest(`${where}.delete`, 'must be true'));
    return ok({ kind: 'delete', table, key });
  }
  for (const k of rest) if (!patchKeys.includes(k)) return fail(badRequest(`${where}.${k}`, 'unknown key (an op is get, delete, or set/unset/incr/add/remove)'));
  const body: Record<string, unknown> = {};
  for (const k of rest) body[k] = item[k];
  const changes = parseWriteBody(body, 'PATCH', policy);
  if (!changes.ok) return fail(prefixed(changes.error, where));
  return ok({ kind: 'write', table, key, changes: changes.value });
}

function prefixed(e: TernError, where: string): TernError {
  const field = e.field === undefined || e.field === 'body' ? where : `${where}.${e.field}`;
  const message = e.field !== undefined && e.message.startsWith(`${e.field}: `) ? `${field}: ${e.message.slice(e.field.length + 2)}` : `${field}: ${e.message}`;
  return { ...e, field, message };
}

function list(body: Record<string, unknown>, name: string): Result<unknown[]> {
  const v = body[name] ?? [];
  if (!Array.isArray(v)) return fail(badRequest(name, 'must be a list'));
  return ok(v);
}

/** A POST /v1/txn body → a Txn over the given tables, or the first problem found. */
export function parseTxnBody(body: unknown, tables: Readonly<Record<string, TablePolicy>>): Result<Txn> {
  if (!isRecord(body)) return fail(badRequest('body', 'must be a JSON object {compare, success, failure}'));
  for (const k of Object.keys(body)) if (!txnKeys.has(k)) return fail(badRequest(k, 'unknown key (a transaction is {compare, success, failure})'));
  const lists = { compare: list(body, 'compare'), success: list(body, 'success'), failure: list(body, 'failure') };
  for (const l of Object.values(lists)) if (!l.ok) return l;
  const [cs, ss, fs] = [lists.compare, lists.success, lists.failure].map((l) => (l.ok ? l.value : [])) as [unknown[], unknown[], unknown[]];
  const total = cs.length + ss.length + fs.length;
  if (total === 0) return fail(badRequest('body', 'an empty transaction: give at least one compare or op'));
  if (total > limits.txnItemsMax) return fail(ternError('TOO_LARGE', `body: at most ${limits.txnItemsMax} compares plus ops in one transaction (got ${total})`, { field: 'body' }));
  const compare: Compare[] = [];
  for (const [i, c] of cs.entries()) {
    const r = parseCompare(tables, c, `compare[${i}]`);
    if (!r.ok) return r;
    compare.push(r.value);
  }
  const branches: { success: TxnOp[]; failure: TxnOp[] } = { success: [], failure: [] };
  for (const [name, items] of [['success', ss], ['failure', fs]] as const) {
    for (const [i, o] of items.entries()) {
      const r = parseOp(tables, o, `${name}[${i}]`);
      if (!r.ok) return r;
      branches[name].push(r.value);
    }
  }
  return ok({ compare, success: branches.success, failure: branches.failure });
}
