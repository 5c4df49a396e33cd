/**
 * Local writes to async tables. Validate everything first; then, in the step's transaction, turn
 * the write into an op with the next dot, an HLC and the current vector as its dependencies, and
 * apply it through the same path as remote ops. The answer leaves only after the commit.
 */
import { get } from '../clock/version-vector.js';
import { badRequest, ternError, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import { kindOfChange } from '../crdt/kinds/registry.js';
import { applyOp, viewRow, type RowState } from '../crdt/row.js';
import { fieldType, type TablePolicy } from '../schema/policy.js';
import { hash64 } from '../util/hash.js';
import { canonicalJson, utf8Length } from '../util/json.js';
import { applyToStore } from './apply.js';
import type { ReplicaContext } from './context.js';
import type { ClientRequest } from './messages.js';
import { tableFor } from './reads.js';
import { park, parseSession, satisfied, tokenFor } from './session.js';
import { maskView, otherHolder } from './unique.js';
import type { FenceStamp, FieldChange, Op } from '../model/op.js';
import type { WriteResult } from '../model/row-view.js';
import { keyProblem } from '../model/validate.js';
import { parseWriteBody } from '../model/write-body.js';

type WriteRequest = Extract<ClientRequest, { kind: 'write' } | { kind: 'delete' }>;

function refuse(ctx: ReplicaContext, id: number, error: TernError): void {
  ctx.out.replies.push({ id, reply: { ok: false, error } });
}

function digestOf(req: WriteRequest): string {
  const method = req.kind === 'delete' ? 'DELETE' : (req.method ?? 'PATCH');
  const body = req.kind === 'delete' ? null : req.body;
  return hash64(canonicalJson({ method, table: req.table, key: req.key, body }));
}

/**
 * For home-owned tables, the region whose rows this is: the table's home, or the
 * row's current home field. Moving a row (writing a new home) is itself a write its current home
 * must accept; only a row that has no home yet takes the one it is written with.
 */
function homeOf(policy: TablePolicy, row: RowState | undefined, changes: Readonly<Record<string, FieldChange>>, mergeFns: ReplicaContext['config']['mergeFunctions'], key: string): string | null {
  if (policy.ownership === 'multi-writer' || policy.home === null) return null;
  if (policy.home.region !== undefined) return policy.home.region;
  const field = policy.home.field as string;
  const view = viewRow(key, row, policy, mergeFns);
  const current = view !== null && Object.hasOwn(view.fields, field) ? view.fields[field] : undefined;
  if (typeof current === 'string') return current;
  const change = Object.hasOwn(changes, field) ? changes[field] : undefined;
  return change !== undefined && change.k === 'set' && typeof change.value === 'string' ? change.value : null;
}

/** Checks that need the current row: counter overflow and unique values. */
function stateProblem(ctx: ReplicaContext, req: WriteRequest, policy: TablePolicy, row: RowState | undefined, changes: Readonly<Record<string, FieldChange>>): TernError | null {
  for (const [field, change] of Object.entries(changes)) {
    const kind = kindOfChange(fieldType(policy, field), change);
    const s = row !== undefined && Object.hasOwn(row.fields, field) ? row.fields[field] : undefined;
    const problem = kind.localProblem(s !== undefined && s.t === kind.tag ? s : undefined, change, field);
    if (problem !== null) return problem;
  }
  for (const { field } of policy.unique) {
    const change = Object.hasOwn(changes, field) ? changes[field] : undefined;
    if (change === undefined || change.k !== 'set') continue;
    const holder = otherHolder(ctx.storage, req.table, field, change.value, req.key);
    if (holder !== undefined) {
      ctx.metrics.uniqueRefusals++;
      return ternError('UNIQUE_VIOLATION', `${field} ${canonicalJson(change.value)} is already held by row ${holder}`, { field });
    }
  }
  return null;
}

/**
 * A local write may not leave the row with more than limits.fieldsPerRowMax visible fields, unless
 * it adds none (a row past the limit through concurrent writes in two regions can still be
 * written and shrunk). Names the first field the write adds, as the request wrote it.
 */
function tooManyFields(req: WriteRequest, changes: Readonly<Record<string, FieldChange>>, after: Readonly<Record<string, unknown>>, had: () => Readonly<Record<string, unknown>>): TernError | null {
  const count = Object.keys(after).length;
  if (count <= limits.fieldsPerRowMax) return null;
  const before = had();
  if (count <= Object.keys(before).length) return null;
  const added = Object.keys(changes).find((f) => Object.hasOwn(after, f) && !Object.hasOwn(before, f));
  const change = added === undefined ? undefined : changes[added];
  const field = added === undefined || change === undefined ? 'body' : `${req.kind === 'write' && req.method === 'PUT' ? 'fields' : change.k}.${added}`;
  return ternError('TOO_LARGE', `${field}: the row would have ${count} fields, more than fieldsPerRowMax (${limits.fieldsPerRowMax}); unset some, or keep wide data in more rows`, { field });
}

export function handleWrite(ctx: ReplicaContext, id: number, req: WriteRequest): void {
  // A restored replica's next sequence number may already name a write of its old self (recovery.ts).
  if (ctx.recovery !== null) return refuse(ctx, id, ternError('NOT_READY', `region ${ctx.config.region} was restored from a backup and is recovering its own writes from its peers; it takes writes once every peer has been heard (GET /v1/status, replica.recovery)`));
  const policy = tableFor(ctx, req.table);
  if ('code' in policy) return refuse(ctx, id, policy);
  const badKey = keyProblem(req.key);
  if (badKey !== null) return refuse(ctx, id, badKey);
  let changes: Readonly<Record<string, FieldChange>> = {};
  if (req.kind === 'write') {
    const parsed = parseWriteBody(req.body, req.method ?? 'PATCH', policy);
    if (!parsed.ok) return refuse(ctx, id, parsed.error);
    changes = parsed.value;
  }
  const idemKey = req.idempotencyKey;
  if (idemKey !== undefined && (typeof idemKey !== 'string' || idemKey === '' || idemKey.length > limits.idempotencyKeyCharsMax)) {
    return refuse(ctx, id, badRequest('idempotencyKey', `must be 1 to ${limits.idempotencyKeyCharsMax} characters`));
  }
  const session = parseSession(ctx, req.session);
  if (!session.ok) return refuse(ctx, id, session.error);
  // Writes follow reads: a write must causally follow what its session has seen.
  if (!satisfied(ctx, session.value)) return park(ctx, id, req, session.value);

  const useIdem = idemKey !== undefined && ctx.config.knobs?.ignoreIdempotency !== true;
  const digest = digestOf(req);
  if (useIdem) {
    const record = ctx.storage.getIdem(idemKey);
    if (record !== undefined) {
      if (record.digest !== digest) {
        return refuse(ctx, id, ternError('IDEMPOTENCY_MISMATCH', `Idempotency-Key ${idemKey} was used with another request; use a new key for a new request`, { field: 'idempotencyKey' }));
      }
      ctx.metrics.idempotentReplays++;
      ctx.out.replies.push({ id, reply: { ok: true, kind: 'write', result: record.result, replayed: true, token: tokenFor(ctx, session.value) } });
      return;
    }
  }

  const row = ctx.storage.getRow(req.table, req.key)?.state;
  const home = homeOf(policy, row, changes, ctx.config.mergeFunctions, req.key);
  const rights = ctx.guard.check(req.table, req.key, policy, home);
  if (!rights.ok) return refuse(ctx, id, rights.error);
  const problem = stateProblem(ctx, req, policy, row, changes);
  if (problem !== null) return refuse(ctx, id, problem);
  commitWrite(ctx, id, req, policy, changes, useIdem ? { key: idemKey as string, digest } : null, session.value, rights.fence);
}

function commitWrite(
  ctx: ReplicaContext,
  id: number,
  req: WriteRequest,
  policy: TablePolicy,
  changes: Readonly<Record<string, FieldChange>>,
  idem: { key: string; digest: string } | null,
  needs: Parameters<typeof tokenFor>[1],
  fence: FenceStamp | null,
): void {
  const self = ctx.config.region;
  const seq = get(ctx.applied, self) + 1;
  const hlc = ctx.config.knobs?.lwwByWallClock ? { wall: ctx.nowMs, logical: 0, node: self } : ctx.clock.now(ctx.nowMs);
  const draft: Op = { dot: { origin: self, seq }, hlc, deps: ctx.applied, table: req.table, key: req.key, kind: req.kind === 'delete' ? 'delete' : 'write', changes, ...(fence !== null ? { fence } : {}) };

  // A dry run first: nothing is stored unless the row fits. The answer is the row as this
  // write leaves it (masked with the claims as they stand: this write's own unique values were
  // checked free above). An idempotent op carries the answer so a retry in any region gets it.
  const before = ctx.storage.getRow(req.table, req.key)?.state;
  const view = viewRow(req.key, applyOp(before, draft, policy), policy, ctx.config.mergeFunctions);
  if (view !== null && utf8Length(canonicalJson(view.fields)) > limits.rowBytesMax) {
    return refuse(ctx, id, ternError('TOO_LARGE', `the row would exceed ${limits.rowBytesMax} bytes`, { field: 'body' }));
  }
  const wide = view === null ? null : tooManyFields(req, changes, view.fields, () => viewRow(req.key, before, policy, ctx.config.mergeFunctions)?.fields ?? {});
  if (wide !== null) return refuse(ctx, id, wide);
  const result: WriteResult = { dot: draft.dot, row: draft.kind === 'delete' || view === null ? null : maskView(ctx.storage, req.table, policy, view) };
  const op: Op = idem === null ? draft : { ...draft, idem: { key: idem.key, digest: idem.digest, result } };
  applyToStore(ctx, op, policy);
  ctx.metrics.opsCreated++;
  ctx.out.created.push(op);
  ctx.pushed.push(op);
  ctx.out.replies.push({ id, reply: { ok: true, kind: 'write', result, replayed: false, token: tokenFor(ctx, needs) } });
}
