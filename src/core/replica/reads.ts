/**
 * Reads of async tables: point reads, scans and the conflict feed, at the requested consistency.
 *
 * Replicas apply ops in causal order, so every read sees a causally consistent state.
 * - eventual: whatever this replica has applied;
 * - session / causal: first waits (briefly) until the replica has applied the session token;
 * - bounded: served only when the replica provably holds every write acknowledged anywhere more
 *   than maxStalenessMs ago (heartbeats plus the max clock offset); otherwise STALE, never stale data.
 */
import { badRequest, ternError, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import { viewRow } from '../crdt/row.js';
import type { TablePolicy } from '../schema/policy.js';
import { utf8Length } from '../util/json.js';
import { keyProblem } from '../model/validate.js';
import { policyOf } from './apply.js';
import type { ReplicaContext } from './context.js';
import type { ClientRequest } from './messages.js';
import { park, parseSession, satisfied, tokenFor } from './session.js';
import { maskView } from './unique.js';
import type { RowView } from '../model/row-view.js';

type ReadRequest = Extract<ClientRequest, { kind: 'read' } | { kind: 'scan' }>;

function reply(ctx: ReplicaContext, id: number, error: TernError): void {
  ctx.out.replies.push({ id, reply: { ok: false, error } });
}

/** The table's policy for a request, or the error to answer. */
/** A table created moments ago elsewhere may not have reached this region: say so, and how to wait for it. */
export function noSuchTableMessage(table: string): string {
  return `no table named ${table} in this region; list tables with GET /v1/tables. A table created moments ago in another region may still be arriving: send the Tern-Session token of the answer that created it, and the request waits for it`;
}

export function tableFor(ctx: ReplicaContext, table: unknown): TablePolicy | TernError {
  if (typeof table !== 'string' || table === '') return badRequest('table', 'must be a table name');
  const policy = policyOf(ctx, table);
  if (policy === undefined) return ternError('NO_SUCH_TABLE', noSuchTableMessage(table));
  if (policy.mode !== 'async') return ternError('UNSUPPORTED', `table ${table} is strong: the strong group serves it, not the async replica`);
  return policy;
}

/** The visible row (masked for unique fields), or null. */
export function visibleRow(ctx: ReplicaContext, table: string, key: string, policy: TablePolicy): RowView | null {
  const view = viewRow(key, ctx.storage.getRow(table, key)?.state, policy, ctx.config.mergeFunctions);
  return view === null ? null : maskView(ctx.storage, table, policy, view);
}

function stalenessProblem(ctx: ReplicaContext, boundMs: number): TernError | null {
  for (const region of ctx.config.regions) {
    if (region === ctx.config.region) continue;
    const lagMs = ctx.nowMs - ctx.freshness.freshAsOf(region) + ctx.config.maxClockOffsetMs;
    if (!(lagMs <= boundMs)) {
      ctx.metrics.staleRefusals++;
      const known = Number.isFinite(lagMs) ? `${Math.round(lagMs)} ms` : 'unknown';
      return ternError('STALE', `region ${ctx.config.region} may be missing writes from ${region} (staleness ${known} > ${boundMs} ms); retry, or read in ${region}`);
    }
  }
  return null;
}

export function handleRead(ctx: ReplicaContext, id: number, req: ReadRequest): void {
  const policy = tableFor(ctx, req.table);
  if ('code' in policy) return reply(ctx, id, policy);
  if (req.kind === 'read') {
    const bad = keyProblem(req.key);
    if (bad !== null) return reply(ctx, id, bad);
  }
  const consistency = req.consistency ?? 'eventual';
  if (consistency === 'strong') return reply(ctx, id, badRequest('consistency', 'async tables offer eventual, session, bounded and causal reads'));
  if (!['eventual', 'session', 'bounded', 'causal'].includes(consistency)) {
    return reply(ctx, id, badRequest('consistency', 'must be one of eventual, session, bounded, causal'));
  }
  const session = parseSession(ctx, req.session);
  if (!session.ok) return reply(ctx, id, session.error);
  let boundMs = 0;
  if (consistency === 'bounded') {
    const b = req.maxStalenessMs;
    if (typeof b !== 'number' || !Number.isSafeInteger(b) || b < 0) return reply(ctx, id, badRequest('maxStalenessMs', 'bounded reads need a non-negative integer maxStalenessMs'));
    boundMs = b;
  }
  const waits = consistency === 'session' || consistency === 'causal';
  if (waits && !satisfied(ctx, session.value)) return park(ctx, id, req, session.value);
  if (consistency === 'bounded') {
    const stale = stalenessProblem(ctx, boundMs);
    if (stale !== null) return reply(ctx, id, stale);
  }
  if (req.kind === 'read') {
    const row = visibleRow(ctx, req.table, req.key, policy);
    ctx.out.replies.push({ id, reply: { ok: true, kind: 'read', row, vector: ctx.applied, token: tokenFor(ctx, session.value) } });
    return;
  }
  scan(ctx, id, req, policy, session.value);
}

function scan(ctx: ReplicaContext, id: number, req: Extract<ClientRequest, { kind: 'scan' }>, policy: TablePolicy, needs: Parameters<typeof tokenFor>[1]): void {
  const limit = req.limit ?? 100;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > limits.scanRowsMax) {
    return reply(ctx, id, badRequest('limit', `must be an integer from 1 to ${limits.scanRowsMax}`));
  }
  for (const [name, v] of [['prefix', req.prefix], ['after', req.after]] as const) {
    if (v !== undefined && (typeof v !== 'string' || utf8Length(v) > limits.keyBytesMax)) return reply(ctx, id, badRequest(name, 'must be a key-sized string'));
  }
  const rows: RowView[] = [];
  let after = req.after;
  let visited = 0;
  // Whether stored rows may remain beyond the cursor: each page reads one row more than it uses,
  // so a full last page does not send the client for an empty one.
  let more = true;
  let nothingLeft = false;
  // Stored rows include deleted ones awaiting purge; read pages until `limit` are visible, but
  // never more than scanRowsVisitedMax stored rows in one step: then answer with a cursor.
  while (rows.length < limit && more && visited < limits.scanRowsVisitedMax) {
    const pageSize = Math.min(limit * 2, limits.scanRowsVisitedMax - visited);
    const page = ctx.storage.scanRows(req.table, { after, prefix: req.prefix, limit: pageSize + 1 });
    more = page.length > pageSize;
    let used = 0;
    for (const [key, record] of page.slice(0, pageSize)) {
      after = key;
      visited++;
      used++;
      const view = viewRow(key, record.state, policy, ctx.config.mergeFunctions);
      if (view !== null) rows.push(maskView(ctx.storage, req.table, policy, view));
      if (rows.length === limit) break;
    }
    nothingLeft = used === page.length;
  }
  const next = nothingLeft ? null : (after ?? null);
  ctx.out.replies.push({ id, reply: { ok: true, kind: 'scan', rows, next, token: tokenFor(ctx, needs) } });
}

