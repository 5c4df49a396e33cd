/**
 * The fencing checker: no guarded write is acknowledged by a region at a moment when another
 * region could hold the lease for it. From the region world's facts (src/sim/region/record.ts):
 * every acknowledged guarded write with its fence stamp (slot, epoch) and the true time of the
 * ack, and every lease grant with the true time some node first applied it. A violation is
 * - an ack under (slot, epoch e) by region R at time t after a grant of that slot under a later
 *   epoch to another region had already applied somewhere: R wrote on a lease it had lost;
 * - two regions acknowledging guarded writes of one slot in overlapping intervals (each region's
 *   interval per epoch runs from its first ack to its last): two writers at once.
 * A correct core stops writing before its lease can run out and a successor asks only after the
 * lease plus the clock offset, so neither can happen whatever the clocks read.
 */
import type { GuardedAck, LeaseGrant, RegionFacts } from '../region/record.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { groupBy } from './group.js';

export const fencingName = 'fencing';

type FencingFacts = Pick<RegionFacts, 'guardedAcks' | 'grants'>;

function describe(a: GuardedAck): string {
  return `${a.region} acknowledged ${a.table}/${a.key} (${a.dot.origin}.${a.dot.seq}) under slot ${a.slot} epoch ${a.epoch} at ${a.timeMs.toFixed(1)} ms`;
}

export function checkFencing(facts: FencingFacts): CheckerVerdict {
  const f = new Findings();
  const grantsBySlot = groupBy(facts.grants, (g) => g.slot);
  for (const a of facts.guardedAcks) {
    f.examined();
    const later = (grantsBySlot.get(a.slot) ?? []).find((g: LeaseGrant) => g.epoch > a.epoch && g.holder !== a.region && g.firstAppliedMs < a.timeMs);
    if (later !== undefined) f.violation(`${describe(a)}, after slot ${a.slot} was granted to ${later.holder} under epoch ${later.epoch} at ${later.firstAppliedMs.toFixed(1)} ms`);
  }
  for (const [slot, acks] of groupBy(facts.guardedAcks, (a) => a.slot)) {
    const intervals = [...groupBy(acks, (a) => `${a.region}/${a.epoch}`).values()].map((list) => {
      const times = list.map((a) => a.timeMs);
      return { first: list[0] as GuardedAck, from: Math.min(...times), to: Math.max(...times) };
    });
    intervals.sort((x, y) => x.from - y.from);
    for (let i = 0; i < intervals.length; i++) {
      for (let j = i + 1; j < intervals.length; j++) {
        const x = intervals[i] as (typeof intervals)[number];
        const y = intervals[j] as (typeof intervals)[number];
        if (y.from > x.to) break;
        if (x.first.region === y.first.region) continue;
        f.violation(`slot ${slot}: ${x.first.region} (epoch ${x.first.epoch}) acknowledged guarded writes from ${x.from.toFixed(1)} to ${x.to.toFixed(1)} ms and ${y.first.region} (epoch ${y.first.epoch}) from ${y.from.toFixed(1)} to ${y.to.toFixed(1)} ms: two writers at once`);
      }
    }
  }
  return f.verdict(fencingName);
}
