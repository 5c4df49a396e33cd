/**
 * The home-with-failover survival checker: every acknowledged write to a home-with-failover row
 * survives the moves of its rows' write rights (takeover, handback), in every region:
 * - it is never applied as nothing (no region's final feed lists it as a fenced write): the
 *   writer held the slot's epoch where it wrote, so every replica must apply it;
 * - each field it set shows its value at the end, or a write that supersedes it under the field
 *   rules (an op it happened before, or a later one in the op order, that sets or unsets the field
 *   or deletes the row) exists in the ledger;
 * - the fenced-write entries of these tables are identical in every region.
 * Counter increments are the counters checker's.
 */
import { rowChangingOps } from './ledger-model.js';
import type { Op } from '../../core/model/op.js';
import { canonicalJson } from '../../core/util/json.js';
import type { ClientCall, RunRecord } from '../history.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { happenedBefore, opOrder } from './reference.js';

export const failoverName = 'failover-survival';

function supersedes(x: Op, w: Op, field: string): boolean {
  if (x.table !== w.table || x.key !== w.key || (x.dot.origin === w.dot.origin && x.dot.seq === w.dot.seq)) return false;
  const c = x.changes[field];
  if (x.kind !== 'delete' && (c === undefined || (c.k !== 'set' && c.k !== 'unset'))) return false;
  return happenedBefore(w, x) || opOrder(w, x) < 0;
}

export function checkFailover(run: Pick<RunRecord, 'tables' | 'history' | 'ledger' | 'finals'>): CheckerVerdict {
  const f = new Findings();
  const tables = new Set(Object.entries(run.tables).filter(([, p]) => p.mode === 'async' && p.ownership === 'home-with-failover').map(([t]) => t));
  if (tables.size === 0) return f.verdict(failoverName);
  if (run.finals.length === 0) {
    f.note('no final states (the heal did not finish): survival not checked');
    return f.verdict(failoverName);
  }
  const calls = new Map<number, ClientCall>();
  for (const e of run.history) if (e.type === 'invoke') calls.set(e.id, e.call);
  const ledger = new Map<string, Op>();
  const byRow = new Map<string, Op[]>();
  for (const op of rowChangingOps(run)) {
    if (!tables.has(op.table)) continue;
    ledger.set(`${op.dot.origin}.${op.dot.seq}`, op);
    const row = `${op.table}/${op.key}`;
    const list = byRow.get(row);
    if (list === undefined) byRow.set(row, [op]);
    else list.push(op);
  }
  const fenced = run.finals.map((s) => {
    const entries = s.conflicts.filter((c) => c.kind === 'fenced-write' && tables.has(c.table));
    return { region: s.region, ids: entries.map((c) => c.id).sort().join(','), dots: new Set(entries.flatMap((c) => c.losers.map((l) => `${l.region}.${l.seq}`))) };
  });
  const first = fenced[0];
  for (const x of fenced) if (first !== undefined && x.ids !== first.ids) f.violation(`the fenced-write entries of home-with-failover tables differ between ${first.region} and ${x.region}`);
  for (const e of run.history) {
    if (e.type !== 'ok' || e.result.kind !== 'write') continue;
    const call = calls.get(e.id);
    if (call === undefined || call.f === 'read' || !tables.has(call.table)) continue;
    f.examined();
    const dot = `${e.result.dot.origin}.${e.result.dot.seq}`;
    const at = `${call.table}/${call.key} (${dot})`;
    for (const x of fenced) if (x.dots.has(dot)) f.violation(`acknowledged write ${at} was fenced (applied as nothing) in ${x.region}`);
    const w = ledger.get(dot);
    if (w === undefined || w.kind === 'delete') continue; // not in the ledger: no-lost-writes says so
    for (const [field, c] of Object.entries(w.changes)) {
      if (c.k !== 'set') continue;
      const later = (byRow.get(`${w.table}/${w.key}`) ?? []).some((x) => supersedes(x, w, field));
      if (later) continue;
      for (const s of run.finals) {
        const row = (s.rows[w.table] ?? []).find((r) => r.key === w.key);
        const shown = row?.fields[field];
        if (shown === undefined || canonicalJson(shown) !== canonicalJson(c.value)) {
          f.violation(`acknowledged write ${at} set ${field} = ${canonicalJson(c.value)}, nothing superseded it, but ${s.region} ends with ${shown === undefined ? 'no value' : canonicalJson(shown)}`);
        }
      }
    }
  }
  return f.verdict(failoverName);
}
