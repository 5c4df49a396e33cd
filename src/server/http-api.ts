/**
 * The HTTP API of a region node (docs/api.md), on Fastify. Handlers only translate: HTTP in, a core
 * ClientRequest to the node, the core's reply out. Validation of bodies and parameters is the
 * core's (it names the field at fault and changes nothing on failure); this layer enforces the
 * transport limits (body 1.5 MiB before buffering, the bytes of bodies in flight across every
 * connection, header and request timeouts) and maps every
 * error to `{"error": {code, message, retryable}}` through the one registry.
 */
import { createReadStream } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { limits } from '../core/limits.js';
import { nodeLimits } from './limits.js';
import { errorRegistry, ternError, type ErrorCode, type Result, type TernError } from '../core/errors.js';
import type { TablePolicy } from '../core/schema/policy.js';
import type { Caller, CallReply, CallResult, ClientCall } from '../core/node/client-call.js';
import { makeToken } from './auth/tokens.js';
import { addressClient, RateLimiter, type RateLimit } from './rate-limit.js';
import { nodeAuthHeader } from './auth/node-secret.js';
import { certificateUser } from './auth/client-certificate.js';
import type { SnapshotManifest } from './snapshot/manifest.js';
import type { VersionVector } from '../core/clock/version-vector.js';
import type { BackupCopy } from './backup.js';
import { drainRefusedBody } from './drain-body.js';
import { BodyBudget, bodyBudgetErrorCode, type BodyHold } from './body-budget.js';
import type { NodeMetrics } from './metrics.js';
import type { NodeStatus } from './region-node.js';

/** The largest request body (nodeLimits.requestBodyBytesMax). */
export const requestBodyBytesMax = nodeLimits.requestBodyBytesMax;

/** What the API needs from a node. */
export interface ApiNode {
  readonly cluster: string;
  readonly region: string;
  readonly nodeId: string;
  /** Every client request, the status included: the region routes it (src/core/node/front-door.ts). */
  submit(call: ClientCall): Promise<CallReply<NodeStatus>>;
  /** The caller an Authorization header names (undefined: none given); a 400 or 401 when it is malformed or not valid. */
  authenticate(authorization: string | undefined): Promise<Result<Caller | undefined>>;
  /** The user of an Authorization header whose token was checked already and is current, else null (no new check: the rate limiter asks before reading a request). */
  knownUser(authorization: string | undefined): string | null;
  /** Whether a Tern-Node-Auth header proves another node of the cluster (routes nodes call on each other); false when authentication is off. */
  isNode(nodeAuth: string | undefined): boolean;
  /** Calls must carry a valid caller (the configuration has an auth section). */
  readonly authRequired: boolean;
  /** /metrics needs an authenticated caller too (auth.metrics: users); open otherwise. */
  readonly metricsProtected?: boolean;
  /** The cluster admin whose rights another node's (or the router's) Tern-Node-Auth gets for reading the status. */
  readonly rootUser?: string;
  /** What /readyz says (open to anyone, unlike the status call). */
  readiness(): Pick<NodeStatus, 'stage' | 'replica'>;
  tables(): Readonly<Record<string, TablePolicy>>;
  readonly regions: readonly string[];
  readonly mergeFunctions: readonly string[];
  readonly metrics: NodeMetrics;
  /** A consistent copy of the database beside the data (backup.ts); the route streams it, then deletes it. */
  backup(): Promise<Result<BackupCopy>>;
  /** Snapshots for regions rejoining after an eviction (snapshot/donor.ts); null when this node cannot serve them. */
  readonly snapshots: SnapshotSource | null;
}

export interface SnapshotSource {
  /** A copy holding at least `after` (any, made now, when undefined). */
  create(after?: VersionVector): Promise<Result<SnapshotManifest>>;
  manifest(id: string): SnapshotManifest | null;
  chunk(id: string, n: number): Promise<Buffer | null>;
}

/** The optional body of `POST /v1/admin/snapshots`: `{after?: {region: seq}}`. */
function snapshotAfter(body: unknown): Result<VersionVector | undefined> {
  if (body === undefined || body === null || body === '') return { ok: true, value: undefined };
  if (typeof body !== 'object' || Array.isArray(body)) return { ok: false, error: fail('BAD_REQUEST', 'body: send {"after": {"<region>": <seq>}} or nothing', 'body') };
  const { after, ...rest } = body as { after?: unknown };
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) return { ok: false, error: fail('BAD_REQUEST', `${extra}: not a field of a snapshot request (only after)`, extra) };
  if (after === undefined) return { ok: true, value: undefined };
  if (typeof after !== 'object' || after === null || Array.isArray(after) || Object.values(after).some((n) => typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)) {
    return { ok: false, error: fail('BAD_REQUEST', 'after: must map region names to non-negative integers (what the copy must hold)', 'after') };
  }
  return { ok: true, value: after as VersionVector };
}

