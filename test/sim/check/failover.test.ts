import { describe, expect, it } from 'vitest';
import { checkFailover } from '../../../src/sim/check/failover.js';
import type { ConflictEntry } from '../../../src/core/model/conflict.js';
import type { Op } from '../../../src/core/model/op.js';
import type { RunRecord } from '../../../src/sim/history.js';
import { EU, History, US, healed, op, policy, runRecord } from './fixtures.js';

const tables = { failover: policy({ ownership: 'home-with-failover', home: { field: 'home' } }) };
const fence = (o: Op, epoch: number): Op => ({ ...o, fence: { slot: US, epoch, at: 1 } });

/** us-east writes its row under epoch 1; eu-west, holding us-east's slot under epoch 2, writes it again later. */
function run(): RunRecord {
  const ledger = [fence(op(US, 1, { wall: 10, table: 'failover', set: { home: US, v: 'a' } }), 1), fence(op(EU, 1, { wall: 20, deps: { [US]: 1 }, table: 'failover', set: { v: 'b' } }), 2), fence(op(EU, 2, { wall: 30, table: 'failover', key: 'j', set: { home: US, v: 'c' } }), 2)];
  const h = new History();
  h.write(1, US, { table: 'failover', body: { set: { home: US, v: 'a' } } }, { origin: US, seq: 1 }, { at: 10, okAt: 11 });
  h.write(2, EU, { table: 'failover', body: { set: { v: 'b' } } }, { origin: EU, seq: 1 }, { at: 20, okAt: 21 });
  h.write(2, EU, { table: 'failover', key: 'j', body: { set: { home: US, v: 'c' } } }, { origin: EU, seq: 2 }, { at: 30, okAt: 31 });
  return healed(runRecord({ tables, ledger, history: h.events }));
}

function fencedEntry(o: { region: string; seq: number }): ConflictEntry {
  return { id: `fw${o.region}${o.seq}`, table: 'failover', key: 'j', field: null, kind: 'fenced-write', rule: 'fencing', winner: { region: US, seq: 0, hlc: '', epoch: 3 }, losers: [{ region: o.region, seq: o.seq, hlc: '30.0.eu-west', epoch: 2 }], loserCount: 1, regions: [EU, US] };
}

describe('failover-survival checker', () => {
  it('passes when every acknowledged write shows, or a later one superseded it', () => {
    const v = checkFailover(run());
    expect(v.ok, v.violations.join('\n')).toBe(true);
    expect(v.checked).toBe(3);
  });

  it('fails when an acknowledged write of the takeover holder was applied as nothing somewhere (fenced by the latest epoch)', () => {
    const r = run();
    const finals = r.finals.map((s) => (s.region === US ? { ...s, conflicts: [...s.conflicts, fencedEntry({ region: EU, seq: 2 })], rows: { failover: (s.rows['failover'] ?? []).filter((x) => x.key !== 'j') } } : s));
    const v = checkFailover({ ...r, finals });
    expect(v.ok).toBe(false);
    expect(v.violations).toContain('the fenced-write entries of home-with-failover tables differ between us-east and eu-west');
    expect(v.violations).toContain('acknowledged write failover/j (eu-west.2) was fenced (applied as nothing) in us-east');
    expect(v.violations.some((m) => m.startsWith('acknowledged write failover/j (eu-west.2) set v = "c", nothing superseded it, but us-east ends with no value'))).toBe(true);
  });

  it('fails when a region ends with an older value than an acknowledged write that nothing superseded', () => {
    const r = run();
    const finals = r.finals.map((s) => (s.region === EU ? { ...s, rows: { failover: (s.rows['failover'] ?? []).map((x) => (x.key === 'k' ? { ...x, fields: { ...x.fields, v: 'a' } } : x)) } } : s));
    const v = checkFailover({ ...r, finals });
    expect(v.violations).toEqual(['acknowledged write failover/k (eu-west.1) set v = "b", nothing superseded it, but eu-west ends with "a"']);
  });
});
