/**
 * Table policies (docs/api.md, "Table policies") and their validation. A policy decides, per table,
 * the place on the consistency spectrum and how every field converges. Validation fills defaults
 * and names the exact field at fault, so a bad configuration file or `PUT /v1/tables/:table` body
 * can say what to fix.
 */
import { badRequest, type Result, ok, fail } from '../errors.js';
import { limits } from '../limits.js';
import { isRegionId, type RegionId } from '../clock/version-vector.js';
import { fieldTypeNames, isKindTypeName } from '../crdt/kinds/registry.js';

export type MergeFieldType = `merge:${string}`;
/** The names of the field kinds' types (src/core/crdt/kinds/registry.ts), which validation accepts. */
export type FieldType = 'lww' | 'counter' | 'set' | MergeFieldType;

export type TableMode = 'strong' | 'async';
export type Ownership = 'multi-writer' | 'home' | 'home-with-failover';
export type OnDeleteUpdate = 'delete-wins' | 'update-wins';

export interface UniqueField {
  readonly field: string;
  /** `async`: duplicates are refused locally and concurrent ones resolved first-writer-wins. `strong`: claimed through the Raft group. */
  readonly enforce: 'async' | 'strong';
}

export interface TablePolicy {
  readonly mode: TableMode;
  /** Declared field types; a field not declared here is `lww`. */
  readonly fields: Readonly<Record<string, FieldType>>;
  readonly ownership: Ownership;
  /** For `home` ownership: a fixed home region, or the field of each row that names it. */
  readonly home: { readonly region?: RegionId; readonly field?: string } | null;
  readonly onDeleteUpdate: OnDeleteUpdate;
  readonly unique: readonly UniqueField[];
  /** Extra time a causally stable tombstone is kept before it is purged. */
  readonly tombstoneRetentionMs: number;
  /** Regions allowed to hold the rows; null means every region. */
  readonly residency: readonly RegionId[] | null;
  /**
   * Async multi-writer tables: `accept` (the default) keeps taking writes in a region cut off from
   * the others, to be merged on heal; `reject` makes every write to the table a guarded one, taken
   * only while the region holds its write lease. Rows of `home` tables are always guarded.
   */
  readonly whenIsolated: WhenIsolated;
  /**
   * Fields a write may name beyond `fields` (and the home and unique fields): `reject` (the default
   * when fields are declared, so a typo is an error, not a new field) or `lww` (the default when none are).
   */
  readonly undeclaredFields: UndeclaredFields;
}

export type WhenIsolated = 'accept' | 'reject';
export type UndeclaredFields = 'reject' | 'lww';

/** Whether a client write or compare may name `field`: declared, the home or a unique field, or undeclared fields are allowed. */
export function acceptsField(policy: TablePolicy, field: string): boolean {
  if (Object.hasOwn(policy.fields, field) || policy.home?.field === field || policy.unique.some((u) => u.field === field)) return true;
  // Policies stored before the option existed lack it: they get the default.
  return (policy.undeclaredFields ?? defaultUndeclared(policy.fields)) === 'lww';
}

function defaultUndeclared(fields: Readonly<Record<string, FieldType>>): UndeclaredFields {
  return Object.keys(fields).length > 0 ? 'reject' : 'lww';
}

/** The error for a field the table does not declare. */
export function undeclaredFieldMessage(policy: TablePolicy, field: string): string {
  const declared = [...new Set([...Object.keys(policy.fields), ...(policy.home?.field !== undefined ? [policy.home.field] : []), ...policy.unique.map((u) => u.field)])].sort();
  return `the table declares no field ${field} (declared: ${declared.join(', ')}); add it to the table's fields, or set undeclaredFields: lww to allow any`;
}

/** Writes to this table need a write lease (the region's own, or a takeover of the row's home). */
export function isGuarded(policy: TablePolicy): boolean {
  return policy.mode === 'async' && (policy.ownership !== 'multi-writer' || policy.whenIsolated === 'reject');
}

export const tableNamePattern = /^[A-Za-z_][A-Za-z0-9_-]*$/;
export const fieldNamePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const mergeNamePattern = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export function fieldType(policy: TablePolicy, field: string): FieldType {
  return Object.hasOwn(policy.fields, field) ? (policy.fields[field] as FieldType) : 'lww';
}

export function isMergeType(t: FieldType): t is MergeFieldType {
  return t.startsWith('merge:');
}

export function mergeName(t: MergeFieldType): string {
  return t.slice('merge:'.length);
}

