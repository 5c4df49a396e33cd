/**
 * The strong tables' clients of the region world (`terndb sim --world strong` runs only these):
 * registers for the linearizability checker, a bank for the bank checker, bounded and session
 * reads for the follower-reads checker. A call without an answer in time is unknown (info); one
 * with an idempotency key is retried in another region under the same key.
 */
import type { RegionReply } from '../../core/node/messages.js';
import type { StrongReply, StrongRequest } from '../../core/strong/messages.js';
import type { BankRecord, BankSnapshot } from '../check/bank.js';
import type { AckedWrite, FollowerRead, FollowerReadsRecord } from '../check/follower-reads.js';
import type { LinEvent } from '../check/lin-history.js';
import type { Prng } from '../prng.js';
import { accounts, initialBalance, planStrongCall, registerKeys, requestFor, type StrongCall } from '../strong/workload.js';
import type { ClientPort } from './port.js';

/** Beyond the strong group's request timeout (1.5 s), so its QUORUM_TIMEOUT answers arrive. */
const clientTimeoutMs = 2_500;

interface Attempt {
  readonly call: StrongCall;
  readonly request: StrongRequest;
  readonly invokeMs: number;
  readonly node: number;
  readonly retries: number;
  readonly sawInfo?: boolean;
}

interface StrongClient {
  readonly id: number;
  readonly home: number;
  readonly rng: Prng;
  readonly lastRead: Map<string, string | null>;
  session: number;
  readonly queue: StrongCall[];
  calls: number;
  busy: boolean;
  /** The request id of the attempt in flight. */
  reqId: number;
}

type Outcome = { kind: 'ok'; reply: StrongReply } | { kind: 'fail' } | { kind: 'info' };

export class StrongClients {
  readonly #port: ClientPort;
  readonly #clients: StrongClient[] = [];
  readonly lin: LinEvent[] = [];
  readonly #ackedWrites: AckedWrite[] = [];
  readonly #followerReads: FollowerRead[] = [];
  readonly #reads: Array<BankSnapshot & { process: number; invokeMs: number; okMs: number }> = [];
  #transfersCommitted = 0;
  #transfersUnknown = 0;
  #setUp = false;
  #finalWanted = false;
  readonly stats = { ops: 0, oks: 0, infos: 0, fails: 0, idempotentReplays: 0 };

  constructor(port: ClientPort) {
    this.#port = port;
  }

  add(id: number, home: number, rng: Prng): void {
    const client: StrongClient = { id, home, rng, lastRead: new Map(), session: 0, queue: [], calls: 0, busy: false, reqId: 0 };
    // The first client sets the bank up; the others start once it answered.
    if (this.#clients.length === 0) {
      client.queue.push({ f: 'setup' });
      this.#port.later(0, () => this.#next(client));
    }
    this.#clients.push(client);
  }

  get count(): number {
    return this.#clients.length;
  }

  idle(): boolean {
    return this.#clients.every((c) => !c.busy && c.queue.length === 0);
  }

