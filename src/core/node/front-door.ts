/**
 * The front door of a region core: a client call (client-call.ts) becomes the request of the
 * engine that serves it, and that engine's reply becomes the call's reply. Here, and nowhere in
 * a front end, are the choices that need the engines' knowledge: which engine serves a table
 * (its mode), how the session token splits into the async vector and the strong log index and
 * joins again, what a read that found nothing answers, and what a write that left no row shows.
 */
import { badRequest, ternError, type TernError } from '../errors.js';
import type { ClientReply, ClientRequest } from '../replica/messages.js';
import { isValidTableName, type TablePolicy } from '../schema/policy.js';
import type { StrongReply, StrongRequest } from '../strong/messages.js';
import { joinSessionToken, splitSessionToken, type SplitToken } from '../strong/session-token.js';
import { accessChange, accessReply } from './access-calls.js';
import type { CallBody, CallReply, CallResult, ClientCall } from './client-call.js';
import type { RowView } from '../model/row-view.js';
import type { AdminReply, RegionReply, RegionRequest } from './messages.js';

/** Which engine a call goes to (status: none, the core answers it). */
export type CallRoute = 'async' | 'strong' | 'admin' | 'status';

type Tables = Readonly<Record<string, TablePolicy>>;

const rowKinds = new Set<CallBody['kind']>(['get', 'patch', 'put', 'delete', 'scan']);

export function routeOf(call: CallBody, tables: Tables): CallRoute {
  if (rowKinds.has(call.kind)) {
    const table = (call as { table: string }).table;
    return Object.hasOwn(tables, table) && tables[table]?.mode === 'strong' ? 'strong' : 'async';
  }
  switch (call.kind) {
    case 'txn':
    case 'put-table':
    case 'put-user':
    case 'delete-user':
    case 'put-role':
      return 'strong';
    case 'drain':
    case 'undrain':
      return 'admin';
    case 'conflicts':
      return 'async';
    default:
      return 'status';
  }
}

/** Calls that only read: what a node fenced for its storage may still serve, and may retry after a failed commit. */
export function isReadCall(call: CallBody): boolean {
  return call.kind === 'get' || call.kind === 'scan' || call.kind === 'conflicts' || call.kind === 'status' || call.kind === 'whoami';
}

/** A call's engine request, and how to turn that engine's reply into the call's reply. */
export interface Routed {
  readonly request: RegionRequest;
  readonly finish: (reply: RegionReply) => CallReply<never>;
}

/** Routes a call (not a status call: the core answers those itself); an error when the call is malformed. */
export function routeCall(call: ClientCall, tables: Tables): Routed | { readonly error: TernError } {
  const route = routeOf(call, tables);
  if (call.kind === 'status' || call.kind === 'whoami') return { error: ternError('INTERNAL', `a ${call.kind} call has no engine: the core answers it`) };
  if (call.kind === 'drain' || call.kind === 'undrain') {
    const kind = call.kind;
    const request: RegionRequest = { api: 'admin', request: { kind, region: call.region, ...(call.force !== undefined ? { force: call.force } : {}) } };
    return { request, finish: (r) => adminReply(r as AdminReply) };
  }
  if (call.kind === 'conflicts') {
    if (call.table !== undefined && typeof call.table !== 'string') return { error: badRequest('table', 'must be a table name') };
    const request: ClientRequest = { kind: 'conflicts', ...defined({ table: call.table, after: call.after, limit: call.limit }) };
    return { request: { api: 'async', request }, finish: (r) => asyncReply(r as ClientReply, undefined, 0) };
  }
  const token = splitSessionToken(call.session);
  if (!token.ok) return { error: token.error };
  if (call.kind === 'put-user' || call.kind === 'delete-user' || call.kind === 'put-role') {
    const change = accessChange(call);
    if ('code' in change) return { error: change };
    const session = (index: number) => joinSessionToken(token.value.async, Math.max(token.value.strong, index));
    return { request: { api: 'strong', request: { kind: 'access', command: change } }, finish: (r) => accessReply(r as StrongReply, call, session) };
  }
  const strings = stringFields(call);
  if (strings !== null) return { error: strings };
  if (route === 'strong') {
    const request = strongRequest(call, token.value.strong);
    if ('error' in request) return request;
    return { request: { api: 'strong', request }, finish: (r) => strongReply(r as StrongReply, call, token.value) };
  }
  const request = asyncRequest(call, token.value.async);
  return { request: { api: 'async', request, strongSeen: token.value.strong }, finish: (r) => asyncReply(r as ClientReply, call, token.value.strong) };
}

/** Fields the engines take as strings: anything else is refused here, by name. */
function stringFields(call: ClientCall): TernError | null {
  const fields = call as Partial<Record<'idempotencyKey' | 'consistency' | 'prefix' | 'after', unknown>>;
  for (const name of ['idempotencyKey', 'consistency', 'prefix', 'after'] as const) {
    const v = fields[name];
    if (v !== undefined && typeof v !== 'string') return badRequest(name, `must be a string, not ${JSON.stringify(v)}`);
  }
  return null;
}

type Str = string | undefined;
type RowCall = Extract<ClientCall, { kind: 'get' | 'scan' | 'patch' | 'put' | 'delete' }>;

/**
 * A row call as either engine's request, without its session (the engines' requests have the same
 * shape there; the session is the vector part for the replica, the log index for the strong group).
 */
