/**
 * Validation of a client's write body into field changes. Everything a write could get wrong is
 * caught here, before any state is touched, with the exact field named (docs/api.md: "a
 * request that fails changes nothing").
 */
import { badRequest, ternError, type Result, ok, fail } from '../errors.js';
import { assert } from '../util/assert.js';
import { limits } from '../limits.js';
import { canonicalJson, jsonProblem, utf8Length, type JsonValue } from '../util/json.js';
import { acceptsField, fieldType, isValidFieldName, undeclaredFieldMessage, type FieldType, type TablePolicy } from '../schema/policy.js';
import { kindOf, opOwner, patchGroups } from '../crdt/kinds/registry.js';
import type { KindOp } from '../crdt/kinds/kind.js';
import type { FieldChange } from './op.js';

/** set, unset, then the field kinds' own ops (incr, add, remove). */
const patchKeys = patchGroups;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setChange(where: string, t: FieldType, value: unknown): Result<FieldChange> {
  const problem = jsonProblem(value);
  if (problem !== null) return fail(badRequest(where, problem));
  return kindOf(t).parseSet(where, value as JsonValue);
}

/** A kind's own op (incr, add, remove): only a field of the kind that owns it takes it. */
function opChange(where: string, group: KindOp, f: string, t: FieldType, value: unknown): Result<FieldChange> {
  const owner = opOwner(group);
  assert(owner !== undefined, () => `no field kind takes ${group}`);
  if (kindOf(t) !== owner.kind) return fail(badRequest(where, `${group} needs a ${owner.kind.name} field; ${f} is ${t}`));
  return owner.spec.parse(where, value);
}

function groupChanges(group: (typeof patchKeys)[number], entries: unknown, policy: TablePolicy, out: Record<string, FieldChange>): Result<null> {
  if (group === 'unset') {
    if (!Array.isArray(entries)) return fail(badRequest('unset', 'must be a list of field names'));
    for (const [i, f] of entries.entries()) {
      if (typeof f !== 'string' || !isValidFieldName(f)) return fail(badRequest(`unset[${i}]`, 'must be a field name'));
      if (!acceptsField(policy, f)) return fail(badRequest(`unset[${i}]`, undeclaredFieldMessage(policy, f)));
      if (Object.hasOwn(out, f)) return fail(badRequest(`unset[${i}]`, `field ${f} is changed twice in one request`));
      out[f] = { k: 'unset' };
    }
    return ok(null);
  }
  if (!isRecord(entries)) return fail(badRequest(group, 'must be an object of field name to value'));
  for (const [f, v] of Object.entries(entries)) {
    const where = `${group}.${f}`;
    if (!isValidFieldName(f)) return fail(badRequest(where, `field names match /^[A-Za-z_][A-Za-z0-9_.-]*$/ (at most ${limits.fieldNameCharsMax} characters)`));
    if (Object.hasOwn(out, f)) return fail(badRequest(where, `field ${f} is changed twice in one request`));
    if (!acceptsField(policy, f)) return fail(badRequest(where, undeclaredFieldMessage(policy, f)));
    const t = fieldType(policy, f);
    const c = group === 'set' ? setChange(where, t, v) : opChange(where, group, f, t, v);
    if (!c.ok) return c;
    out[f] = c.value;
  }
  return ok(null);
}

/** PATCH body {set, unset, incr, add, remove} or PUT body {fields} → changes sorted by field. */
export function parseWriteBody(body: unknown, method: 'PATCH' | 'PUT', policy: TablePolicy): Result<Readonly<Record<string, FieldChange>>> {
  if (!isRecord(body)) return fail(badRequest('body', 'must be a JSON object'));
  const out: Record<string, FieldChange> = {};
  if (method === 'PUT') {
    for (const k of Object.keys(body)) if (k !== 'fields') return fail(badRequest(k, "unknown key (a PUT body is {\"fields\": {...}})"));
    const r = groupChanges('set', body['fields'] ?? {}, policy, out);
    if (!r.ok) return fail({ ...r.error, message: r.error.message.replace(/^set/, 'fields'), field: r.error.field?.replace(/^set/, 'fields') });
  } else {
    for (const k of Object.keys(body)) {
      if (!(patchKeys as readonly string[]).includes(k)) return fail(badRequest(k, `unknown key (use ${patchKeys.join(', ')})`));
    }
    for (const group of patchKeys) {
      if (body[group] === undefined) continue;
      const r = groupChanges(group, body[group], policy, out);
      if (!r.ok) return r;
    }
  }
  const names = Object.keys(out).sort();
  if (names.length === 0) return fail(badRequest('body', 'changes no field'));
  if (names.length > limits.fieldsPerWriteMax) return fail(badRequest('body', `changes more than ${limits.fieldsPerWriteMax} fields`));
  if (utf8Length(canonicalJson(out)) > limits.rowBytesMax) return fail(ternError('TOO_LARGE', `the changes exceed ${limits.rowBytesMax} bytes`, { field: 'body' }));
  const sorted: Record<string, FieldChange> = {};
  for (const n of names) sorted[n] = out[n] as FieldChange;
  return ok(sorted);
}
