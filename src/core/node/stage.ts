/**
 * A node's stage (docs/internals/failover.md, "Stages: liveness is not readiness"): `catching-up` →
 * `read-ready` → `write-ready`, or `fenced`. Computed at every step from what the node knows, so a
 * restart or a healed partition starts over from `catching-up` by itself: nothing is remembered
 * that could be out of date.
 */
import type { Stage, StageReason } from './messages.js';

export interface StageInputs {
  /**
   * The node's disk is full (the shell saw a commit fail for lack of space, and reopened the store):
   * it writes nothing until space is freed. Comes first: the core was reopened from the store, so
   * what it knows of clocks and peers starts over, and none of it matters while nothing can be written.
   */
  readonly storageFull: boolean;
  /** An operator drained this region (through the strong log). */
  readonly drained: boolean;
  /** Restored from a backup, and not yet holding every write of its own its peers hold (replica/recovery.ts). */
  readonly restoring: boolean;
  /** The strong log evicted this region from causal stability (strong/membership.ts): its data can no longer be merged. */
  readonly evicted: boolean;
  /**
   * After a restart, the strong log is not yet re-applied as far as the evictions this node had
   * seen (RegionCore #membershipBehind): whether it is itself evicted is not known yet. Optional: false.
   */
  readonly membershipBehind?: boolean;
  /** The clock guard has measured a majority of regions; and finds this node's clocks within the bound of a majority. */
  readonly clockMeasured: boolean;
  readonly clockTrusted: boolean;
  /** How far behind the reachable peers' writes this node may be (Infinity: a reachable peer's freshness is unknown). */
  readonly lagMs: number;
  /** This region holds its own write lease now. */
  readonly ownLease: boolean;
  readonly readReadyLagMs: number;
  readonly writeReadyLagMs: number;
}

export interface StageView {
  readonly stage: Stage;
  readonly reason: StageReason | null;
  readonly lagMs: number | null;
}

export function computeStage(i: StageInputs): StageView {
  const lagMs = Number.isFinite(i.lagMs) ? Math.max(0, Math.round(i.lagMs)) : null;
  if (i.storageFull) return { stage: 'fenced', reason: 'storage', lagMs: null };
  if (i.clockMeasured && !i.clockTrusted) return { stage: 'fenced', reason: 'clock', lagMs };
  if (i.evicted) return { stage: 'catching-up', reason: 'snapshot', lagMs };
  if (i.membershipBehind === true) return { stage: 'catching-up', reason: 'starting', lagMs };
  if (i.restoring) return { stage: 'catching-up', reason: 'restore', lagMs };
  if (!i.clockMeasured) return { stage: 'catching-up', reason: 'starting', lagMs };
  if (!(i.lagMs <= i.readReadyLagMs)) return { stage: 'catching-up', reason: 'lag', lagMs };
  if (!(i.lagMs <= i.writeReadyLagMs)) return { stage: 'read-ready', reason: 'lag', lagMs };
  // A drain only takes rights away: a drained region whose clock or data is not ready is reported
  // (and refuses) as such, never as fenced (drain), which serves multi-writer writes.
  if (i.drained) return { stage: 'fenced', reason: 'drain', lagMs };
  if (!i.ownLease) return { stage: 'fenced', reason: 'lease', lagMs };
  return { stage: 'write-ready', reason: null, lagMs };
}

/** The stage lets this node write with its own data (it may still lack rights for guarded rows). */
export function canWrite(v: StageView): boolean {
  return v.stage === 'write-ready' || (v.stage === 'fenced' && v.reason !== 'clock' && v.reason !== 'storage');
}

/** The stage lets this node serve reads. */
export function canRead(v: StageView): boolean {
  return v.stage !== 'catching-up';
}
