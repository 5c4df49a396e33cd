/**
 * The staged-rejoin checker: a node serves nothing it is not ready for. For every successful
 * reply, the stage of the serving core when it admitted the request (src/sim/region/record.ts):
 * - no read is served in `catching-up` (its data may be arbitrarily old);
 * - no bounded read is served while fenced for the clock (its bound is measured on that clock);
 * - no write is served in `catching-up` or `read-ready`, nor while fenced for the clock; fenced
 *   for the lease or a drain, writes of multi-writer rows are still served (guarded ones are not:
 *   that is the fencing checker's).
 * The table is docs' admission table, written here again rather than imported from the core.
 */
import type { RegionFacts, ServedRequest } from '../region/record.js';
import { Findings, type CheckerVerdict } from './findings.js';

export const stagesName = 'staged-rejoin';

function allowed(s: ServedRequest): boolean {
  const clockFenced = s.stage === 'fenced' && s.reason === 'clock';
  if (s.access === 'read') return s.stage !== 'catching-up';
  if (s.access === 'bounded-read') return s.stage !== 'catching-up' && !clockFenced;
  return s.stage === 'write-ready' || (s.stage === 'fenced' && !clockFenced);
}

export function checkStages(facts: Pick<RegionFacts, 'served'>): CheckerVerdict {
  const f = new Findings();
  for (const s of facts.served) {
    f.examined();
    if (!allowed(s)) f.violation(`${s.region} served a ${s.access} (${s.what}) admitted at ${s.admittedMs.toFixed(1)} ms in stage ${s.stage}${s.reason === null ? '' : ` (${s.reason})`}`);
  }
  return f.verdict(stagesName);
}