  /** After the heal: every client reads every register and the bank once more (once the bank is set up). */
  finalReads(): void {
    this.#finalWanted = true;
    if (!this.#setUp) return;
    for (const c of this.#clients) {
      c.queue.push(...registerKeys.map((key) => ({ f: 'read' as const, key })), { f: 'balances' });
      this.#port.later(c.rng.int(20), () => this.#next(c));
    }
  }

  #next(c: StrongClient): void {
    if (c.busy) return;
    const queued = c.queue.shift();
    if (queued !== undefined) return this.#submit(c, queued, 0);
    if (this.#port.phase() !== 'faults') return;
    c.calls++;
    const call = planStrongCall(c.rng, `p${c.id}-${c.calls}`, c.lastRead);
    this.#submit(c, call, c.rng.chance(0.3) ? 2 : 0);
  }

  #submit(c: StrongClient, call: StrongCall, retries: number): void {
    let request = requestFor(call);
    if (retries > 0 && (request.kind === 'txn' || request.kind === 'write')) request = { ...request, idempotencyKey: `k-${c.id}-${c.calls}` };
    if (request.kind === 'read' && request.consistency === 'session') request = { ...request, session: c.session };
    this.stats.ops++;
    this.#invoke(c, call);
    c.busy = true;
    // Follower reads go to any region (a client that failed over): sessions must carry over.
    const node = call.f === 'follower-read' ? c.rng.int(this.#port.names.length) : c.home;
    this.#attempt(c, { call, request, invokeMs: this.#port.now(), node, retries });
  }

  #attempt(c: StrongClient, at: Attempt): void {
    const reqId = this.#port.call(at.node, { api: 'strong', request: at.request }, (reply) => this.#onReply(c, reqId, at, reply));
    c.reqId = reqId;
    this.#port.later(clientTimeoutMs, () => {
      if (c.reqId !== reqId || !c.busy) return;
      this.#port.forget(reqId);
      this.#complete(c, at, { kind: 'info' });
    });
  }

  #invoke(c: StrongClient, call: StrongCall): void {
    const base = { type: 'invoke' as const, process: c.id, time: this.#port.now() };
    if (call.f === 'read') this.lin.push({ ...base, key: call.key, op: 'read' });
    else if (call.f === 'write') this.lin.push({ ...base, key: call.key, op: 'write', value: call.value });
    else if (call.f === 'cas') this.lin.push({ ...base, key: call.key, op: 'cas', value: { from: call.from, to: call.to } });
  }

  #onReply(c: StrongClient, reqId: number, at: Attempt, r: RegionReply): void {
    if (c.reqId !== reqId || !c.busy) return;
    const reply = r as StrongReply;
    if (reply.ok) {
      if ((reply.kind === 'txn' || reply.kind === 'write') && reply.replayed) this.stats.idempotentReplays++;
      return this.#complete(c, at, { kind: 'ok', reply });
    }
    if (reply.error.code === 'QUORUM_TIMEOUT' && reply.error.mayHaveCommitted === true) return this.#complete(c, at, { kind: 'info' });
    this.#complete(c, at, { kind: 'fail' });
  }

  #complete(c: StrongClient, at: Attempt, outcome: Outcome): void {
    c.reqId = 0;
    const keyed = (at.request.kind === 'txn' || at.request.kind === 'write') && at.request.idempotencyKey !== undefined;
    if (outcome.kind !== 'ok' && at.retries > 0 && keyed && this.#port.phase() === 'faults') {
      // The same request with the same key in another region: at most one execution, and the
      // history sees one operation from the first invoke to the last answer.
      const n = this.#port.names.length;
      const node = (at.node + 1 + c.rng.int(n - 1)) % n;
      this.#attempt(c, { ...at, node, retries: at.retries - 1, ...(outcome.kind === 'info' ? { sawInfo: true } : {}) });
      return;
    }
    const final: Outcome = outcome.kind === 'fail' && at.sawInfo === true ? { kind: 'info' } : outcome;
    this.#record(c, at, final);
    c.busy = false;
    if (this.#port.phase() === 'faults' || c.queue.length > 0) this.#port.later(c.rng.between(0, 40), () => this.#next(c));
  }

  #record(c: StrongClient, at: Attempt, outcome: Outcome): void {
    const time = this.#port.now();
    const call = at.call;
    if (outcome.kind === 'ok') {
      this.stats.oks++;
      if (outcome.reply.ok && 'index' in outcome.reply) c.session = Math.max(c.session, outcome.reply.index);
    } else if (outcome.kind === 'info') this.stats.infos++;
    else this.stats.fails++;
    const lin = (type: LinEvent['type'], key: string, op: LinEvent['op'], value?: LinEvent['value']): void => {
      this.lin.push(value === undefined ? { type, process: c.id, key, op, time } : { type, process: c.id, key, op, value, time });
    };
    const followerRead = (consistency: FollowerRead['consistency'], row: { version: string } | null, maxStalenessMs?: number): void => {
      const region = this.#port.names[at.node] as string;
      const version = row === null ? 0 : Number(row.version);
      this.#followerReads.push({ process: c.id, key: call.f === 'read' || call.f === 'follower-read' ? call.key : '', consistency, region, invokeMs: at.invokeMs, okMs: time, version, ...(maxStalenessMs !== undefined ? { maxStalenessMs } : {}) });
    };
    // The row the write left, not the reply's index: a replayed retry answers at a later index.
    const acked = (key: string, reply: StrongReply): void => {
      const row = !reply.ok ? null : reply.kind === 'write' ? reply.row : reply.kind === 'txn' ? reply.outcome.results[0] : null;
      if (row !== null && row !== undefined) this.#ackedWrites.push({ process: c.id, key, index: Number(row.version), okMs: time });
    };
    switch (call.f) {
      case 'read': {
        if (outcome.kind !== 'ok' || outcome.reply.ok !== true || outcome.reply.kind !== 'read') return lin('fail', call.key, 'read');
        const v = outcome.reply.row?.fields['v'];
        const value = typeof v === 'string' ? v : null;
        c.lastRead.set(call.key, value);
        followerRead('strong', outcome.reply.row);
        return lin('ok', call.key, 'read', value);
      }
      case 'follower-read': {
        if (outcome.kind !== 'ok' || outcome.reply.ok !== true || outcome.reply.kind !== 'read') return;
        const v = outcome.reply.row?.fields['v'];
        c.lastRead.set(call.key, typeof v === 'string' ? v : null);
        return followerRead(call.consistency, outcome.reply.row, call.consistency === 'bounded' ? call.maxStalenessMs : undefined);
      }
      case 'write':
        if (outcome.kind === 'ok') acked(call.key, outcome.reply);
        return lin(outcome.kind, call.key, 'write');
      case 'cas': {
        if (outcome.kind !== 'ok') return lin(outcome.kind, call.key, 'cas');
        // A cas whose compare did not hold is an ok operation that returned false.
        const succeeded = outcome.reply.ok && outcome.reply.kind === 'txn' && outcome.reply.outcome.succeeded;
        if (succeeded) {
          c.lastRead.set(call.key, call.to);
          acked(call.key, outcome.reply);
        }
        this.lin.push({ type: 'ok', process: c.id, key: call.key, op: 'cas', ok: succeeded, time });
        return;
      }
      case 'transfer':
        if (outcome.kind === 'info') this.#transfersUnknown++;
        else if (outcome.kind === 'ok' && outcome.reply.ok && outcome.reply.kind === 'txn' && outcome.reply.outcome.succeeded) this.#transfersCommitted++;
        return;
      case 'balances': {
        if (outcome.kind !== 'ok' || !outcome.reply.ok || outcome.reply.kind !== 'txn') return;
        const rows = outcome.reply.outcome.results;
        const balances: Record<string, number> = {};
        accounts.forEach((a, i) => (balances[a] = Number(rows[i]?.fields['balance'] ?? 0)));
        const transfers = Number(rows[accounts.length]?.fields['transfers'] ?? 0);
        this.#reads.push({ balances, transfers, process: c.id, invokeMs: at.invokeMs, okMs: time });
        return;
      }
      case 'setup':
        if (outcome.kind !== 'ok') {
          // Not set up yet (no leader, or the region not ready): try again, in the heal phase too
          // (faults may leave no quorum for the whole fault phase). The compare makes a repeat harmless.
          c.queue.unshift({ f: 'setup' });
          return;
        }
        this.#setUp = true;
        if (this.#finalWanted) return this.finalReads();
        for (const other of this.#clients) if (other !== c) this.#port.later(other.rng.int(50), () => this.#next(other));
        return;
    }
  }

  followerReadsRecord(): FollowerReadsRecord {
    return { writes: this.#ackedWrites, reads: this.#followerReads };
  }

  bankRecord(final: Record<string, BankSnapshot | null>): BankRecord {
    return { accounts, total: accounts.length * initialBalance, reads: this.#reads, transfersCommitted: this.#transfersCommitted, transfersUnknown: this.#transfersUnknown, final };
  }
}
