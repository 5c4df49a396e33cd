/**
 * Fault workloads, planned up front from the seed and kept apart from correctness workloads so
 * the two combine freely: partitions of several shapes, crashes (between steps or during a
 * commit), message loss, duplication and reordering, clock skew, drift and jumps within and
 * beyond the max offset, and process pauses (SIGSTOP: the node takes nothing for a while, then
 * wakes with its clocks moved on; planned by `planPauses`).
 */
import type { LinkFaults } from './network.js';
import type { Prng } from './prng.js';

export const faultKinds = ['partition', 'crash', 'loss', 'dup', 'reorder', 'clock', 'pause', 'drain'] as const;
export type FaultKind = (typeof faultKinds)[number];

/** Parses a --faults value: a comma list of kinds, `all`, or `none`; a string says what is wrong. */
export function parseFaults(text: string): FaultKind[] | string {
  if (text === 'all') return [...faultKinds];
  if (text === 'none' || text === '') return [];
  const out: FaultKind[] = [];
  for (const part of text.split(',')) {
    const k = part.trim();
    if (!(faultKinds as readonly string[]).includes(k)) return `unknown fault '${k}' (known: ${faultKinds.join(', ')}, all, none)`;
    out.push(k as FaultKind);
  }
  return out;
}

/** The --faults value that gives `faults` back (for replay commands). */
export function faultsText(faults: readonly FaultKind[]): string {
  return faults.length === faultKinds.length ? 'all' : faults.length === 0 ? 'none' : faults.join(',');
}

export type FaultAction =
  | { readonly k: 'partition'; readonly groups: readonly (readonly number[])[]; readonly label: string }
  | { readonly k: 'heal-net' }
  | { readonly k: 'crash'; readonly node: number; readonly duringCommit: boolean }
  | { readonly k: 'restart'; readonly node: number }
  | { readonly k: 'clock'; readonly node: number; readonly offsetMs: number }
  | { readonly k: 'links'; readonly faults: LinkFaults }
  /** An operator drains or undrains `region` through node `via` (forced or not). */
  | { readonly k: 'operator'; readonly via: number; readonly op: 'drain' | 'undrain'; readonly region: number; readonly force: boolean }
  /** The node takes no input for `ms` (its queue waits), then wakes with its clocks `ms` later. */
  | { readonly k: 'pause'; readonly node: number; readonly ms: number; readonly inStep?: boolean };

export interface FaultPlan {
  readonly actions: ReadonlyArray<readonly [number, FaultAction]>;
  readonly initialOffsetsMs: readonly number[];
  readonly driftPpm: readonly number[];
  /** Real-time intervals during which some clock was beyond the max offset. */
  readonly offsetExceeded: ReadonlyArray<{ readonly fromMs: number; readonly toMs: number }>;
  /** A link that stays cut through the heal phase (a permanent bridge: relay must carry it). */
  readonly bridgeThroughHeal: readonly [number, number] | null;
}

function partitionShape(rng: Prng, n: number): { groups: number[][]; label: string } {
  const all = Array.from({ length: n }, (_, i) => i);
  const shape = n >= 3 ? rng.pick(['isolate', 'split', 'bridge']) : 'isolate';
  if (shape === 'isolate') {
    const x = rng.int(n);
    return { groups: [[x], all.filter((i) => i !== x)], label: `isolate ${x}` };
  }
  if (shape === 'split') {
    const cut = rng.between(1, n - 1);
    const shuffled = rng.shuffle(all);
    return { groups: [shuffled.slice(0, cut), shuffled.slice(cut)], label: `split ${shuffled.slice(0, cut).join('+')}` };
  }
  // Bridge: a and c cannot talk; b talks to both.
  const a = rng.int(n);
  let c = rng.int(n - 1);
  if (c >= a) c++;
  return { groups: [[a], [c]], label: `bridge ${a}/${c}` };
}

