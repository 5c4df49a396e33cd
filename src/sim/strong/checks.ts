/**
 * The strong group's checks over a StrongRunRecord: linearizability of the registers (through the
 * checker in check/linearizability.ts), one leader per term, and every node in the same state at
 * the end. They judge the record only, whichever run made it.
 */
import { Findings } from '../check/findings.js';
import { checkLinearizable } from '../check/linearizability.js';
import type { Verdict } from '../history.js';
import type { StrongRunRecord } from './record.js';

export function checkLinearizableRegisters(record: StrongRunRecord): Verdict {
  const f = new Findings();
  const result = checkLinearizable(record.lin, { budgetMsPerKey: 10_000 });
  for (const k of result.keys) {
    f.examined(k.ops);
    if (k.verdict === 'violation') f.violation(`key ${k.key} is not linearizable:\n${(k.counterexample ?? []).join('\n')}`);
    else if (k.verdict === 'unknown') f.note(`key ${k.key}: the search ran out of time (unknown)`);
  }
  return f.verdict('linearizable');
}

export function checkElectionSafety(record: StrongRunRecord): Verdict {
  const f = new Findings();
  for (const [term, leaders] of Object.entries(record.leadersByTerm)) {
    f.examined();
    if (leaders.length > 1) f.violation(`term ${term} had ${leaders.length} leaders: ${leaders.join(', ')}`);
  }
  return f.verdict('election-safety');
}

export function checkSameFinalState(record: StrongRunRecord): Verdict {
  const f = new Findings();
  const states = Object.entries(record.finalStates).filter((e): e is [string, string] => e[1] !== null);
  if (states.length < Object.keys(record.finalStates).length) f.violation(`some nodes were down at the end: ${Object.keys(record.finalStates).join(', ')}`);
  const [first] = states;
  for (const [region, s] of states) {
    f.examined();
    if (first !== undefined && s !== first[1]) f.violation(`${region} ends in another state than ${first[0]} (${s.length} vs ${first[1].length} bytes of state)`);
  }
  // Different states at different applied indexes is a group that did not finish catching up
  // (liveness), not necessarily a divergence: say where each node stood.
  if (f.count > 0) f.violation(`at the end: ${Object.entries(record.finalRaft).map(([r, s]) => `${r} ${s}`).join('; ')}`);
  return f.verdict('same-final-state');
}
