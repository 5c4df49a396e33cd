/**
 * Writes waiting on the log (transactions, row writes, table changes and metadata commands).
 *
 * A write reaching the leader is proposed and answered when applied at the position it was
 * proposed at: an entry of another term there means it was overwritten, certainly not committed.
 * A write reaching a follower is forwarded to the leader under a name (origin, seq), and answered
 * when the follower itself applies that name (the state machine is deterministic, so it computes
 * the same result the leader does); the state machine applies each name at most once, however many
 * copies of the forward reach a leader (Raft thesis §6.3).
 */
import type { RegionId } from '../clock/version-vector.js';
import { ternError } from '../errors.js';
import { limits } from '../limits.js';
import type { Answer } from './commands.js';
import { reply, sendPeer, type StrongContext } from './context.js';
import type { StrongReply, StrongRequest } from './messages.js';
import { quorumTimeout } from './quorum-timeout.js';
import type { ApplyResult, StrongCommand } from './types.js';

interface Waiter {
  readonly id: number;
  readonly request: StrongRequest;
  readonly deadlineMs: number;
  readonly answer: Answer;
  state: 'waiting' | 'proposed' | 'forwarded';
  /** Where its name was last sent (forwarded to that leader, or proposed here): re-routed when the leader changes. */
  routedTo: RegionId | null;
  /** Where the command sits in our log, when we proposed it. */
  index: number;
  term: number;
  /** Its name when forwarded (0 until first forwarded). */
  seq: number;
  /** True once the command may have reached a leader's log (a timeout must then say "may still commit"). */
  proposed: boolean;
  readonly command: StrongCommand;
}

export class StrongWrites {
  readonly #ctx: StrongContext;
  readonly #writes = new Map<number, Waiter>();
  /** Log index → waiters proposed there. */
  readonly #byIndex = new Map<number, Set<Waiter>>();
  /** Forwarded writes by their name (seq). */
  readonly #forwarded = new Map<number, Waiter>();
  /**
   * This boot's name for the commands it forwards, and their sequence. Random per boot: a reply
   * or a command from before a restart can never be taken for one of this boot's.
   */
  readonly #origin: string;
  #seq: number;

  constructor(ctx: StrongContext, origin: string, firstSeq: number) {
    this.#ctx = ctx;
    this.#origin = origin;
    this.#seq = firstSeq;
  }

  /** Writes waiting for an answer. */
  get size(): number {
    return this.#writes.size;
  }

