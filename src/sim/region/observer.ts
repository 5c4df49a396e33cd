/**
 * Watches the region cores from outside, step by step, and writes down the facts the region
 * checkers need (record.ts): each request's stage at admission and what it was, acknowledged
 * guarded writes with their fence stamps, lease grants as the strong logs apply them, stage
 * changes, clock jumps, the ops created and the leaders per term. It only reads the cores.
 */
import type { RegionId } from '../../core/clock/version-vector.js';
import type { RegionOutput, RegionRequest } from '../../core/node/messages.js';
import type { RegionCore } from '../../core/node/region-core.js';
import type { Op } from '../../core/model/op.js';
import type { Access, Affliction, ClockJump, CreatedOp, GuardedAck, LeaseGrant, RegionFacts, ServedRequest, StageMark } from './record.js';

interface Admission {
  readonly access: Access;
  readonly what: string;
  readonly stage: string;
  readonly reason: string | null;
  readonly admittedMs: number;
}

/** What a client request asks for, by its own kind (independent of the core's admission table). */
export function accessOf(r: RegionRequest): { access: Access; what: string } | null {
  if (r.api === 'admin') return null;
  const q = r.request;
  const where = 'table' in q && q.table !== undefined ? `${q.table}/${'key' in q ? q.key : '*'}` : '';
  const what = `${r.api} ${q.kind} ${where}`.trim();
  switch (q.kind) {
    case 'write':
    case 'delete':
    case 'txn':
      return { access: 'write', what };
    case 'read':
    case 'scan':
      return { access: q.consistency === 'bounded' ? 'bounded-read' : 'read', what };
    case 'conflicts':
      return { access: 'read', what };
    default:
      return null;
  }
}

export class RegionObserver {
  readonly #names: readonly RegionId[];
  readonly #admitted = new Map<number, Admission>();
  readonly #grantSeen = new Set<string>();
  readonly #lastStage = new Map<RegionId, string>();
  readonly #openJumps = new Map<RegionId, { fromMs: number; offsetMs: number }>();
  readonly #maxOffsetMs: number;
  readonly guardedAcks: GuardedAck[] = [];
  readonly grants: LeaseGrant[] = [];
  readonly served: ServedRequest[] = [];
  readonly stages: StageMark[] = [];
  readonly clockJumps: ClockJump[] = [];
  readonly created: CreatedOp[] = [];
  readonly afflictions: Affliction[] = [];
  /** Faults of a region still going on: what, since when. */
  readonly #open = new Map<RegionId, Map<string, number>>();
  readonly leaders = new Map<number, Set<string>>();

  readonly #wallBaseMs: number;

  /** `wallBaseMs`: what the nodes' wall clocks read at true time 0 (without their offsets). */
  constructor(names: readonly RegionId[], maxOffsetMs: number, wallBaseMs: number) {
    this.#names = names;
    this.#maxOffsetMs = maxOffsetMs;
    this.#wallBaseMs = wallBaseMs;
  }

  /** A client request is about to be stepped into `core`: its stage now is the stage that admits it. */
  admitting(reqId: number, request: RegionRequest, core: RegionCore, nowMs: number): void {
    const a = accessOf(request);
    if (a === null) return;
    this.#admitted.set(reqId, { ...a, stage: core.stage.stage, reason: core.stage.reason, admittedMs: nowMs });
  }

