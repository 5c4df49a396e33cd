/**
 * Every checker of a simulation run (README.md in this folder says what each guarantees), and a
 * runner that turns a checker crash into a failed verdict instead of an aborted sweep.
 */
import type { RunRecord, Verdict } from '../history.js';
import { boundedStalenessName, checkBoundedStaleness } from './bounded-staleness.js';
import { causalName, checkCausal } from './causal.js';
import { checkConvergence, convergenceName } from './convergence.js';
import { checkCounters, countersName } from './counters.js';
import { checkFinalState, finalStateName } from './final-state.js';
import { checkHlc, hlcName } from './hlc.js';
import { checkNoLostWrites, noLostWritesName } from './no-lost-writes.js';
import { checkNoResurrection, noResurrectionName } from './no-resurrection.js';
import { checkReads, readsName } from './reads.js';
import { checkSessions, sessionsName } from './sessions.js';
import { checkSets, setsName } from './sets.js';

export interface Checker {
  readonly name: string;
  readonly check: (run: RunRecord) => Verdict;
}

export const allCheckers: readonly Checker[] = [
  { name: convergenceName, check: checkConvergence },
  { name: finalStateName, check: checkFinalState },
  { name: readsName, check: checkReads },
  { name: noLostWritesName, check: checkNoLostWrites },
  { name: countersName, check: checkCounters },
  { name: setsName, check: checkSets },
  { name: noResurrectionName, check: checkNoResurrection },
  { name: sessionsName, check: checkSessions },
  { name: causalName, check: checkCausal },
  { name: boundedStalenessName, check: checkBoundedStaleness },
  { name: hlcName, check: checkHlc },
];

/** Runs `checkers` (all by default); a checker that throws fails with the error as its violation. */
export function runCheckers(run: RunRecord, checkers: readonly Checker[] = allCheckers): Verdict[] {
  return checkers.map(({ name, check }) => {
    try {
      return check(run);
    } catch (err) {
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return { checker: name, ok: false, checked: 0, violations: [`checker ${name} crashed: ${message}`] };
    }
  });
}

export { parseHistoryJsonl, historyToJsonl } from './jsonl.js';
export { opOrder, happenedBefore, referenceTable, referenceRow, referenceConflicts } from './reference.js';
export type { CheckerVerdict } from './findings.js';