function errorBody(e: TernError): { error: Record<string, unknown> } {
  const extras: Record<string, unknown> = {};
  // Only the fields the error carries (docs/api.md, "Extra fields"), in a stable order.
  for (const k of ['field', 'home', 'mayHaveCommitted', 'leader', 'reason', 'regions', 'tables', 'expected', 'retryAfterMs', 'oldest'] as const) if (e[k] !== undefined) extras[k] = e[k];
  return { error: { code: e.code, message: e.message, retryable: errorRegistry[e.code].retryable, ...extras } };
}

function sendError(reply: FastifyReply, e: TernError): FastifyReply {
  // A takeover expected shortly: say when to try again (whole seconds, as the header wants).
  if (e.expected !== undefined && e.expected.inMs > 0) reply.header('retry-after', String(Math.ceil(e.expected.inMs / 1000)));
  else if (e.retryAfterMs !== undefined) reply.header('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
  return reply.code(errorRegistry[e.code].status).send(errorBody(e));
}

function fail(code: ErrorCode, message: string, field?: string): TernError {
  return { code, message, ...(field !== undefined ? { field } : {}) };
}

/** Query values that look like integers become numbers; anything else goes to the core as is, to be refused by name. */
function num(v: string | undefined): unknown {
  if (v === undefined) return undefined;
  return /^-?\d{1,16}$/.test(v) ? Number(v) : v;
}

type RowParams = { table: string; key: string };
type Query = Record<string, string | undefined>;

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Keys are up to 1 KiB in UTF-8: up to 3 KiB percent-encoded in the path. */
const maxParamLength = 4 * 1024;

export interface ApiOptions {
  readonly logger?: boolean;
  /** Overrides nodeLimits.apiBodyBytesInFlightMax (tests reach it with a small value). */
  readonly bodyBytesInFlightMax?: number;
  /** Per-client rate limit (rate-limit.ts); none when absent or 0 per second. */
  readonly rateLimit?: RateLimit;
  /** Overrides nodeLimits.apiBodyBytesKeptForSmallMin. */
  readonly bodyBytesKeptForSmallMin?: number;
  /**
   * Serve HTTPS with this certificate and key (PEM): the node's, signed by the cluster CA (`ca`).
   * Clients may present a certificate of that CA instead of a token (client-certificate.ts).
   */
  readonly https?: { readonly key: string; readonly cert: string; readonly ca: string };
}

export function buildApi(node: ApiNode, options: ApiOptions = {}): FastifyInstance {
  // With https, the API serves TLS with the node's certificate; the contract is the same. A client
  // certificate is asked for, not required: a client without one authenticates with a token.
  const app = Fastify({
    ...(options.https !== undefined ? { https: { key: options.https.key, cert: options.https.cert, ca: options.https.ca, requestCert: true, rejectUnauthorized: false } } : {}),
    logger: options.logger ?? false,
    bodyLimit: requestBodyBytesMax,
    routerOptions: { maxParamLength },
    connectionTimeout: 60_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 30_000,
    return503OnClosing: true,
    // Errors Fastify raises before a route runs get the contract's shape too.
    frameworkErrors: (err, request, reply) => {
      const code = (err as { code?: string }).code;
      if (code === 'FST_ERR_BAD_URL') return void sendError(reply, fail('BAD_REQUEST', 'path: malformed percent-encoding', 'path'));
      // A key far past its limit fails in the router, before the route could say so: same answer as a key just past it.
      if (code === 'FST_ERR_MAX_PARAM_LENGTH') {
        const table = /^\/v1\/tables\/([^/?]*)/.exec(request.url)?.[1] ?? '';
        if (table.length > maxParamLength) return void sendError(reply, fail('BAD_REQUEST', `table: names are at most ${limits.tableNameCharsMax} characters`, 'table'));
        return void sendError(reply, fail('TOO_LARGE', `key is longer than ${limits.keyBytesMax} bytes`, 'key'));
      }
      return void sendError(reply, fail('BAD_REQUEST', err.message));
    },
  });
  // Node's own header timeout (slowloris): headers must arrive within 10 s.
  app.server.headersTimeout = 10_000;

  // Request bodies in flight across every connection (body-budget.ts): a declared body is reserved
  // whole before a byte of it is read, a chunked one as it arrives; given back when the answer is
  // sent or the connection is gone. What does not fit is 503 OVERLOADED, its body discarded unread.
  const budget = new BodyBudget({
    max: options.bodyBytesInFlightMax ?? nodeLimits.apiBodyBytesInFlightMax,
    keptForSmall: options.bodyBytesKeptForSmallMin ?? nodeLimits.apiBodyBytesKeptForSmallMin,
    smallBytesMax: nodeLimits.apiSmallBodyBytesMax,
  });
  const holds = new WeakMap<FastifyRequest['raw'], BodyHold>();
  const overloaded = (): TernError => fail('OVERLOADED', `the request bodies in flight on this node would pass ${budget.max} bytes (apiBodyBytesInFlightMax); retry with backoff (nothing was written)`);
  // Per-client rate limits (rate-limit.ts), before anything of the request is read: junk that
  // would fail later (a malformed body, an unknown route, a bad token) counts too. A client is the
  // user of a token already checked and current, else its address; health checks are not counted.
  // No limit (the default): no hook, nothing added to every request.
  const limit = options.rateLimit;
  if (limit !== undefined && limit.perSecond > 0) {
    const limiter = new RateLimiter(limit, nodeLimits.apiRateLimitClientsMax);
    app.addHook('onRequest', async (request, reply) => {
      if (request.url === '/livez' || request.url === '/readyz' || request.url === '/metrics') return;
      const user = node.knownUser(header(request, 'authorization')) ?? certificateUser(request.raw.socket, node.cluster, node.rootUser ?? 'root');
      const wait = limiter.take(user !== null ? `user ${user}` : addressClient(request.ip));
      if (wait !== null) return sendError(reply, ternError('RATE_LIMITED', `this client passed its rate limit (${limit.perSecond} requests per second, bursts of ${limit.burst}); retry in ${wait} ms (nothing was done)`, { retryAfterMs: wait }));
    });
  }
  app.addHook('onRequest', async (request, reply) => {
    if (reply.raw.destroyed || reply.sent) return;
    const declared = Number(request.headers['content-length'] ?? 0);
    // A request with no body (every GET) holds nothing: no hold, no listener.
    if (declared === 0 && request.headers['transfer-encoding'] === undefined) return;
    // A body past requestBodyBytesMax is refused 413 and discarded unread: it holds nothing.
    const hold = budget.open(Number.isSafeInteger(declared) && declared > 0 && declared <= requestBodyBytesMax ? declared : 0);
    // Answered at once; Node then reads the unread body off the connection and discards it.
    if (hold === null) return sendError(reply, overloaded());
    holds.set(request.raw, hold);
    reply.raw.once('close', () => budget.release(hold));
  });
  app.addHook('preParsing', async (request, _reply, payload) => {
    const hold = holds.get(request.raw);
    if (hold === undefined || request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] === undefined) return payload;
    return budget.counted(payload, hold);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('tern-region', node.region);
    // Every response carries a session token: the reply's, else the one the client sent.
    const sent = header(request, 'tern-session');
    if (!reply.hasHeader('tern-session') && sent !== undefined) reply.header('tern-session', sent);
    reply.header('cache-control', 'no-store');
    // JSON ends with a newline, so answers printed by curl do not run into the next prompt.
    const type = reply.getHeader('content-type');
    if (typeof payload === 'string' && typeof type === 'string' && type.startsWith('application/json') && !payload.endsWith('\n')) return `${payload}\n`;
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    node.metrics.observeRequest(request.method, request.routeOptions.url ?? 'unknown', reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // Read the rest of the body before answering, so the client sees the 413 (drain-body.ts).
      await drainRefusedBody(request.raw);
      return sendError(reply, fail('TOO_LARGE', `the request body exceeds ${requestBodyBytesMax} bytes`, 'body'));
    }
    if (err.code === bodyBudgetErrorCode) return sendError(reply, overloaded());
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, fail('BAD_REQUEST', 'body: send JSON with Content-Type: application/json', 'body'));
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return sendError(reply, fail('BAD_REQUEST', `body: malformed JSON (${err.message})`, 'body'));
    }
    if (err.statusCode === 414) return sendError(reply, fail('TOO_LARGE', 'the path is too long (keys are at most 1 KiB)', 'key'));
    if ((err.statusCode ?? 500) < 500) return sendError(reply, fail('BAD_REQUEST', err.message));
    app.log.error({ err }, 'unexpected error in a request handler');
    return sendError(reply, fail('INTERNAL', 'internal error; see the node log'));
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, fail('NOT_FOUND', `no route ${request.method} ${request.url}; see docs/api.md`)));

  /**
   * Who sent the request: the user of its bearer token, else of its client certificate, else
   * nobody (undefined). A malformed or wrong token is an error even when a certificate came too.
   */
  async function callerOf(req: FastifyRequest): Promise<Result<Caller | undefined>> {
    const authorization = header(req, 'authorization');
    if (authorization === undefined) {
      const user = certificateUser(req.raw.socket, node.cluster, node.rootUser ?? 'root');
      if (user !== null) return { ok: true, value: { user } };
    }
    return node.authenticate(authorization);
  }
  const unauthenticated = (): TernError => fail('UNAUTHENTICATED', 'this cluster requires authentication: send Authorization: Bearer <token> (or a client certificate)');

  /**
   * Sends a call's reply: the success body `ok` makes of its result, or the mapped error. The
   * reply's session token (when the call moved it) goes out as `tern-session`, on errors too.
   */
  async function answer(req: FastifyRequest, reply: FastifyReply, call: ClientCall, ok: (r: CallResult<NodeStatus>) => unknown): Promise<FastifyReply> {
    // The caller's identity is part of the call: the region core decides what it may do. Without
    // authentication required a token is ignored, and nothing is awaited for it.
    let r: CallReply<NodeStatus>;
    if (node.authRequired) {
      const caller = await callerOf(req);
      if (!caller.ok) return sendError(reply, caller.error);
      r = await node.submit(caller.value === undefined ? call : { ...call, caller: caller.value });
    } else r = await node.submit(call);
    if (r.session !== undefined) reply.header('tern-session', r.session);
    if (!r.ok) return sendError(reply, r.error);
    if (r.replayed) reply.header('idempotent-replayed', 'true');
    return reply.send(ok(r.result));
  }

  // Liveness: the process answers. Readiness is the stage: 200 only when write-ready, so a health
  // check that sends everything sends it only where everything is served.
  app.get('/livez', async () => ({ status: 'ok', cluster: node.cluster, region: node.region, node: node.nodeId }));
  app.get('/readyz', async (_req, reply) => {
    // Open to anyone, like /livez: health checks carry no token.
    const { stage, replica } = node.readiness();
    return reply.code(stage.stage === 'write-ready' ? 200 : 503).send({ cluster: node.cluster, region: node.region, node: node.nodeId, stage: stage.stage, reason: stage.reason, lagMs: stage.lagMs, stalenessMs: stalenessMs(replica.peers) });
  });
  app.get('/v1/status', async (req, reply) => {
    // Another node, or a router (both hold the cluster's file), reads the status with its node secret.
    const status = node.authRequired && node.rootUser !== undefined && node.isNode(header(req, nodeAuthHeader)) ? ({ kind: 'status', caller: { user: node.rootUser } } as const) : ({ kind: 'status' } as const);
    return answer(req, reply, status, (x) => (x.kind === 'status' ? statusBody(node, x.status) : null));
  });
  app.post<{ Body: unknown }>('/v1/admin/drain', async (req, reply) => admin(req, reply, 'drain', req.body));
  app.post<{ Body: unknown }>('/v1/admin/undrain', async (req, reply) => admin(req, reply, 'undrain', req.body));

  /**
   * Drain and undrain: `{region, force?}` (any region may drain any region; the change goes through
   * the strong log). A drain that would leave guarded writes with no region to take them is 409
   * DRAIN_UNSAFE unless `force: true`; one within a lease of the region's last change is 429
   * TOO_SOON. `changed: false`: it already was, and nothing was written.
   */
  async function admin(req: FastifyRequest, reply: FastifyReply, kind: 'drain' | 'undrain', body: unknown): Promise<FastifyReply> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return sendError(reply, fail('BAD_REQUEST', 'body: send {"region": "<region>"} (and "force": true to drain even if guarded writes would have no region to take them)', 'body'));
    const { region, force } = body as { region?: unknown; force?: unknown };
    return answer(req, reply, call({ kind, region, force }), (x) => (x.kind === kind ? { region: x.region, [kind === 'drain' ? 'drained' : 'undrained']: true, changed: x.changed, index: x.index } : null));
  }
  /**
   * The routes that hand out a copy of the whole database (backup, snapshots) are a cluster
   * admin's, or (snapshots) another node's, once authentication is required; null when allowed.
   */
  async function adminRefused(req: FastifyRequest, nodesToo: boolean): Promise<TernError | null> {
    if (!node.authRequired) return null;
    if (nodesToo && node.isNode(header(req, nodeAuthHeader))) return null;
    const caller = await callerOf(req);
    if (!caller.ok) return caller.error;
    const who = await node.submit(caller.value === undefined ? { kind: 'whoami' } : { kind: 'whoami', caller: caller.value });
    if (!who.ok) return who.error;
    const w = who.result.kind === 'whoami' ? who.result : null;
    if (w === null || w.user === null) return unauthenticated();
    return w.clusterAdmin ? null : fail('FORBIDDEN', `user ${w.user} lacks cluster admin (a copy of the whole database): ask an admin (nothing was done)`);
  }
  // A consistent cut of the whole database, streamed; its manifest (checksum included) in the header.
  app.get('/v1/admin/backup', async (req, reply) => {
    const refused = await adminRefused(req, false);
    if (refused !== null) return sendError(reply, refused);
    const r = await node.backup();
    if (!r.ok) return sendError(reply, r.error);
    const { path: file, manifest, done } = r.value;
    const stream = createReadStream(file);
    // Deleted once sent, or once the client went away; then another backup may start.
    stream.once('close', () => void done());
    return reply.header('content-type', 'application/octet-stream').header('content-length', manifest.bytes).header('tern-backup', JSON.stringify(manifest)).send(stream);
  });
  // Snapshots for a region rejoining after its eviction: a copy is made, then fetched chunk by chunk.
  // Body (optional): `{"after": {region: seq}}`, what the copy must hold; a held copy that does is shared.
  app.post<{ Body: unknown }>('/v1/admin/snapshots', async (req, reply) => {
    const refused = await adminRefused(req, true);
    if (refused !== null) return sendError(reply, refused);
    if (node.snapshots === null) return sendError(reply, fail('NOT_READY', `region ${node.region} serves no snapshots now; ask another region`));
    const after = snapshotAfter(req.body);
    if (!after.ok) return sendError(reply, after.error);
    const r = await node.snapshots.create(after.value);
    if (!r.ok) return sendError(reply, r.error);
    return reply.code(201).send(r.value);
  });
  app.get<{ Params: { id: string } }>('/v1/admin/snapshots/:id', async (req, reply) => {
    const refused = await adminRefused(req, true);
    if (refused !== null) return sendError(reply, refused);
    const m = node.snapshots?.manifest(req.params.id) ?? null;
    if (m === null) return sendError(reply, fail('NOT_FOUND', `no snapshot ${req.params.id} here (it expired, or the node restarted): make a new one`));
    return reply.send(m);
  });
  app.get<{ Params: { id: string; n: string } }>('/v1/admin/snapshots/:id/chunks/:n', async (req, reply) => {
    const refused = await adminRefused(req, true);
    if (refused !== null) return sendError(reply, refused);
    const n = Number(req.params.n);
    if (!/^\d+$/.test(req.params.n)) return sendError(reply, fail('BAD_REQUEST', 'n: must be a chunk number', 'n'));
    const data = (await node.snapshots?.chunk(req.params.id, n)) ?? null;
    if (data === null) return sendError(reply, fail('NOT_FOUND', `no chunk ${n} of snapshot ${req.params.id} here: make a new snapshot`));
    return reply.header('content-type', 'application/octet-stream').send(data);
  });
  /**
   * Refuses a request with no valid caller (a route any user may call); null when it may go on.
   * The core says whether the caller's user exists now (a certificate's user may have been deleted).
   */
  async function anyUserRefused(req: FastifyRequest): Promise<TernError | null> {
    const caller = await callerOf(req);
    if (!caller.ok) return caller.error;
    if (caller.value === undefined) return unauthenticated();
    const who = await node.submit({ kind: 'whoami', caller: caller.value });
    return who.ok ? null : who.error;
  }
  // Open unless the configuration says auth.metrics: users (Prometheus sends a bearer token then).
  app.get('/metrics', async (req, reply) => {
    const refused = node.authRequired && node.metricsProtected === true ? await anyUserRefused(req) : null;
    if (refused !== null) return sendError(reply, refused);
    return reply.header('content-type', node.metrics.contentType).send(await node.metrics.text());
  });

  // Any user (or another node, or a router) may list the tables; without authentication required, anyone.
  app.get('/v1/tables', async (req, reply) => {
    const refused = node.authRequired && !node.isNode(header(req, nodeAuthHeader)) ? await anyUserRefused(req) : null;
    if (refused !== null) return sendError(reply, refused);
    return reply.send({ tables: node.tables() });
  });
  const session = (req: FastifyRequest) => header(req, 'tern-session');
  const idem = (req: FastifyRequest) => header(req, 'idempotency-key');

  // Table changes go through the strong log, so every region applies them in the same order.
  app.put<{ Params: { table: string } }>('/v1/tables/:table', async (req, reply) => {
    return answer(req, reply, call({ kind: 'put-table', table: req.params.table, body: req.body, session: session(req) }), (x) => (x.kind === 'table' ? { table: x.table, policy: x.policy } : null));
  });
  app.post('/v1/txn', async (req, reply) =>
    answer(req, reply, call({ kind: 'txn', body: req.body, idempotencyKey: idem(req), session: session(req) }), (x) => (x.kind === 'txn' ? { succeeded: x.succeeded, results: x.results } : null)),
  );

  const row = (x: CallResult<NodeStatus>) => (x.kind === 'row' ? x.row : null);
  app.get<{ Params: RowParams; Querystring: Query }>('/v1/tables/:table/rows/:key', async (req, reply) => {
    const { consistency, maxStalenessMs } = req.query;
    const { table, key } = req.params;
    return answer(req, reply, call({ kind: 'get', table, key, consistency, maxStalenessMs: num(maxStalenessMs), session: session(req) }), row);
  });
  const write = (kind: 'patch' | 'put') => async (req: FastifyRequest<{ Params: RowParams }>, reply: FastifyReply) => {
    const { table, key } = req.params;
    return answer(req, reply, call({ kind, table, key, body: req.body, idempotencyKey: idem(req), session: session(req) }), row);
  };
  app.patch<{ Params: RowParams }>('/v1/tables/:table/rows/:key', write('patch'));
  app.put<{ Params: RowParams }>('/v1/tables/:table/rows/:key', write('put'));
  app.delete<{ Params: RowParams }>('/v1/tables/:table/rows/:key', async (req, reply) => {
    const { table, key } = req.params;
    return answer(req, reply, call({ kind: 'delete', table, key, idempotencyKey: idem(req), session: session(req) }), (x) => (x.kind === 'deleted' ? { key: x.key, deleted: true } : null));
  });
  app.get<{ Params: { table: string }; Querystring: Query }>('/v1/tables/:table/rows', async (req, reply) => {
    const { prefix, after, limit, consistency, maxStalenessMs } = req.query;
    const scan = call({ kind: 'scan', table: req.params.table, prefix, after, limit: num(limit), consistency, maxStalenessMs: num(maxStalenessMs), session: session(req) });
    return answer(req, reply, scan, (x) => (x.kind === 'rows' ? { rows: x.rows, next: x.next } : null));
  });
  app.get<{ Querystring: Query }>('/v1/conflicts', async (req, reply) => {
    const { table, after, limit } = req.query;
    return answer(req, reply, call({ kind: 'conflicts', table, after: num(after), limit: num(limit) }), (x) => (x.kind === 'conflicts' ? { conflicts: x.conflicts, next: x.next } : null));
  });

  // Users and roles (cluster admin), through the strong log. A user's token is made here and shown
  // once, in the answer that created it; only its salted hash goes into the log.
  app.put<{ Params: { name: string }; Body: unknown }>('/v1/users/:name', async (req, reply) => {
    const body = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return sendError(reply, fail('BAD_REQUEST', 'body: send {"roles": ["<role>", ...]} (and "newToken": false to change roles and keep the token)', 'body'));
    const { roles = [], newToken = true, ...rest } = body as { roles?: unknown; newToken?: unknown };
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) return sendError(reply, fail('BAD_REQUEST', `${extra}: not a field of a user (roles, newToken)`, extra));
    if (typeof newToken !== 'boolean') return sendError(reply, fail('BAD_REQUEST', 'newToken: must be true or false', 'newToken'));
    // Who asks is checked before a token is made: making one costs a scrypt (the review found an
    // unauthenticated request could make the node hash for nothing).
    const refused = await adminRefused(req, false);
    if (refused !== null) return sendError(reply, refused);
    const made = newToken && /^[A-Za-z0-9_-]{1,63}$/.test(req.params.name) ? await makeToken(req.params.name) : null;
    const put: ClientCall = { kind: 'put-user', name: req.params.name, roles, ...(made !== null ? { credential: made.credential } : {}), ...sessionOf(req) };
    return answer(req, reply, put, (x) => (x.kind === 'user' ? { user: x.name, roles, changed: x.changed, index: x.index, ...(made !== null ? { token: made.token } : {}) } : null));
  });
  app.delete<{ Params: { name: string } }>('/v1/users/:name', async (req, reply) =>
    answer(req, reply, { kind: 'delete-user', name: req.params.name, ...sessionOf(req) }, (x) => (x.kind === 'user' ? { user: x.name, deleted: x.changed, index: x.index } : null)),
  );
  app.put<{ Params: { name: string }; Body: unknown }>('/v1/roles/:name', async (req, reply) =>
    answer(req, reply, { kind: 'put-role', name: req.params.name, body: req.body, ...sessionOf(req) }, (x) => (x.kind === 'role' ? { role: x.name, changed: x.changed, index: x.index } : null)),
  );
  app.get('/v1/whoami', async (req, reply) => answer(req, reply, { kind: 'whoami' }, (x) => (x.kind === 'whoami' ? { user: x.user, roles: x.roles, clusterAdmin: x.clusterAdmin } : null)));

  return app;
}

