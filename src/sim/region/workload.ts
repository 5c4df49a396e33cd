/**
 * The region world's workload: the async tables' plan (src/sim/workload.ts) and the strong tables'
 * (src/sim/strong/workload.ts) over one set of tables, plus writes to guarded tables, the ones
 * that need write leases: `homed` (ownership home), `failover` (home-with-failover) and `strict`
 * (multi-writer with whenIsolated: reject). Guarded writes always carry an idempotency key, so a
 * client refused with FENCED or WRONG_REGION, or left without an answer, may try another region.
 */
import { validatePolicy, type TablePolicy } from '../../core/schema/policy.js';
import type { Prng } from '../prng.js';
import type { WriteBody } from '../history.js';
import { simMergeFunctions, simTables, type PlannedCall } from '../workload.js';
import { strongSimTables } from '../strong/workload.js';

/** Which clients run: every kind, or only the async or only the strong ones. */
export type RegionMix = 'all' | 'async' | 'strong';
export const regionMixes: readonly RegionMix[] = ['all', 'async', 'strong'];

export const guardedTables = { homed: 'homed', failover: 'failover', strict: 'strict' } as const;

export function regionSimTables(regions: readonly string[]): Record<string, TablePolicy> {
  const p = (input: unknown, name: string): TablePolicy => {
    const r = validatePolicy(input, { regions, mergeFunctions: Object.keys(simMergeFunctions) }, `tables.${name}`);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const tables: Record<string, TablePolicy> = { ...simTables(regions), ...strongSimTables(regions) };
  // Every region is the home of some rows (the `home` field names it), so every slot is used.
  tables[guardedTables.homed] = p({ mode: 'async', ownership: 'home', home: { field: 'home' }, fields: { n: 'counter', v: 'lww' } }, 'homed');
  tables[guardedTables.failover] = p({ mode: 'async', ownership: 'home-with-failover', home: { field: 'home' }, fields: { n: 'counter', v: 'lww' } }, 'failover');
  tables[guardedTables.strict] = p({ mode: 'async', whenIsolated: 'reject', fields: { n: 'counter', v: 'lww' } }, 'strict');
  return tables;
}

const rowsPerHome = 3;

/** A write (or read) of a guarded table by a client of region `home`; `tag` names the call. */
export function planGuardedCall(rng: Prng, regions: readonly string[], home: number, tag: string, value: string): PlannedCall {
  const roll = rng.float();
  const idempotencyKey = `g${tag}`;
  if (roll < 0.45) {
    // Failover rows: mostly the client's own region's (the ones that move when it is away).
    const owner = rng.chance(0.8) ? home : rng.int(regions.length);
    const key = `f${owner}.${rng.int(rowsPerHome)}`;
    const body: WriteBody = rng.chance(0.6) ? { set: { home: regions[owner] as string, v: value } } : { set: { home: regions[owner] as string }, incr: { n: 1 } };
    return { call: { f: 'write', table: guardedTables.failover, key, body, idempotencyKey } };
  }
  if (roll < 0.65) {
    const key = `h${home}.${rng.int(rowsPerHome)}`;
    return { call: { f: 'write', table: guardedTables.homed, key, body: { set: { home: regions[home] as string, v: value } }, idempotencyKey } };
  }
  if (roll < 0.85) {
    const key = `s${rng.int(4)}`;
    const body: WriteBody = rng.chance(0.5) ? { set: { v: value } } : { incr: { n: 1 } };
    return { call: { f: 'write', table: guardedTables.strict, key, body, idempotencyKey } };
  }
  const table = rng.pick([guardedTables.failover, guardedTables.homed, guardedTables.strict]);
  const key = table === guardedTables.strict ? `s${rng.int(4)}` : `${table === guardedTables.failover ? 'f' : 'h'}${rng.int(regions.length)}.${rng.int(rowsPerHome)}`;
  return { call: { f: 'read', table, key, consistency: rng.pick(['eventual', 'session'] as const) } };
}