/** The declarable types as errors list them: "lww, counter, set or merge:<name>". */
const typeChoices = `${fieldTypeNames.slice(0, -1).join(', ')} or ${fieldTypeNames[fieldTypeNames.length - 1]}`;

/** `__proto__` as a property name changes an object's prototype instead of setting a field. */
const reservedNames = new Set(['__proto__']);

export function isValidFieldName(name: string): boolean {
  return name.length > 0 && name.length <= limits.fieldNameCharsMax && fieldNamePattern.test(name) && !reservedNames.has(name);
}

export function isValidTableName(name: string): boolean {
  return name.length > 0 && name.length <= limits.tableNameCharsMax && tableNamePattern.test(name) && !reservedNames.has(name);
}

export interface PolicyContext {
  /** Every region of the cluster, for residency and home checks. */
  readonly regions: readonly RegionId[];
  /** Names of registered merge functions; when given, `merge:<name>` must name one of them. */
  readonly mergeFunctions?: readonly string[];
}

const policyKeys = new Set(['mode', 'fields', 'ownership', 'home', 'onDeleteUpdate', 'unique', 'tombstoneRetentionMs', 'residency', 'whenIsolated', 'undeclaredFields']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a policy given as parsed JSON/YAML and fills its defaults. `path` prefixes the field
 * names in errors (for example `tables.profiles`).
 */
export function validatePolicy(input: unknown, ctx: PolicyContext, path = 'policy'): Result<TablePolicy> {
  if (!isRecord(input)) return fail(badRequest(path, 'must be an object'));
  for (const k of Object.keys(input)) {
    if (!policyKeys.has(k)) return fail(badRequest(`${path}.${k}`, `unknown policy field (known: ${[...policyKeys].join(', ')})`));
  }
  const mode = input['mode'] ?? 'async';
  if (mode !== 'async' && mode !== 'strong') return fail(badRequest(`${path}.mode`, "must be 'async' or 'strong'"));

  const fieldsIn = input['fields'] ?? {};
  if (!isRecord(fieldsIn)) return fail(badRequest(`${path}.fields`, 'must be an object of field name to type'));
  const fields: Record<string, FieldType> = {};
  for (const name of Object.keys(fieldsIn).sort()) {
    const where = `${path}.fields.${name}`;
    if (!isValidFieldName(name)) return fail(badRequest(where, `field names match ${fieldNamePattern}, have at most ${limits.fieldNameCharsMax} characters and are not __proto__`));
    const t = fieldsIn[name];
    if (typeof t === 'string' && isKindTypeName(t)) fields[name] = t as FieldType;
    else if (typeof t === 'string' && t.startsWith('merge:')) {
      const fn = t.slice('merge:'.length);
      if (!mergeNamePattern.test(fn)) return fail(badRequest(where, `merge function names match ${mergeNamePattern}`));
      if (ctx.mergeFunctions !== undefined && !ctx.mergeFunctions.includes(fn)) {
        return fail(badRequest(where, `no merge function '${fn}' is registered (registered: ${ctx.mergeFunctions.join(', ') || 'none'})`));
      }
      fields[name] = t as MergeFieldType;
    } else return fail(badRequest(where, `unknown field type ${JSON.stringify(t)} (use ${typeChoices})`));
  }

  const ownership = input['ownership'] ?? 'multi-writer';
  if (ownership !== 'multi-writer' && ownership !== 'home' && ownership !== 'home-with-failover') {
    return fail(badRequest(`${path}.ownership`, "must be 'multi-writer', 'home' or 'home-with-failover'"));
  }
  let home: TablePolicy['home'] = null;
  const homeIn = input['home'];
  if (homeIn !== undefined) {
    if (!isRecord(homeIn)) return fail(badRequest(`${path}.home`, 'must be {region} or {field}'));
    const region = homeIn['region'];
    const field = homeIn['field'];
    if ((region === undefined) === (field === undefined)) return fail(badRequest(`${path}.home`, 'give exactly one of region or field'));
    if (region !== undefined && (!isRegionId(region) || !ctx.regions.includes(region))) {
      return fail(badRequest(`${path}.home.region`, `must be one of the cluster's regions (${ctx.regions.join(', ')})`));
    }
    if (field !== undefined && (typeof field !== 'string' || !isValidFieldName(field))) return fail(badRequest(`${path}.home.field`, 'must be a field name'));
    if (typeof field === 'string' && Object.hasOwn(fields, field) && fields[field] !== 'lww') return fail(badRequest(`${path}.home.field`, 'the home field must be an lww field'));
    home = region !== undefined ? { region: region as RegionId } : { field: field as string };
  }
  if (ownership === 'multi-writer' && home !== null) return fail(badRequest(`${path}.home`, "only tables with 'home' ownership have a home"));
  if (ownership !== 'multi-writer' && home === null) return fail(badRequest(`${path}.home`, `ownership '${ownership}' needs home: {region} or {field}`));
  if (mode === 'strong' && ownership !== 'multi-writer') return fail(badRequest(`${path}.ownership`, 'strong tables are ordered by the Raft group; ownership does not apply'));

  const onDeleteUpdate = input['onDeleteUpdate'] ?? 'delete-wins';
  if (onDeleteUpdate !== 'delete-wins' && onDeleteUpdate !== 'update-wins') {
    return fail(badRequest(`${path}.onDeleteUpdate`, "must be 'delete-wins' or 'update-wins'"));
  }

  const uniqueIn = input['unique'] ?? [];
  if (!Array.isArray(uniqueIn)) return fail(badRequest(`${path}.unique`, 'must be a list of {field, enforce}'));
  const unique: UniqueField[] = [];
  for (const [i, u] of uniqueIn.entries()) {
    const where = `${path}.unique[${i}]`;
    const spec = typeof u === 'string' ? { field: u, enforce: 'async' } : u;
    if (!isRecord(spec)) return fail(badRequest(where, 'must be a field name or {field, enforce}'));
    const field = spec['field'];
    const enforce = spec['enforce'] ?? 'async';
    if (typeof field !== 'string' || !isValidFieldName(field)) return fail(badRequest(`${where}.field`, 'must be a field name'));
    if (Object.hasOwn(fields, field) && fields[field] !== 'lww') return fail(badRequest(`${where}.field`, 'only lww fields can be unique'));
    if (enforce !== 'async' && enforce !== 'strong') return fail(badRequest(`${where}.enforce`, "must be 'async' or 'strong'"));
    if (unique.some((x) => x.field === field)) return fail(badRequest(`${where}.field`, `${field} is listed twice`));
    unique.push({ field, enforce });
  }

  const retention = input['tombstoneRetentionMs'] ?? 0;
  if (typeof retention !== 'number' || !Number.isSafeInteger(retention) || retention < 0) {
    return fail(badRequest(`${path}.tombstoneRetentionMs`, 'must be a non-negative integer of milliseconds'));
  }

  let residency: RegionId[] | null = null;
  const residencyIn = input['residency'];
  if (residencyIn !== undefined && residencyIn !== null) {
    if (!Array.isArray(residencyIn) || residencyIn.length === 0) return fail(badRequest(`${path}.residency`, 'must be a non-empty list of regions'));
    for (const [i, r] of residencyIn.entries()) {
      if (!isRegionId(r) || !ctx.regions.includes(r)) return fail(badRequest(`${path}.residency[${i}]`, `must be one of ${ctx.regions.join(', ')}`));
    }
    residency = [...new Set(residencyIn as RegionId[])].sort();
  }

  const whenIsolated = input['whenIsolated'] ?? 'accept';
  if (whenIsolated !== 'accept' && whenIsolated !== 'reject') return fail(badRequest(`${path}.whenIsolated`, "must be 'accept' or 'reject'"));
  if (mode === 'strong' && input['whenIsolated'] !== undefined) return fail(badRequest(`${path}.whenIsolated`, 'strong tables always need a quorum; whenIsolated applies to async tables'));
  if (ownership !== 'multi-writer' && whenIsolated === 'reject') return fail(badRequest(`${path}.whenIsolated`, `rows of '${ownership}' tables are always guarded by the write lease; leave whenIsolated out`));

  const undeclaredFields = input['undeclaredFields'] ?? defaultUndeclared(fields);
  if (undeclaredFields !== 'reject' && undeclaredFields !== 'lww') return fail(badRequest(`${path}.undeclaredFields`, "must be 'reject' or 'lww'"));
  if (undeclaredFields === 'reject' && Object.keys(fields).length === 0 && home?.field === undefined && unique.length === 0) {
    return fail(badRequest(`${path}.undeclaredFields`, 'the table declares no fields, so every write would be refused: declare fields, or leave undeclaredFields out'));
  }

  return ok({ mode, fields, ownership, home, onDeleteUpdate, unique, tombstoneRetentionMs: retention, residency, whenIsolated, undeclaredFields });
}
