/**
 * Validation shared by the async replica and the strong group: row keys, and what this build can
 * honour in a table's policy (checked for the configuration file and for PUT /v1/tables).
 */
import type { RegionId } from '../clock/version-vector.js';
import { badRequest, ternError, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import { isMergeType, isValidTableName, mergeName, tableNamePattern, type TablePolicy } from '../schema/policy.js';
import { utf8Length } from '../util/json.js';

export function keyProblem(key: unknown, field = 'key'): TernError | null {
  if (typeof key !== 'string' || key === '') return badRequest(field, 'must be a non-empty string');
  if (utf8Length(key) > limits.keyBytesMax) return ternError('TOO_LARGE', `${field} is longer than ${limits.keyBytesMax} bytes`, { field });
  return null;
}

/** What this build cannot honour in one table's policy (checked for the config file and for PUT /v1/tables). */
export function tableProblem(table: string, p: TablePolicy, mergeFunctions: readonly string[], regions: readonly RegionId[]): TernError | null {
  if (!isValidTableName(table)) return badRequest(`tables.${table}`, `table names match ${tableNamePattern} and have at most ${limits.tableNameCharsMax} characters`);
  for (const [field, t] of Object.entries(p.fields)) {
    if (isMergeType(t) && !mergeFunctions.includes(mergeName(t))) {
      return badRequest(`tables.${table}.fields.${field}`, `merge function ${mergeName(t)} is not registered`);
    }
  }
  // Refuse what this build cannot honour rather than silently weakening it.
  if (p.residency !== null && p.residency.length !== regions.length) {
    return badRequest(`tables.${table}.residency`, 'residency restrictions are not enforced by this build yet; omit it (every region holds every row)');
  }
  return null;
}