export function handleConflicts(ctx: ReplicaContext, id: number, req: Extract<ClientRequest, { kind: 'conflicts' }>): void {
  const after = req.after ?? 0;
  const limit = req.limit ?? 100;
  if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) return reply(ctx, id, badRequest('after', 'must be a feed position (a non-negative integer)'));
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > limits.conflictsPerPageMax) {
    return reply(ctx, id, badRequest('limit', `must be an integer from 1 to ${limits.conflictsPerPageMax}`));
  }
  if (req.table !== undefined && policyOf(ctx, req.table) === undefined) return reply(ctx, id, ternError('NO_SUCH_TABLE', noSuchTableMessage(req.table)));
  // A reader without a cursor starts at the oldest entry held; one whose cursor is below what
  // retention collected has missed entries, and is told so rather than skipped past them.
  const gone = ctx.feedGoneThrough;
  if (req.after !== undefined && after < gone) {
    return reply(ctx, id, ternError('GONE', `after: entries after position ${after} were collected by retention (retention.conflictsMs); the oldest position held is ${gone}: read on with after=${gone}`, { field: 'after', oldest: gone }));
  }
  const page = ctx.storage.conflictsAfter(Math.max(after, gone), limit, req.table);
  const next = page.length > 0 ? (page[page.length - 1] as { seq: number }).seq : after;
  ctx.out.replies.push({ id, reply: { ok: true, kind: 'conflicts', conflicts: page.map((r) => r.entry), next } });
}
