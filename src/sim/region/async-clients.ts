/**
 * The async tables' clients of the region world (`terndb sim --world async` runs only these):
 * each runs the async workload and writes guarded tables, records every call in the Jepsen-style
 * history the async checkers read, and retries idempotent writes elsewhere when left without an
 * answer. A guarded write refused with FENCED, WRONG_REGION or NOT_READY is retried (same key) in
 * the region the refusal names, as a client SDK would: that is how writes reach a failover region.
 */
import { decodeSessionToken, type VersionVector } from '../../core/clock/version-vector.js';
import type { RegionReply } from '../../core/node/messages.js';
import type { ClientReply, ClientRequest } from '../../core/replica/messages.js';
import type { ClientCall, HistoryEvent } from '../history.js';
import type { Prng } from '../prng.js';
import { newWorkloadState, planCall, type PlannedCall, type WorkloadState } from '../workload.js';
import type { ClientPort } from './port.js';
import { guardedTables, planGuardedCall } from './workload.js';

const clientTimeoutMs = 1_500;
/** Attempts per guarded write at most (the first and two retries). */
const guardedAttemptsMax = 3;
const guarded = new Set<string>(Object.values(guardedTables));

interface Pending {
  readonly reqId: number;
  readonly historyId: number;
  readonly planned: PlannedCall;
  readonly node: number;
  readonly attempt: number;
  readonly firstId: number;
}

interface AsyncClient {
  readonly id: number;
  readonly home: number;
  readonly rng: Prng;
  token: string | undefined;
  calls: number;
  pending: Pending | null;
  followUp: PlannedCall | null;
}

export class AsyncClients {
  readonly #port: ClientPort;
  readonly #clients: AsyncClient[] = [];
  readonly #workload: WorkloadState = newWorkloadState();
  readonly #guardedShare: number;
  readonly history: HistoryEvent[] = [];
  #nextHistoryId = 1;

  /** `guardedShare`: the share of calls that go to guarded tables. */
  constructor(port: ClientPort, guardedShare: number) {
    this.#port = port;
    this.#guardedShare = guardedShare;
  }

  add(id: number, home: number, rng: Prng, startMs: number): void {
    const client: AsyncClient = { id, home, rng, token: undefined, calls: 0, pending: null, followUp: null };
    this.#clients.push(client);
    this.#port.later(startMs, () => this.#next(client));
  }

  /** No client is waiting for an answer or about to make a follow-up call. */
  idle(): boolean {
    return this.#clients.every((c) => c.pending === null && c.followUp === null);
  }

