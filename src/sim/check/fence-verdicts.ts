/**
 * The fence-verdicts checker: every region decides every guarded op as the strong log says. A
 * guarded op carries (slot, epoch, at); its writer held the slot under that epoch at log position
 * `at`, or it did not. By the slot's holder history at the end of the run (complete: the log keeps
 * every change), an op whose writer did not hold it must be applied as nothing, with a
 * `fenced-write` entry in the conflict feed of every region that applied it; an op whose writer
 * did hold it must never be. A region that trusts a writer it cannot check (a capped history, the
 * `trustOldEpochs` knob) applies ops it should have fenced, and is caught here.
 */
import { get } from '../../core/clock/version-vector.js';
import type { Op } from '../../core/model/op.js';
import type { FinalRegionState } from '../history.js';
import type { RegionFacts } from '../region/record.js';
import { Findings, type CheckerVerdict } from './findings.js';

export const fenceVerdictsName = 'fence-verdicts';

type History = RegionFacts['leaseHistory'][string];

/** Who held the slot at `index`, by its complete history (written here again rather than imported from the core). */
function holderAt(history: History | undefined, index: number): { holder: string | null; epoch: number } {
  let at = { holder: null as string | null, epoch: 0 };
  for (const e of history ?? []) if (e.from <= index) at = { holder: e.holder, epoch: e.epoch };
  return at;
}

export function checkFenceVerdicts(facts: Pick<RegionFacts, 'leaseHistory'>, ledger: readonly Op[], finals: readonly FinalRegionState[]): CheckerVerdict {
  const f = new Findings();
  const fencedIn = finals.map((s) => new Set(s.conflicts.filter((c) => c.kind === 'fenced-write').flatMap((c) => c.losers.map((l) => `${l.region}.${l.seq}`))));
  for (const op of ledger) {
    const fence = op.fence;
    if (fence === undefined) continue;
    const h = holderAt(facts.leaseHistory[fence.slot], fence.at);
    const shouldFence = !(h.holder === op.dot.origin && h.epoch === fence.epoch);
    const dot = `${op.dot.origin}.${op.dot.seq}`;
    finals.forEach((s, i) => {
      if (get(s.vector, op.dot.origin) < op.dot.seq) return;
      f.examined();
      const fenced = (fencedIn[i] as Set<string>).has(dot);
      if (fenced === shouldFence) return;
      const held = h.holder === null ? 'nobody held it' : `${h.holder} held it under epoch ${h.epoch}`;
      f.violation(
        shouldFence
          ? `${s.region} applied ${dot} (${op.table}/${op.key}), written under slot ${fence.slot} epoch ${fence.epoch} at log position ${fence.at}, where ${held}: it should have been fenced`
          : `${s.region} fenced ${dot} (${op.table}/${op.key}), whose writer held slot ${fence.slot} under epoch ${fence.epoch} at log position ${fence.at}`,
      );
    });
  }
  return f.verdict(fenceVerdictsName);
}
