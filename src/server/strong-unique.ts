/**
 * Unique fields of async tables enforced through the strong log (`unique: [{field, enforce:
 * "strong"}]`): before a write that gives such a field a value commits locally, the region claims
 * (table, field, value) for the row's key in the strong group. A value held by another key refuses
 * the write with 409 UNIQUE_VIOLATION; no quorum refuses it with the strong group's error (504 or
 * 503): in both cases nothing is written. Once the write has committed, the value the row held
 * before is released through the log; a delete releases the row's values.
 *
 * The two cores stay as they are: this sits in the shell, between them, as a client of both.
 *
 * Decisions:
 * - A claim is for a key, not for a write: a retry of the same row, in any region, is granted
 *   again. So a claim made for a write that then failed locally is released at once, and one
 *   whose release was lost (no quorum then) stays with the key until it writes or is deleted.
 * - Claims can outlive the value (a leak) but two keys never both hold one: concurrent writes of
 *   one row in two regions each claim their value for the key, and the one that loses last-writer-
 *   wins keeps its claim until that row is written or deleted again.
 * - The async enforcement stays underneath (the replica refuses values it sees held, and masks
 *   duplicates that meet, first writer wins): one exception that needs it is an `update-wins`
 *   table where a delete (which releases) races with an update in another region that survives it.
 */
import { canonicalJson, type JsonValue } from '../core/util/json.js';
import { ternError, type TernError } from '../core/errors.js';
import type { ClientReply, ClientRequest } from '../core/replica/messages.js';
import type { RowView } from '../core/replica/op.js';
import { parseWriteBody } from '../core/replica/write-body.js';
import type { TablePolicy } from '../core/schema/policy.js';
import type { StrongReply, StrongRequest } from '../core/strong/messages.js';

export interface StrongUniqueDeps {
  tables(): Readonly<Record<string, TablePolicy>>;
  submitAsync(request: ClientRequest): Promise<ClientReply>;
  submitStrong(request: StrongRequest): Promise<StrongReply>;
  /** A release that could not be made (the claim stays with the key): logged, not fatal. */
  onReleaseFailed(table: string, field: string, key: string, error: TernError): void;
}

/** The fields of this table whose uniqueness the strong log enforces. */
export function strongUniqueFields(policy: TablePolicy | undefined): readonly string[] {
  if (policy === undefined || policy.mode !== 'async') return [];
  return policy.unique.filter((u) => u.enforce === 'strong').map((u) => u.field);
}

/** Runs an async-table request, claiming and releasing strong unique values around writes. */
export async function submitWithStrongUnique(deps: StrongUniqueDeps, request: ClientRequest): Promise<ClientReply> {
  if (request.kind !== 'write' && request.kind !== 'delete') return deps.submitAsync(request);
  const policy = deps.tables()[request.table];
  const fields = strongUniqueFields(policy);
  if (policy === undefined || fields.length === 0) return deps.submitAsync(request);

  // What the row holds now, as this region sees it (only to know what to release afterwards).
  const before = await currentValues(deps, request.table, request.key, fields);
  if (request.kind === 'delete') {
    const reply = await deps.submitAsync(request);
    if (reply.ok) release(deps, request.table, request.key, before);
    return reply;
  }

  const changes = parseWriteBody(request.body, request.method ?? 'PATCH', policy);
  if (!changes.ok) return deps.submitAsync(request); // the replica refuses it, naming the field
  const after = new Map(before);
  for (const field of fields) {
    const c = changes.value[field];
    if (c === undefined) continue;
    if (c.k === 'set' && c.value !== null) after.set(field, c.value);
    else if (c.k === 'set' || c.k === 'unset') after.delete(field);
  }
  const claimed = new Map<string, JsonValue>();
  for (const [field, value] of after) {
    if (before.has(field) && canonicalJson(before.get(field) as JsonValue) === canonicalJson(value)) continue;
    const r = await deps.submitStrong({ kind: 'claim', table: request.table, field, value, key: request.key });
    const refusal = claimRefusal(r, field, value);
    if (refusal !== null) {
      release(deps, request.table, request.key, claimed);
      return { ok: false, error: refusal };
    }
    claimed.set(field, value);
  }
  const reply = await deps.submitAsync(request);
  if (!reply.ok) {
    release(deps, request.table, request.key, claimed);
    return reply;
  }
  // The values the row held and holds no more.
  const gone = new Map([...before].filter(([f, v]) => !after.has(f) || canonicalJson(after.get(f) as JsonValue) !== canonicalJson(v)));
  release(deps, request.table, request.key, gone);
  return reply;
}

async function currentValues(deps: StrongUniqueDeps, table: string, key: string, fields: readonly string[]): Promise<Map<string, JsonValue>> {
  const r = await deps.submitAsync({ kind: 'read', table, key, consistency: 'eventual' });
  const row: RowView | null = r.ok && r.kind === 'read' ? r.row : null;
  const out = new Map<string, JsonValue>();
  for (const f of fields) {
    const v = row?.fields[f];
    if (v !== undefined && v !== null) out.set(f, v as JsonValue);
  }
  return out;
}

function claimRefusal(r: StrongReply, field: string, value: JsonValue): TernError | null {
  if (!r.ok) {
    // Whatever became of the claim, the write itself was certainly not made.
    const error: TernError = { ...r.error, field, message: `the unique value of ${field} could not be claimed through the strong group, so nothing was written: ${r.error.message}` };
    return r.error.mayHaveCommitted === undefined ? error : { ...error, mayHaveCommitted: false };
  }
  if (r.kind !== 'claim') return ternError('UNIQUE_VIOLATION', `unexpected answer to the claim of ${field}`, { field });
  if (r.granted) return null;
  return ternError('UNIQUE_VIOLATION', `${field} ${canonicalJson(value)} is already held by row ${r.holder ?? '?'}`, { field });
}

/** Releases in the background: the write is already answered; a lost release leaves the claim with the key. */
function release(deps: StrongUniqueDeps, table: string, key: string, values: ReadonlyMap<string, JsonValue>): void {
  for (const [field, value] of values) {
    void deps.submitStrong({ kind: 'release', table, field, value, key }).then((r) => {
      if (!r.ok) deps.onReleaseFailed(table, field, key, r.error);
    });
  }
}