function sessionOf(req: FastifyRequest): { session?: string } {
  const s = header(req, 'tern-session');
  return s === undefined ? {} : { session: s };
}

/**
 * How old the freshest data from the peer furthest behind is: it grows on an island, whose
 * backlog (`lagMs`, what a majority holds that it lacks) stays 0. Null until every peer was heard.
 */
function stalenessMs(peers: NodeStatus['replica']['peers']): number | null {
  let worst = 0;
  for (const p of peers) {
    if (p.lagMs === null) return null;
    worst = Math.max(worst, p.lagMs);
  }
  return Math.round(worst);
}

/** GET /v1/status: the stage, the async position, the strong group, the write leases and the clock guard. */
function statusBody(node: ApiNode, s: NodeStatus): Record<string, unknown> {
  const r = s.replica;
  const views = new Map(s.peers.map((p) => [p.region, p]));
  return {
    region: node.region,
    node: node.nodeId,
    stage: s.stage.stage,
    reason: s.stage.reason,
    lagMs: s.stage.lagMs,
    stalenessMs: stalenessMs(r.peers),
    recovery: r.recovery,
    hlc: r.hlc,
    vector: r.vector,
    stable: r.stable,
    peers: r.peers.map((p) => ({ region: p.region, reachable: views.get(p.region)?.reachable ?? false, lagMs: p.lagMs, lagOps: p.lagOps, stage: views.get(p.region)?.info?.stage ?? null })),
    leases: s.leases.map((l) => ({ region: l.region, holder: l.holder, epoch: l.epoch, expiresAt: l.expiresAtMs === null ? null : new Date(l.expiresAtMs).toISOString(), drained: l.drained, heldHere: l.heldHere, heldForMs: l.heldForMs === null ? null : Math.round(l.heldForMs) })),
    clock: {
      trusted: s.clock.trusted,
      measured: s.clock.measured,
      offsets: Object.fromEntries(Object.entries(s.clock.offsets).map(([peer, o]) => [peer, o === null ? null : { offsetMs: Math.round(o.wallMs * 10) / 10, rttMs: Math.round(o.rttMs * 10) / 10 }])),
    },
    raft: s.raft,
    logBytes: r.logBytes,
    peerInputsDropped: s.peerInputsDropped,
    evictions: (s.evictions ?? []).map((e) => ({ region: e.region, through: e.through, index: e.index, by: e.by, acks: e.acks })),
  };
}

/**
 * The call for the region, without the fields that were not given. The core validates every
 * field it gets and names the one at fault; this cast is the one place HTTP input enters typed.
 */
function call(fields: Record<string, unknown>): ClientCall {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out as unknown as ClientCall;
}