  /** `stageIsCurrent` false: the output was held through a pause (the core's stage is still the one from before it, its ops were noted when committed). */
  afterStep(core: RegionCore, out: RegionOutput, nowMs: number, stageIsCurrent = true): void {
    const region = core.region;
    // It steps: it is up and awake.
    this.closeAffliction(region, 'down', nowMs);
    this.closeAffliction(region, 'paused', nowMs);
    if (stageIsCurrent) this.#noteStage(region, core.stage.stage, core.stage.reason, nowMs);
    for (const [slot, s] of core.strong.state.leases.slots()) {
      if (s.holder === null) continue;
      const key = `${slot}/${s.epoch}`;
      if (this.#grantSeen.has(key)) continue;
      this.#grantSeen.add(key);
      this.grants.push({ slot, epoch: s.epoch, holder: s.holder, firstAppliedMs: nowMs });
    }
    let created: Map<string, Op> | null = null;
    if (out.created.length > 0) {
      created = new Map();
      for (const op of out.created) created.set(`${op.dot.origin}.${op.dot.seq}`, op);
      // Held through a pause, they were noted when committed (noteCreated).
      if (stageIsCurrent) this.noteCreated(region, out.created, nowMs);
    }
    for (const { id, reply } of out.replies) {
      const a = this.#admitted.get(id);
      if (a === undefined) continue;
      this.#admitted.delete(id);
      if (!reply.ok) continue;
      this.served.push({ region, access: a.access, what: a.what, stage: a.stage, reason: a.reason, admittedMs: a.admittedMs, okMs: nowMs });
      if (!('kind' in reply) || reply.kind !== 'write' || !('result' in reply) || reply.replayed) continue;
      const op = created?.get(`${reply.result.dot.origin}.${reply.result.dot.seq}`);
      if (op?.fence === undefined) continue;
      this.guardedAcks.push({ region, slot: op.fence.slot, epoch: op.fence.epoch, at: op.fence.at, timeMs: nowMs, table: op.table, key: op.key, dot: op.dot });
    }
    const raft = core.strong.raft;
    if (raft.role === 'leader') {
      let set = this.leaders.get(raft.term);
      if (set === undefined) this.leaders.set(raft.term, (set = new Set()));
      set.add(region);
    }
  }

  /** Ops `region` committed at `nowMs`, with how far their HLC was from true time. */
  noteCreated(region: RegionId, ops: readonly Op[], nowMs: number): void {
    for (const op of ops) this.created.push({ region, dot: op.dot, timeMs: nowMs, hlcAheadMs: op.hlc.wall - (this.#wallBaseMs + nowMs) });
  }

  /** The node went down (crash) or was paused: marks in its stage trace, and a fault of its own until it steps again. */
  mark(region: RegionId, what: 'down' | 'paused', nowMs: number): void {
    this.#noteStage(region, what, null, nowMs);
    this.openAffliction(region, what, nowMs);
  }

  /** A fault of `region`'s own begins (closed by closeAffliction, or at the end of the fault phase). */
  openAffliction(region: RegionId, what: string, nowMs: number): void {
    let open = this.#open.get(region);
    if (open === undefined) this.#open.set(region, (open = new Map()));
    if (!open.has(what)) open.set(what, nowMs);
  }

  closeAffliction(region: RegionId, what: string, nowMs: number): void {
    const from = this.#open.get(region)?.get(what);
    if (from === undefined) return;
    this.#open.get(region)?.delete(what);
    this.afflictions.push({ region, fromMs: from, toMs: nowMs, what });
  }

  /** A fault of `region`'s own at one moment (its clock was set). */
  afflict(region: RegionId, what: string, nowMs: number): void {
    this.afflictions.push({ region, fromMs: nowMs, toMs: nowMs, what });
  }

  /** A node's clock offset was set; beyond the bound it opens a jump, within it closes one. */
  clockSet(region: RegionId, offsetMs: number, nowMs: number): void {
    // A step of its clock is a fault of its own (it measures again); beyond the bound, until it is back.
    this.afflict(region, 'clock set', nowMs);
    if (Math.abs(offsetMs) > this.#maxOffsetMs) this.openAffliction(region, 'clock off', nowMs);
    else this.closeAffliction(region, 'clock off', nowMs);
    const open = this.#openJumps.get(region);
    if (open !== undefined) {
      this.#openJumps.delete(region);
      this.clockJumps.push({ region, fromMs: open.fromMs, toMs: nowMs, offsetMs: open.offsetMs });
    }
    if (Math.abs(offsetMs) > this.#maxOffsetMs) this.#openJumps.set(region, { fromMs: nowMs, offsetMs });
  }

  #noteStage(region: RegionId, stage: string, reason: string | null, nowMs: number): void {
    const key = `${stage}/${reason ?? ''}`;
    if (this.#lastStage.get(region) === key) return;
    this.#lastStage.set(region, key);
    this.stages.push({ region, timeMs: nowMs, stage, reason });
  }

  facts(clockProbeMs: number, clockGraceMs: number, endMs: number, timing: { readonly settleMs: number; readonly faultsEndMs: number }, leaseHistory: RegionFacts['leaseHistory']): RegionFacts {
    const jumps = [...this.clockJumps];
    const afflictions = [...this.afflictions];
    for (const [region, open] of this.#open) for (const [what, fromMs] of open) afflictions.push({ region, fromMs, toMs: endMs, what });
    for (const [region, open] of this.#openJumps) jumps.push({ region, fromMs: open.fromMs, toMs: endMs, offsetMs: open.offsetMs });
    return {
      regions: this.#names,
      maxClockOffsetMs: this.#maxOffsetMs,
      clockProbeMs,
      clockGraceMs,
      guardedAcks: this.guardedAcks,
      grants: this.grants,
      served: this.served,
      stages: this.stages,
      clockJumps: jumps,
      created: this.created,
      afflictions,
      settleMs: timing.settleMs,
      faultsEndMs: timing.faultsEndMs,
      leaseHistory,
    };
  }
}