function rowRequest(call: RowCall) {
  switch (call.kind) {
    case 'get':
      return { kind: 'read' as const, table: call.table, key: call.key, ...defined({ consistency: call.consistency as Str, maxStalenessMs: call.maxStalenessMs }) };
    case 'scan':
      return { kind: 'scan' as const, table: call.table, ...defined({ prefix: call.prefix as Str, after: call.after as Str, limit: call.limit, consistency: call.consistency as Str, maxStalenessMs: call.maxStalenessMs }) };
    case 'patch':
    case 'put':
      return { kind: 'write' as const, method: call.kind === 'put' ? ('PUT' as const) : ('PATCH' as const), table: call.table, key: call.key, body: call.body, ...defined({ idempotencyKey: call.idempotencyKey as Str }) };
    case 'delete':
      return { kind: 'delete' as const, table: call.table, key: call.key, ...defined({ idempotencyKey: call.idempotencyKey as Str }) };
  }
}

const isRowCall = (call: ClientCall): call is RowCall => rowKinds.has(call.kind);

function strongRequest(call: ClientCall, seen: number): StrongRequest | { readonly error: TernError } {
  if (isRowCall(call)) {
    const request = rowRequest(call);
    // Reads carry the log index the client has seen (0: none), as the strong group's reads expect; writes none.
    return request.kind === 'read' || request.kind === 'scan' ? { ...request, session: seen } : request;
  }
  switch (call.kind) {
    case 'txn':
      return { kind: 'txn', body: call.body, ...defined({ idempotencyKey: call.idempotencyKey as Str }) };
    case 'put-table':
      if (!isValidTableName(call.table)) return { error: badRequest('table', 'names are letters, digits, _ and -, starting with a letter or _') };
      return { kind: 'put-table', table: call.table, body: call.body };
    default:
      return { error: ternError('INTERNAL', `a ${call.kind} call is not for the strong group`) };
  }
}

function asyncRequest(call: ClientCall, token: Str): ClientRequest {
  // routeOf sends only row calls and the feed to the replica; the feed is built by routeCall.
  if (!isRowCall(call)) throw new Error(`a ${call.kind} call is not for the async replica`);
  return { ...rowRequest(call), ...(token !== undefined ? { session: token } : {}) };
}

function notFound(call: { table: string; key: string }, session: string): CallReply<never> {
  return { ok: false, error: ternError('NOT_FOUND', `no row ${call.key} in ${call.table} (absent or deleted)`), session };
}

/** What a write or a delete answers, from either engine: the row after it (an empty one when none is left), or `deleted`. */
function written(call: { kind: string; key: string }, row: RowView | null): CallResult<never> {
  if (call.kind === 'delete') return { kind: 'deleted', key: call.key };
  return { kind: 'row', row: row ?? { key: call.key, fields: {}, version: null } };
}

/** The replica's answer: its token is the async part; the strong part the client sent goes on unchanged. */
function asyncReply(r: ClientReply, call: ClientCall | undefined, strongSeen: number): CallReply<never> {
  if (!r.ok) return r;
  const session = 'token' in r ? joinSessionToken(r.token, strongSeen) : undefined;
  const withSession = session !== undefined ? { session } : {};
  switch (r.kind) {
    case 'read':
      if (r.row === null) return notFound(call as { table: string; key: string }, session as string);
      return { ok: true, result: { kind: 'row', row: r.row }, replayed: false, ...withSession };
    case 'write':
      return { ok: true, result: written(call as { kind: string; key: string }, r.result.row), replayed: false, ...withSession };
    case 'scan':
      return { ok: true, result: { kind: 'rows', rows: r.rows, next: r.next }, replayed: false, ...withSession };
    case 'conflicts':
      return { ok: true, result: { kind: 'conflicts', conflicts: r.conflicts, next: r.next }, replayed: false };
  }
}

/** The strong group's answer: the session moves to the log index the answer reflects; the async part goes on unchanged. */
function strongReply(r: StrongReply, call: ClientCall, token: SplitToken): CallReply<never> {
  if (!r.ok) return r;
  const session = joinSessionToken(token.async, Math.max(token.strong, r.index));
  const c = call as { kind: string; table: string; key: string };
  switch (r.kind) {
    case 'read':
      if (r.row === null) return notFound(c, session);
      return { ok: true, result: { kind: 'row', row: r.row }, replayed: false, session };
    case 'scan':
      return { ok: true, result: { kind: 'rows', rows: r.rows, next: r.next }, replayed: false, session };
    case 'write':
      return { ok: true, result: written(c, r.row), replayed: r.replayed, session };
    case 'txn':
      return { ok: true, result: { kind: 'txn', succeeded: r.outcome.succeeded, results: r.outcome.results }, replayed: r.replayed, session };
    case 'table':
      return { ok: true, result: { kind: 'table', table: r.table, policy: r.policy }, replayed: false, session };
    default:
      return { ok: false, error: ternError('INTERNAL', `the strong group answered a ${call.kind} call with a ${r.kind} reply`) };
  }
}

function adminReply(r: AdminReply): CallReply<never> {
  if (!r.ok) return r;
  return { ok: true, result: { kind: r.kind, region: r.region, changed: r.changed, index: r.index }, replayed: false };
}

/** The fields that were given (a request holds no key whose value is undefined). */
function defined<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}
