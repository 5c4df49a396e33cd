/**
 * What the simulated clients of strong tables do: per-key registers (read / write / cas, for the
 * linearizability checker) and bank transfers between accounts through conditional transactions
 * (for the bank checker). Each call is a StrongRequest plus how to record its outcome.
 */
import { validatePolicy, type TablePolicy } from '../../core/schema/policy.js';
import type { StrongRequest } from '../../core/strong/messages.js';
import type { Prng } from '../prng.js';

export const registerKeys = ['r0', 'r1', 'r2', 'r3'];
export const accounts = ['acct0', 'acct1', 'acct2', 'acct3', 'acct4'];
export const initialBalance = 100;
/** Every committed transfer also counts itself here, so double execution shows (see check/bank.ts). */
export const auditKey = 'audit';

export function strongSimTables(regions: readonly string[]): Record<string, TablePolicy> {
  const p = (input: unknown): TablePolicy => {
    const r = validatePolicy(input, { regions });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  return {
    registers: p({ mode: 'strong' }),
    bank: p({ mode: 'strong', fields: { balance: 'counter', transfers: 'counter' } }),
  };
}

export type StrongCall =
  | { readonly f: 'read'; readonly key: string }
  /** A read served from the region's applied state (not linearizable; see check/follower-reads.ts). */
  | { readonly f: 'follower-read'; readonly key: string; readonly consistency: 'bounded' | 'session'; readonly maxStalenessMs: number }
  | { readonly f: 'write'; readonly key: string; readonly value: string }
  | { readonly f: 'cas'; readonly key: string; readonly from: string | null; readonly to: string }
  | { readonly f: 'transfer'; readonly from: string; readonly to: string; readonly amount: number }
  | { readonly f: 'balances' }
  | { readonly f: 'setup' };

/** The request that carries a call; idempotency keys are added by the caller. */
export function requestFor(call: StrongCall): StrongRequest {
  switch (call.f) {
    case 'read':
      return { kind: 'read', table: 'registers', key: call.key, consistency: 'strong' };
    case 'follower-read':
      return call.consistency === 'bounded'
        ? { kind: 'read', table: 'registers', key: call.key, consistency: 'bounded', maxStalenessMs: call.maxStalenessMs }
        : { kind: 'read', table: 'registers', key: call.key, consistency: 'session' };
    case 'write':
      return { kind: 'write', table: 'registers', key: call.key, body: { set: { v: call.value } } };
    case 'cas':
      return {
        kind: 'txn',
        body: {
          compare: [{ table: 'registers', key: call.key, field: 'v', op: '==', value: call.from }],
          success: [{ table: 'registers', key: call.key, set: { v: call.to } }],
        },
      };
    case 'transfer':
      return {
        kind: 'txn',
        body: {
          compare: [{ table: 'bank', key: call.from, field: 'balance', op: '>=', value: call.amount }],
          success: [
            { table: 'bank', key: call.from, incr: { balance: -call.amount } },
            { table: 'bank', key: call.to, incr: { balance: call.amount } },
            { table: 'bank', key: auditKey, incr: { transfers: 1 } },
          ],
        },
      };
    case 'balances':
      return { kind: 'txn', body: { success: [...accounts, auditKey].map((key) => ({ table: 'bank', key, get: true })) } };
    case 'setup':
      return {
        kind: 'txn',
        body: {
          compare: [{ table: 'bank', key: auditKey, op: 'missing' }],
          success: [...accounts.map((key) => ({ table: 'bank', key, set: { balance: initialBalance } })), { table: 'bank', key: auditKey, set: { transfers: 0 } }],
        },
      };
  }
}

/** The next call of a client; `lastRead` is what it last saw in each register (for cas). */
export function planStrongCall(rng: Prng, tag: string, lastRead: ReadonlyMap<string, string | null>): StrongCall {
  if (rng.chance(0.55)) {
    const key = rng.pick(registerKeys);
    const roll = rng.float();
    if (roll < 0.25) return { f: 'read', key };
    if (roll < 0.4) return { f: 'follower-read', key, consistency: rng.chance(0.5) ? 'bounded' : 'session', maxStalenessMs: rng.between(100, 2000) };
    if (roll < 0.7) return { f: 'write', key, value: tag };
    return { f: 'cas', key, from: lastRead.get(key) ?? null, to: tag };
  }
  if (rng.chance(0.25)) return { f: 'balances' };
  const from = rng.pick(accounts);
  let to = rng.pick(accounts);
  if (to === from) to = accounts[(accounts.indexOf(from) + 1) % accounts.length] as string;
  return { f: 'transfer', from, to, amount: rng.between(1, 40) };
}
