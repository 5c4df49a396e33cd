/**
 * Convergence: after the heal phase every region holds the same state — same applied vector,
 * same rows, same conflict feed, same stored state (digest). A missing final state means the
 * heal did not finish, which is itself a failure (nothing converged).
 */
import type { FinalRegionState, RunRecord } from '../history.js';
import type { ConflictEntry } from '../../core/model/conflict.js';
import { canonicalJson } from '../../core/util/json.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtJson, fmtVector } from './format.js';

export const convergenceName = 'convergence';

export function checkConvergence(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  checkAllPresent(run, f);
  const [first, ...rest] = run.finals;
  if (first !== undefined) {
    f.examined();
    for (const other of rest) {
      f.examined();
      compareFinals(first, other, f);
    }
  }
  return f.verdict(convergenceName);
}

function checkAllPresent(run: RunRecord, f: Findings): void {
  const have = run.finals.map((s) => s.region);
  const missing = run.regions.filter((r) => !have.includes(r));
  if (run.finals.length !== run.regions.length || missing.length > 0) {
    f.violation(`heal did not finish: ${run.finals.length} final states for ${run.regions.length} regions (missing: ${missing.join(', ') || 'none'}; present: ${have.join(', ') || 'none'})`);
  }
}

function compareFinals(a: FinalRegionState, b: FinalRegionState, f: Findings): void {
  const pair = `regions ${a.region} and ${b.region}`;
  if (canonicalJson(a.vector) !== canonicalJson(b.vector)) f.violation(`${pair} have different vectors: ${fmtVector(a.vector)} vs ${fmtVector(b.vector)}`);
  compareRows(a, b, pair, f);
  compareFeeds(a, b, pair, f);
  if (a.stateDigest !== b.stateDigest) f.violation(`${pair} have different state digests: ${a.stateDigest} vs ${b.stateDigest}`);
}

function compareRows(a: FinalRegionState, b: FinalRegionState, pair: string, f: Findings): void {
  const tables = [...new Set([...Object.keys(a.rows), ...Object.keys(b.rows)])].sort();
  for (const table of tables) {
    const ra = new Map((a.rows[table] ?? []).map((r) => [r.key, r]));
    const rb = new Map((b.rows[table] ?? []).map((r) => [r.key, r]));
    for (const key of [...new Set([...ra.keys(), ...rb.keys()])].sort()) {
      const x = ra.get(key);
      const y = rb.get(key);
      if (canonicalJson(x ?? null) === canonicalJson(y ?? null)) continue;
      f.violation(`${pair} disagree on row ${table}/${key}: ${a.region} has ${fmtJson(x ?? null)}, ${b.region} has ${fmtJson(y ?? null)}`);
    }
  }
}

function compareFeeds(a: FinalRegionState, b: FinalRegionState, pair: string, f: Findings): void {
  const ca = new Map(a.conflicts.map((c) => [c.id, c]));
  const cb = new Map(b.conflicts.map((c) => [c.id, c]));
  let differs = false;
  for (const id of [...new Set([...ca.keys(), ...cb.keys()])].sort()) {
    const x = ca.get(id);
    const y = cb.get(id);
    if (canonicalJson(x ?? null) === canonicalJson(y ?? null)) continue;
    differs = true;
    const wrote = x !== undefined && y !== undefined ? loserWroteDifference(x, y) : null;
    if (wrote !== null) f.violation(`${pair} have different conflict feeds at entry ${id}: loser ${wrote.loser} wrote ${wrote.a} in ${a.region} but ${wrote.b} in ${b.region}`);
    else f.violation(`${pair} have different conflict feeds at entry ${id}: ${a.region} has ${fmtJson(x ?? null)}, ${b.region} has ${fmtJson(y ?? null)}`);
  }
  // Same entries, yet different lists: an order or a duplicate differs.
  if (!differs && canonicalJson(a.conflicts) !== canonicalJson(b.conflicts)) {
    f.violation(`${pair} list the same conflict entries differently (order or duplicates; feeds are sorted by id)`);
  }
}

/**
 * When two versions of one entry differ only in what a loser wrote (`wrote`, docs/api.md
 * "Conflicts"), the first such loser and both versions of its `wrote` ("unknown" when absent);
 * else null.
 */
export function loserWroteDifference(x: ConflictEntry, y: ConflictEntry): { loser: string; a: string; b: string } | null {
  const strip = (e: ConflictEntry): string => canonicalJson({ ...e, losers: e.losers.map(({ wrote: _, ...rest }) => rest) });
  if (strip(x) !== strip(y)) return null;
  const show = (w: unknown): string => (w === undefined ? 'unknown' : fmtJson(w));
  for (const [i, l] of x.losers.entries()) {
    const other = y.losers[i]?.wrote;
    if (canonicalJson(l.wrote ?? null) !== canonicalJson(other ?? null) || (l.wrote === undefined) !== (other === undefined)) {
      return { loser: `${l.region}.${l.seq}`, a: show(l.wrote), b: show(other) };
    }
  }
  return null;
}
