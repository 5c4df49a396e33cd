/**
 * Reads of strong tables at one region.
 *
 * - `strong` (the default) is linearizable: the leader serves under its lease or after a ReadIndex
 *   round (thesis §6.4); a follower asks the leader for a read index and serves once it has applied
 *   it.
 * - `bounded` is served from the applied state when it is provably fresh enough: the leader knows
 *   from its own clock (a deposed leader that does not know it yet vouches only for its last quorum
 *   contact); a follower from the times the leader put on its appends, plus the clock offset.
 * - `session` waits until the region has applied the log index in the client's token.
 * - `eventual` is the applied state as it is.
 */
import type { RegionId } from '../clock/version-vector.js';
import { badRequest, ternError, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import type { RowView } from '../model/row-view.js';
import { keyProblem } from '../model/validate.js';
import { utf8Length } from '../util/json.js';
import { reply, sendPeer, type StrongContext } from './context.js';
import type { StrongRequest } from './messages.js';
import { quorumTimeout } from './quorum-timeout.js';
import { strongRowView } from './state-machine.js';
import { strongTable } from './txn-body.js';

export type ReadRequest = Extract<StrongRequest, { kind: 'read' | 'scan' }>;

interface ReadWaiter {
  readonly id: number;
  /** Its name when the read point is asked of the leader. */
  readonly seq: number;
  readonly request: ReadRequest;
  readonly deadlineMs: number;
  /** The read point; null until known. */
  index: number | null;
  /** Asked of the leader (forwarded) or of our own Raft; 0 when not yet asked. */
  askedAtMs: number;
}

type ReadCtx = { readonly local: number } | { readonly from: RegionId; readonly id: number };

/** Heard-from-the-leader freshness pairs kept while waiting to be applied. */
const freshnessPairsMax = limits.strongFreshnessPairsMax;

export class StrongReads {
  readonly #ctx: StrongContext;
  readonly #reads = new Map<number, ReadWaiter>();
  readonly #forwarded = new Map<number, ReadWaiter>();
  readonly #readCtx = new Map<number, ReadCtx>();
  #nextCtx = 1;
  #seq = 0;
  /** (commit index, leader's wall clock) pairs heard from the leader: how fresh the applied state is. */
  #freshness: Array<{ commit: number; leaderMs: number }> = [];
  /** By the leader's wall clock, a time before which this region holds every acknowledged strong write. */
  #freshAsOfLeaderMs = -Infinity;

  constructor(ctx: StrongContext) {
    this.#ctx = ctx;
  }

  /** Freshness pairs held (at most limits.strongFreshnessPairsMax). */
  get freshnessPairs(): number {
    return this.#freshness.length;
  }

  /** By the leader's wall clock, a time before which this region holds every acknowledged strong write (-Infinity: none known). */
  get freshAsOfLeaderMs(): number {
    return this.#freshAsOfLeaderMs;
  }

  onRead(id: number, req: ReadRequest): void {
    const ctx = this.#ctx;
    const t = strongTable(ctx.state.tables(), req.table, 'table');
    if (!t.ok) return reply(ctx, id, { ok: false, error: t.error });
    const bad = req.kind === 'read' ? keyProblem(req.key) : scanProblem(req);
    if (bad !== null) return reply(ctx, id, { ok: false, error: bad });
    const consistency = req.consistency ?? 'strong';
    if (!['strong', 'session', 'causal', 'bounded', 'eventual'].includes(consistency)) return reply(ctx, id, { ok: false, error: badRequest('consistency', 'must be one of strong, session, causal, bounded, eventual') });
    if (consistency === 'bounded') {
      const b = req.maxStalenessMs;
      if (typeof b !== 'number' || !Number.isSafeInteger(b) || b < 0) return reply(ctx, id, { ok: false, error: badRequest('maxStalenessMs', 'bounded reads need a non-negative integer maxStalenessMs') });
      const stale = ctx.config.knobs?.boundedReadsUnchecked === true ? null : this.#stalenessProblem(b);
      if (stale !== null) return reply(ctx, id, { ok: false, error: stale });
      ctx.counters.followerReads++;
      return this.#serve(id, req);
    }
    if (consistency === 'eventual' || (consistency === 'strong' && ctx.config.knobs?.strongReadsFromLocalState === true)) return this.#serve(id, req);
    const session = req.session ?? 0;
    const r: ReadWaiter = {
      id,
      seq: ++this.#seq,
      request: req,
      deadlineMs: ctx.monoMs + (consistency === 'strong' ? ctx.config.requestTimeoutMs : ctx.config.sessionWaitMs),
      index: consistency === 'strong' ? null : ctx.config.knobs?.sessionReadsUnchecked === true ? 0 : session,
      askedAtMs: 0,
    };
    this.#reads.set(id, r);
    if (consistency === 'strong') this.#askReadIndex(r);
    else ctx.counters.followerReads++;
    this.serveReady();
  }

  /**
   * How stale this region's strong state may be, if more than `boundMs`. At the leader its own
   * clock says (elapsed since its last proof of leadership); a follower compares the leader's
   * stamps with its own wall clock and adds the offset. A leader whose commit index ran ahead of
   * its applied state in this very turn (its first entry just committed, say) answers from the
   * state it has applied: as fresh as the last time the two met, which may have been measured by
   * a former leader's clock.
   */
  #stalenessProblem(boundMs: number): TernError | null {
    const { raft, state, config, monoMs, wallMs } = this.#ctx;
    const own = raft.role === 'leader' && state.index >= raft.log.committed;
    const staleness = own ? monoMs - raft.freshAsOfMs() : wallMs - this.#freshAsOfLeaderMs + config.maxClockOffsetMs;
    if (staleness <= boundMs) return null;
    const known = Number.isFinite(staleness) ? `${Math.round(staleness)} ms` : 'unknown';
    return ternError('STALE', `region ${config.region} may be missing strong writes (staleness ${known} > ${boundMs} ms); retry, or read with consistency=strong`);
  }

  #askReadIndex(r: ReadWaiter): void {
    const ctx = this.#ctx;
    r.askedAtMs = ctx.monoMs;
    if (ctx.raft.role === 'leader') {
      const c = this.#nextCtx++;
      this.#readCtx.set(c, { local: r.id });
      if (ctx.raft.status().leaseValid) ctx.counters.leaseReads++;
      else ctx.counters.readIndexReads++;
      ctx.raft.readIndex(c, ctx.monoMs);
      return;
    }
    const leader = ctx.raft.leader;
    if (leader !== null && leader !== ctx.config.region) {
      ctx.counters.readIndexReads++;
      this.#forwarded.set(r.seq, r);
      sendPeer(ctx, leader, { t: 'fwd-read', id: r.seq });
    } else r.askedAtMs = 0; // ask again once a leader is known
  }

  #serve(id: number, req: ReadRequest): void {
    const { state } = this.#ctx;
    const index = Math.max(state.index, req.session ?? 0);
    if (req.kind === 'read') return reply(this.#ctx, id, { ok: true, kind: 'read', row: strongRowView(req.key, state.get(req.table, req.key)), index });
    const limit = (req.limit as number | undefined) ?? 100;
    const page = state.scan(req.table, { limit: limit + 1, ...(req.prefix !== undefined ? { prefix: req.prefix } : {}), ...(req.after !== undefined ? { after: req.after } : {}) });
    const rows: RowView[] = page.slice(0, limit).map(([k, row]) => strongRowView(k, row) as RowView);
    const next = page.length > limit ? (rows[rows.length - 1] as RowView).key : null;
    reply(this.#ctx, id, { ok: true, kind: 'scan', rows, next, index });
  }

  /** Serves reads whose point is applied. */
  serveReady(): void {
    for (const r of this.#reads.values()) {
      if (r.index !== null && this.#ctx.state.index >= r.index) {
        this.#reads.delete(r.id);
        this.#forwarded.delete(r.seq);
        this.#serve(r.id, r.request);
      }
    }
  }

  /** On tick: refuse reads past their deadline; ask again for read points never asked or lost. */
  tick(): void {
    const ctx = this.#ctx;
    for (const r of [...this.#reads.values()]) {
      if (ctx.monoMs >= r.deadlineMs) {
        this.#reads.delete(r.id);
        this.#forwarded.delete(r.seq);
        const strong = (r.request.consistency ?? 'strong') === 'strong';
        reply(ctx, r.id, {
          ok: false,
          error: strong
            ? quorumTimeout(ctx, false, 'read')
            : ternError('SESSION_UNAVAILABLE', `region ${ctx.config.region} has not yet applied what the session token requires; retry, or read with consistency=strong`),
        });
      } else if (r.index === null && (r.askedAtMs === 0 || ctx.monoMs - r.askedAtMs >= ctx.config.electionMs)) {
        this.#askReadIndex(r); // never asked, or the answer was lost: ask again
      }
    }
  }

  /** As leader: a follower asks for a linearizable read point. */
  onForwardedRead(from: RegionId, id: number): void {
    const ctx = this.#ctx;
    if (ctx.raft.role !== 'leader') return sendPeer(ctx, from, { t: 'read-index', id, index: null, leader: ctx.raft.leader });
    const c = this.#nextCtx++;
    this.#readCtx.set(c, { from, id });
    ctx.raft.readIndex(c, ctx.monoMs);
  }

  /** The leader answered our forwarded read with its read point (null: ask again). */
  onReadIndex(id: number, index: number | null): void {
    const r = this.#forwarded.get(id);
    if (r === undefined || r.index !== null) return;
    if (index === null) r.askedAtMs = 0;
    else r.index = index;
  }

  /** Raft confirmed (or abandoned, null) the read point asked under `ctx`. */
  readReady(c: number, index: number | null): void {
    const rc = this.#readCtx.get(c);
    if (rc === undefined) return;
    this.#readCtx.delete(c);
    if ('local' in rc) {
      const r = this.#reads.get(rc.local);
      if (r === undefined) return;
      if (index === null) r.askedAtMs = 0;
      else r.index = index;
    } else sendPeer(this.#ctx, rc.from, { t: 'read-index', id: rc.id, index, leader: index === null ? null : this.#ctx.config.region });
  }

  /**
   * A follower learns from the leader's appends how fresh its state will be once it applies
   * `commit`. The leader's stamp is never taken as later than now by our own clock: the leader can
   * only vouch for a moment before we heard it, so a leader clock far ahead (beyond the bound, and
   * not yet fenced) cannot make this region look fresh in the future.
   */
  heardLeader(commit: number, leaderMs: number): void {
    this.#freshness.push({ commit, leaderMs: Math.min(leaderMs, this.#ctx.wallMs) });
    if (this.#freshness.length > freshnessPairsMax) this.#freshness.shift();
    this.afterApply();
  }

  afterApply(): void {
    const { raft, state, monoMs, wallMs } = this.#ctx;
    while (this.#freshness.length > 0 && (this.#freshness[0] as { commit: number }).commit <= state.index) {
      const f = this.#freshness.shift() as { leaderMs: number };
      this.#freshAsOfLeaderMs = Math.max(this.#freshAsOfLeaderMs, f.leaderMs);
    }
    // As leader, our own freshness (Raft's, on the monotonic clock) in wall-clock terms.
    if (raft.role === 'leader' && state.index >= raft.log.committed) this.#freshAsOfLeaderMs = Math.max(this.#freshAsOfLeaderMs, wallMs - (monoMs - raft.freshAsOfMs()));
  }
}

function scanProblem(req: Extract<StrongRequest, { kind: 'scan' }>): TernError | null {
  const limit = req.limit ?? 100;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > limits.scanRowsMax) return badRequest('limit', `must be an integer from 1 to ${limits.scanRowsMax}`);
  for (const [name, v] of [['prefix', req.prefix], ['after', req.after]] as const) {
    if (v !== undefined && (typeof v !== 'string' || utf8Length(v) > limits.keyBytesMax)) return badRequest(name, 'must be a key-sized string');
  }
  return null;
}
