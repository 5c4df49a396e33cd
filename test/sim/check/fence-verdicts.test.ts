import { describe, expect, it } from 'vitest';
import type { ConflictEntry } from '../../../src/core/model/conflict.js';
import type { Op } from '../../../src/core/model/op.js';
import { checkFenceVerdicts } from '../../../src/sim/check/fence-verdicts.js';
import type { FinalRegionState } from '../../../src/sim/history.js';
import { EU, US, op } from './fixtures.js';

// Slot us-east: held by us-east (epoch 1) from log position 3, taken over by eu-west (epoch 2) at 10.
const leaseHistory = {
  [US]: [
    { from: 3, holder: US, epoch: 1 },
    { from: 10, holder: EU, epoch: 2 },
  ],
};
const valid: Op = { ...op(US, 1), fence: { slot: US, epoch: 1, at: 5 } };
const stale: Op = { ...op(US, 2), fence: { slot: US, epoch: 1, at: 12 } }; // us-east no longer held it at 12
const takeover: Op = { ...op(EU, 1), fence: { slot: US, epoch: 2, at: 11 } };

function fencedEntry(o: Op): ConflictEntry {
  const loser = { region: o.dot.origin, seq: o.dot.seq, hlc: '', epoch: o.fence?.epoch ?? 0 };
  return { id: `f${o.dot.origin}${o.dot.seq}`, table: 't', key: 'k', field: null, kind: 'fenced-write', rule: 'fencing', winner: { region: EU, seq: 0, hlc: '', epoch: 2 }, losers: [loser], loserCount: 1, regions: [o.dot.origin] };
}

function final(region: string, fenced: readonly Op[]): FinalRegionState {
  return { region, vector: { [US]: 2, [EU]: 1 }, rows: {}, conflicts: fenced.map(fencedEntry), stateDigest: '' };
}

describe('fence-verdicts checker', () => {
  it('passes when every region fenced exactly the ops whose writer did not hold the slot at their position', () => {
    const v = checkFenceVerdicts({ leaseHistory }, [valid, stale, takeover], [final(US, [stale]), final(EU, [stale])]);
    expect(v.ok, v.violations.join('\n')).toBe(true);
    expect(v.checked).toBe(6);
  });

  it('fails when a region applied an op it should have fenced (trusting the writer)', () => {
    const v = checkFenceVerdicts({ leaseHistory }, [valid, stale, takeover], [final(US, [stale]), final(EU, [])]);
    expect(v.violations).toEqual(['eu-west applied us-east.2 (t/k), written under slot us-east epoch 1 at log position 12, where eu-west held it under epoch 2: it should have been fenced']);
  });

  it('fails when a region fenced an op whose writer held the slot (the latest-epoch reading)', () => {
    const v = checkFenceVerdicts({ leaseHistory }, [valid, stale, takeover], [final(US, [stale, valid]), final(EU, [stale])]);
    expect(v.violations).toEqual(['us-east fenced us-east.1 (t/k), whose writer held slot us-east under epoch 1 at log position 5']);
  });

  it('does not judge a region that never applied the op', () => {
    const behind = { ...final(EU, []), vector: { [US]: 1, [EU]: 1 } };
    expect(checkFenceVerdicts({ leaseHistory }, [stale], [behind]).ok).toBe(true);
  });
});
