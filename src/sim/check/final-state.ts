/**
 * Final state: each region's rows and conflict feed after the heal equal what the reference model
 * computes from the ledger ops its final vector covers. This is the engine-vs-model check.
 */
import { canonicalJson } from '../../core/util/json.js';
import type { FinalRegionState, RunRecord } from '../history.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtJson, fmtVector } from './format.js';
import { loserWroteDifference } from './convergence.js';
import { LedgerModel } from './ledger-model.js';
import type { ConflictEntry } from '../../core/model/conflict.js';
import type { RowView } from '../../core/model/row-view.js';

export const finalStateName = 'final-state';

export function checkFinalState(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  if (run.finals.length === 0 && run.regions.length > 0) {
    f.violation(`no final state for any of ${run.regions.length} regions (heal did not finish): nothing can be compared with the reference`);
  }
  const model = new LedgerModel(run);
  for (const final of run.finals) {
    f.examined();
    const future = model.describeMissing(final.vector);
    if (future !== null) f.violation(`region ${final.region}: final vector ${fmtVector(final.vector)} ${future}`);
    checkTables(run, model, final, f);
    compareFeed(final, model.conflictsAt(final.vector), f);
  }
  return f.verdict(finalStateName);
}

function checkTables(run: RunRecord, model: LedgerModel, final: FinalRegionState, f: Findings): void {
  for (const table of Object.keys(final.rows).sort()) {
    if (run.tables[table] === undefined) f.violation(`region ${final.region}: final rows include table ${table}, which the run does not define`);
  }
  for (const table of Object.keys(run.tables).sort()) {
    if (run.tables[table]?.mode !== 'async') continue;
    compareRows(final, table, final.rows[table] ?? [], model.tableAt(table, final.vector), f);
  }
}

function compareRows(final: FinalRegionState, table: string, actual: readonly RowView[], expected: Map<string, RowView>, f: Findings): void {
  const where = `region ${final.region}`;
  const keys = actual.map((r) => r.key);
  if (keys.some((k, i) => i > 0 && (keys[i - 1] ?? '') >= k)) f.violation(`${where}: rows of ${table} are not in strict key order`);
  const got = new Map(actual.map((r) => [r.key, r]));
  for (const key of [...new Set([...got.keys(), ...expected.keys()])].sort()) {
    f.examined();
    const a = got.get(key) ?? null;
    const e = expected.get(key) ?? null;
    if (canonicalJson(a) === canonicalJson(e)) continue;
    if (e === null) f.violation(`${where}: row ${table}/${key} is visible but the reference has no such row; got ${fmtJson(a)}`);
    else if (a === null) f.violation(`${where}: row ${table}/${key} is missing; the reference has ${fmtJson(e)}`);
    else f.violation(`${where}: row ${table}/${key} is ${fmtJson(a)}; the reference has ${fmtJson(e)}`);
  }
}

function compareFeed(final: FinalRegionState, expected: readonly ConflictEntry[], f: Findings): void {
  const where = `region ${final.region}`;
  const got = new Map(final.conflicts.map((c) => [c.id, c]));
  const want = new Map(expected.map((c) => [c.id, c]));
  for (const id of [...new Set([...got.keys(), ...want.keys()])].sort()) {
    f.examined();
    const a = got.get(id) ?? null;
    const e = want.get(id) ?? null;
    if (canonicalJson(a) === canonicalJson(e)) continue;
    if (e === null) f.violation(`${where}: conflict ${id} is not implied by the ledger: ${fmtJson(a)}`);
    else if (a === null) f.violation(`${where}: conflict ${id} is missing from the feed; the reference has ${fmtJson(e)}`);
    else {
      const wrote = loserWroteDifference(a, e);
      if (wrote !== null) f.violation(`${where}: conflict ${id} lists loser ${wrote.loser} as having written ${wrote.a}; the reference has ${wrote.b}`);
      else f.violation(`${where}: conflict ${id} is ${fmtJson(a)}; the reference has ${fmtJson(e)}`);
    }
  }
  const ids = final.conflicts.map((c) => c.id);
  if (ids.some((id, i) => i > 0 && (ids[i - 1] ?? '') >= id)) f.violation(`${where}: the conflict feed is not sorted by id without duplicates`);
}
