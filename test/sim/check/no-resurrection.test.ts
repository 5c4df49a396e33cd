import { describe, it, expect } from 'vitest';
import { checkNoResurrection } from '../../../src/sim/check/no-resurrection.js';
import { EU, History, US, healed, op, policy, row, runRecord } from './fixtures.js';
import { scenario } from './scenario.js';

const write = op(US, 1, { wall: 1, set: { a: 1 } });
const del = op(EU, 1, { wall: 2, del: true });
const recreate = op(US, 2, { deps: { [EU]: 1 }, wall: 3, set: { b: 1 } });

describe('no-resurrection checker', () => {
  it('passes when a deleted row is visible only through a write made after the delete', () => {
    const h = new History();
    h.read(1, US, {}, { [US]: 2, [EU]: 1 }, row('k', { b: 1 }, '3.0.us-east'));
    const v = checkNoResurrection(healed(runRecord({ ledger: [write, del, recreate], history: h.events })));
    expect(v).toMatchObject({ ok: true, checked: 3 });
    expect(checkNoResurrection(scenario()).checked).toBeGreaterThan(0);
  });

  it('fails when a read shows a row whose every write a concurrent delete killed', () => {
    const h = new History();
    h.read(5, US, {}, { [US]: 1, [EU]: 1 }, row('k', { a: 1 }, '2.0.eu-west'));
    const v = checkNoResurrection(healed(runRecord({ ledger: [write, del], history: h.events })));
    expect(v.ok).toBe(false);
    expect(v.violations).toEqual(['row t/k came back after delete (eu-west.1; all 1 applied writes are killed under delete-wins): op 1 (process 5, us-east) read it at vector {eu-west:1,us-east:1}']);
  });

  it('fails when a final state shows a deleted row', () => {
    const run = healed(runRecord({ ledger: [write, del] }));
    const finals = run.finals.map((s) => ({ ...s, rows: { t: [row('k', { a: 1 }, '2.0.eu-west')] } }));
    const v = checkNoResurrection({ ...run, finals });
    expect(v.violations).toHaveLength(2);
    expect(v.violations[0]).toMatch(/^row t\/k came back after delete \(eu-west.1; .*region us-east shows it in its final state/);
  });

  it('allows a write concurrent with the delete under update-wins, but not one the delete saw', () => {
    const tables = { t: policy({ onDeleteUpdate: 'update-wins' }) };
    const h = new History();
    h.read(1, US, {}, { [US]: 1, [EU]: 1 }, row('k', { a: 1 }, '2.0.eu-west'));
    expect(checkNoResurrection(runRecord({ tables, ledger: [write, del], history: h.events })).ok).toBe(true);
    const sawIt = op(EU, 1, { deps: { [US]: 1 }, wall: 2, del: true });
    const v = checkNoResurrection(runRecord({ tables, ledger: [write, sawIt], history: h.events }));
    expect(v.violations[0]).toMatch(/came back after delete \(eu-west.1; all 1 applied writes are killed under update-wins\)/);
  });
});