  /** After the fault phase: clients with a follow-up make it (the checkers want it completed). */
  kick(): void {
    for (const c of this.#clients) if (c.pending === null && c.followUp !== null) this.#port.later(0, () => this.#next(c));
  }

  #next(c: AsyncClient): void {
    if (c.pending !== null) return;
    let planned = c.followUp;
    c.followUp = null;
    if (planned === null) {
      if (this.#port.phase() !== 'faults') return;
      const n = c.calls;
      planned = c.rng.chance(this.#guardedShare)
        ? planGuardedCall(c.rng, this.#port.names, c.home, `${c.id}-${n}`, `v${c.id}.${n}`)
        : planCall(c.rng, this.#workload, c.id, n);
    }
    c.calls++;
    this.#send(c, planned, c.home, 1, null);
  }

  #send(c: AsyncClient, planned: PlannedCall, node: number, attempt: number, firstId: number | null): void {
    const historyId = this.#nextHistoryId++;
    const session = c.token === undefined ? {} : decodeOrEmpty(c.token);
    this.history.push({
      type: 'invoke',
      id: historyId,
      process: c.id,
      region: this.#port.names[node] as string,
      timeMs: this.#port.now(),
      call: planned.call,
      session,
      ...(firstId === null ? {} : { retryOf: firstId }),
    });
    const reqId = this.#port.call(node, { api: 'async', request: toRequest(planned.call, c.token) }, (reply) => this.#onReply(c, reqId, reply));
    c.pending = { reqId, historyId, planned, node, attempt, firstId: firstId ?? historyId };
    this.#port.later(clientTimeoutMs, () => this.#onTimeout(c, reqId));
  }

  #onReply(c: AsyncClient, reqId: number, r: RegionReply): void {
    const p = c.pending;
    if (p === null || p.reqId !== reqId) return; // a late answer after a timeout: already recorded as info
    c.pending = null;
    const reply = r as ClientReply;
    const now = this.#port.now();
    if (!reply.ok) {
      this.history.push({ type: 'fail', id: p.historyId, timeMs: now, code: reply.error.code });
      const retryAt = this.#redirect(c, p, reply.error);
      if (retryAt !== null) return this.#send(c, p.planned, retryAt, p.attempt + 1, p.firstId);
    } else if (reply.kind === 'write') {
      c.token = reply.token;
      this.history.push({ type: 'ok', id: p.historyId, timeMs: now, result: { kind: 'write', dot: reply.result.dot, row: reply.result.row, token: decodeOrEmpty(reply.token) } });
      p.planned.onOk?.();
    } else if (reply.kind === 'read') {
      c.token = reply.token;
      this.history.push({ type: 'ok', id: p.historyId, timeMs: now, result: { kind: 'read', row: reply.row, vector: reply.vector, token: decodeOrEmpty(reply.token) } });
      p.planned.onOk?.();
      c.followUp = p.planned.then?.(reply.row) ?? null;
    }
    this.#port.later(c.rng.between(2, 20), () => this.#next(c));
  }

  /** Where a refused guarded write goes next (the region the refusal names, else another one), or null. */
  #redirect(c: AsyncClient, p: Pending, e: { code: string; home?: string; regions?: readonly string[] }): number | null {
    const call = p.planned.call;
    if (call.f === 'read' || !guarded.has(call.table) || p.attempt >= guardedAttemptsMax || this.#port.phase() !== 'faults') return null;
    if (e.code !== 'FENCED' && e.code !== 'WRONG_REGION' && e.code !== 'NOT_READY') return null;
    const names = this.#port.names;
    const named = e.home ?? e.regions?.[0];
    const i = named === undefined ? -1 : names.indexOf(named);
    if (i >= 0 && i !== p.node) return i;
    const others = names.map((_, j) => j).filter((j) => j !== p.node);
    return others.length === 0 ? null : c.rng.pick(others);
  }

  #onTimeout(c: AsyncClient, reqId: number): void {
    const p = c.pending;
    if (p === null || p.reqId !== reqId) return;
    c.pending = null;
    this.#port.forget(reqId);
    this.history.push({ type: 'info', id: p.historyId, timeMs: this.#port.now(), reason: 'timeout' });
    const call = p.planned.call;
    const names = this.#port.names;
    const retries = call.f !== 'read' && guarded.has(call.table) ? guardedAttemptsMax - 1 : 1;
    // A write with an idempotency key is safe to retry elsewhere: it must take effect once.
    if (call.f !== 'read' && call.idempotencyKey !== undefined && p.attempt <= retries && names.length > 1) {
      // Usually in a region cut off from the first one, if there is one, as a client whose region
      // became unreachable would. That is where copies are made.
      const others = names.map((_, i) => i).filter((i) => i !== p.node);
      const cutOff = others.filter((i) => this.#port.isCut(p.node, i));
      const pool = cutOff.length > 0 && c.rng.chance(0.7) ? cutOff : others;
      this.#send(c, p.planned, c.rng.pick(pool), p.attempt + 1, p.firstId);
      return;
    }
    this.#port.later(c.rng.between(2, 20), () => this.#next(c));
  }
}

function decodeOrEmpty(token: string): VersionVector {
  const d = decodeSessionToken(token);
  return d.ok ? d.vector : {};
}

export function toRequest(call: ClientCall, token: string | undefined): ClientRequest {
  const session = token === undefined ? {} : { session: token };
  switch (call.f) {
    case 'write':
      return { kind: 'write', table: call.table, key: call.key, body: call.body, ...session, ...(call.idempotencyKey === undefined ? {} : { idempotencyKey: call.idempotencyKey }) };
    case 'delete':
      return { kind: 'delete', table: call.table, key: call.key, ...session, ...(call.idempotencyKey === undefined ? {} : { idempotencyKey: call.idempotencyKey }) };
    case 'read':
      return {
        kind: 'read',
        table: call.table,
        key: call.key,
        consistency: call.consistency,
        ...session,
        ...(call.maxStalenessMs === undefined ? {} : { maxStalenessMs: call.maxStalenessMs }),
      };
  }
}