  submit(id: number, request: StrongRequest, answer: Answer, command: StrongCommand): void {
    const max = this.#ctx.config.writesWaitingMax ?? limits.strongWritesWaitingMax;
    if (this.#writes.size >= max) {
      return reply(this.#ctx, id, { ok: false, error: ternError('OVERLOADED', `${max} strong writes are already waiting for the group here; retry with backoff (nothing was written)`) });
    }
    const w: Waiter = { id, request, deadlineMs: this.#ctx.monoMs + this.#ctx.config.requestTimeoutMs, answer, state: 'waiting', routedTo: null, index: 0, term: 0, seq: 0, proposed: false, command };
    this.#writes.set(id, w);
    this.#route(w);
  }

  /** Proposes at the leader, forwards from a follower, or waits for a leader (retried each tick). */
  #route(w: Waiter): void {
    const { raft, config, counters } = this.#ctx;
    // Once forwarded, a command may sit in some leader's log under its name: it is never proposed
    // again under another (only forwarded again under the same one), or it could run twice.
    if (raft.role === 'leader' && w.seq === 0) {
      const r = raft.propose(w.command);
      if (!r.ok) return; // transferring leadership: retried on the next tick
      counters.proposals++;
      w.state = 'proposed';
      w.proposed = true;
      w.index = r.index;
      w.term = r.term;
      let set = this.#byIndex.get(r.index);
      if (set === undefined) this.#byIndex.set(r.index, (set = new Set()));
      set.add(w);
      return;
    }
    if (raft.role === 'leader') {
      // Forwarded before this node led: propose it here under its name. Copies already sent to
      // a former leader may commit too; the state machine applies the name once.
      const r = raft.propose({ ...w.command, from: { origin: this.#origin, seq: w.seq } });
      if (!r.ok) return;
      counters.proposals++;
      w.state = 'forwarded';
      w.routedTo = config.region;
      return;
    }
    const leader = raft.leader;
    if (leader === null) return;
    if (w.seq === 0) {
      w.seq = ++this.#seq;
      this.#forwarded.set(w.seq, w);
    }
    counters.forwarded++;
    w.state = 'forwarded';
    w.routedTo = leader;
    w.proposed = true; // the leader may propose it even if its answer is lost
    sendPeer(this.#ctx, leader, { t: 'fwd', id: w.seq, command: { ...w.command, from: { origin: this.#origin, seq: w.seq } } });
  }

  #settle(w: Waiter, r: StrongReply): void {
    this.#writes.delete(w.id);
    this.#forwarded.delete(w.seq);
    const set = this.#byIndex.get(w.index);
    set?.delete(w);
    if (set?.size === 0) this.#byIndex.delete(w.index);
    reply(this.#ctx, w.id, r);
  }

  #timeout(w: Waiter): void {
    const retry = w.command.t !== 'txn' ? 'idempotent' : w.command.idem !== null ? 'keyed' : 'unkeyed';
    this.#settle(w, { ok: false, error: quorumTimeout(this.#ctx, w.proposed, `this ${w.answer === 'txn' || w.answer === 'write' ? 'write' : w.answer + ' change'}`, retry) });
  }

  /** On tick: time out what waited too long; send on what waits for a leader or went to a former one. */
  tick(): void {
    const { raft, monoMs } = this.#ctx;
    for (const w of [...this.#writes.values()]) {
      if (monoMs >= w.deadlineMs) this.#timeout(w);
      else if (w.state === 'waiting' || (w.state === 'forwarded' && raft.leader !== null && raft.leader !== w.routedTo)) this.#route(w);
    }
  }

  /** As leader: a follower asks us to propose its command. */
  onForward(from: RegionId, id: number, command: StrongCommand): void {
    const { raft, counters } = this.#ctx;
    if (raft.role !== 'leader') return sendPeer(this.#ctx, from, { t: 'fwd-refused', id, leader: raft.leader });
    const r = raft.propose(command);
    if (!r.ok) return sendPeer(this.#ctx, from, { t: 'fwd-refused', id, leader: null });
    counters.proposals++;
    sendPeer(this.#ctx, from, { t: 'fwd-ack', id, index: r.index, term: r.term });
  }

  /** This copy was not proposed (others may have been): forward it again, under the same name, on the next tick. */
  onForwardRefused(id: number): void {
    const w = this.#forwarded.get(id);
    if (w !== undefined) w.state = 'waiting';
  }

  /** The entry at `index` was applied with `result` (null: a no-op, or a copy already applied). */
  onApplied(index: number, term: number, data: StrongCommand | null, result: ApplyResult | null): void {
    const from = data?.from;
    if (from !== undefined && from.origin === this.#origin && result !== null) {
      const w = this.#forwarded.get(from.seq);
      if (w !== undefined) this.#settle(w, answerOf(w.answer, result, index));
    }
    const waiters = this.#byIndex.get(index);
    if (waiters === undefined) return;
    for (const w of [...waiters]) {
      if (w.term !== term || result === null) {
        // Another leader's entry took the position of our proposal: it was never committed,
        // and no copy of it exists (we proposed it once, here).
        this.#settle(w, { ok: false, error: ternError('QUORUM_TIMEOUT', 'leadership changed before this write committed; it was not applied: retrying is safe', { mayHaveCommitted: false }) });
      } else this.#settle(w, answerOf(w.answer, result, index));
    }
  }

  /** A snapshot up to `index` replaced the log: waiters inside it cannot learn their entry's fate here. */
  onSnapshotInstalled(index: number): void {
    for (const [i, set] of [...this.#byIndex]) {
      if (i > index) continue;
      for (const w of set) this.#timeout(w);
    }
    // Forwarded writes inside the snapshot were either applied there or not: we cannot tell.
    for (const w of [...this.#forwarded.values()]) if (w.state !== 'waiting') this.#timeout(w);
  }
}

function answerOf(answer: Answer, result: ApplyResult, index: number): StrongReply {
  if (!result.ok) return result;
  switch (result.kind) {
    case 'txn':
      if (answer === 'write') return { ok: true, kind: 'write', row: result.outcome.results[0] ?? null, replayed: result.replayed, index };
      return { ok: true, kind: 'txn', outcome: result.outcome, replayed: result.replayed, index };
    case 'table':
      return { ok: true, kind: 'table', table: result.table, policy: result.policy, index };
    case 'lease':
      return { ok: true, kind: 'lease', op: result.op, granted: result.granted, slot: result.slot, lease: result.lease, index };
    case 'claim':
      return { ok: true, kind: 'claim', granted: result.granted, holder: result.holder, index };
    case 'release':
      return { ok: true, kind: 'release', released: result.released, index };
    case 'membership':
      return { ok: true, kind: 'membership', changed: result.changed, why: result.why, index };
    case 'access':
      return { ok: true, kind: 'access', changed: result.changed, index };
  }
}