export function planFaults(rng: Prng, kinds: ReadonlySet<FaultKind>, n: number, durationMs: number, maxOffsetMs: number): FaultPlan {
  const actions: Array<readonly [number, FaultAction]> = [];
  if (kinds.has('partition')) {
    let t = rng.between(100, 800);
    while (t < durationMs) {
      const { groups, label } = partitionShape(rng, n);
      actions.push([t, { k: 'partition', groups, label }]);
      t += rng.between(400, 2500);
      actions.push([Math.min(t, durationMs), { k: 'heal-net' }]);
      t += rng.between(200, 1200);
    }
  }
  if (kinds.has('crash')) {
    const count = rng.between(1, 3);
    for (let i = 0; i < count; i++) {
      const t = rng.between(0, durationMs);
      const node = rng.int(n);
      actions.push([t, { k: 'crash', node, duringCommit: rng.chance(0.5) }]);
      actions.push([t + rng.between(200, 1500), { k: 'restart', node }]);
    }
  }
  if (kinds.has('loss') || kinds.has('dup') || kinds.has('reorder')) {
    const faults: LinkFaults = {
      lossRate: kinds.has('loss') ? 0.05 : 0,
      duplicateRate: kinds.has('dup') ? 0.03 : 0,
      jitterMs: kinds.has('reorder') ? 80 : 2,
      reorder: kinds.has('reorder'),
    };
    actions.push([0, { k: 'links', faults }]);
  }
  const clocky = kinds.has('clock');
  // Within bounds: offsets in ±0.45 of the max, so drift cannot carry two clocks past it.
  const initialOffsetsMs = Array.from({ length: n }, () => (clocky ? (rng.float() - 0.5) * 0.9 * maxOffsetMs : (rng.float() - 0.5) * 10));
  const driftPpm = Array.from({ length: n }, () => (clocky ? (rng.float() - 0.5) * 100 : 0));
  const offsetExceeded: Array<{ fromMs: number; toMs: number }> = [];
  if (clocky) {
    for (let i = 0; i < 3; i++) {
      actions.push([rng.between(0, durationMs), { k: 'clock', node: rng.int(n), offsetMs: (rng.float() - 0.5) * 0.9 * maxOffsetMs }]);
    }
    // One jump beyond the bound, then back: timestamps from it must be refused, not adopted.
    const node = rng.int(n);
    const from = rng.between(0, Math.max(0, durationMs - 1500));
    const to = from + rng.between(500, 1500);
    const jumpMs = maxOffsetMs * (3 + rng.float());
    actions.push([from, { k: 'clock', node, offsetMs: jumpMs }]);
    actions.push([to, { k: 'clock', node, offsetMs: (rng.float() - 0.5) * 0.9 * maxOffsetMs }]);
    // Timestamps the node issued while its clock was out of bounds stay in circulation (in
    // heartbeats other regions accept once their own clocks pass them) until real time catches
    // up with them: the guarantees that assume bounded offsets are void until then too.
    offsetExceeded.push({ fromMs: from, toMs: to + jumpMs + maxOffsetMs });
  }
  actions.sort((a, b) => a[0] - b[0]);
  let bridgeThroughHeal: readonly [number, number] | null = null;
  if (kinds.has('partition') && n >= 3 && rng.chance(0.3)) {
    const a = rng.int(n);
    let c = rng.int(n - 1);
    if (c >= a) c++;
    bridgeThroughHeal = [a, c];
  }
  return { actions, initialOffsetsMs, driftPpm, offsetExceeded, bridgeThroughHeal };
}

/**
 * Process pauses, from their own generator so that adding them leaves the other kinds' plans (and
 * so the seeds planned before pauses existed) as they were. Each lasts longer than `longerThanMs` (the
 * write lease): a paused leaseholder wakes after others may have taken its rows over.
 */
export function planPauses(rng: Prng, kinds: ReadonlySet<FaultKind>, n: number, durationMs: number, longerThanMs: number): Array<readonly [number, FaultAction]> {
  if (!kinds.has('pause')) return [];
  const out: Array<readonly [number, FaultAction]> = [];
  const count = rng.between(1, 2);
  for (let i = 0; i < count; i++) {
    const ms = longerThanMs + rng.between(300, 2000);
    // Half of them pause inside a step: after the commit of a guarded write, before its answer leaves.
    out.push([rng.between(500, Math.max(500, durationMs - ms)), { k: 'pause', node: rng.int(n), ms, inStep: rng.chance(0.5) }]);
  }
  return out;
}

/**
 * A drain storm, from its own generator (as pauses): an operator drains and undrains regions at
 * random through random nodes, every 100–600 ms, a third of the drains forced, while the other
 * faults delay ops. Leases and epochs churn; fencing must stay exact.
 */
export function planDrains(rng: Prng, kinds: ReadonlySet<FaultKind>, n: number, durationMs: number): Array<readonly [number, FaultAction]> {
  if (!kinds.has('drain')) return [];
  const out: Array<readonly [number, FaultAction]> = [];
  for (let t = rng.between(200, 1000); t < durationMs; t += rng.between(100, 600)) {
    out.push([t, { k: 'operator', via: rng.int(n), op: rng.chance(0.5) ? 'drain' : 'undrain', region: rng.int(n), force: rng.chance(0.33) }]);
  }
  return out;
}
