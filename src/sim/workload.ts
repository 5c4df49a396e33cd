/**
 * Correctness workloads for the simulator, kept apart from faults (FoundationDB style): what
 * clients do, not what goes wrong around them. A small hot keyspace over several tables and
 * policies, so writes collide: concurrent field writes, deletes against updates, duplicate unique
 * values, retried increments, add/remove races, and comment → reply chains for causality.
 */
import type { MergeRegistry } from '../core/crdt/merge-registry.js';
import { validatePolicy, type TablePolicy } from '../core/schema/policy.js';
import type { JsonValue } from '../core/util/json.js';
import type { ClientCall, WriteBody } from './history.js';
import type { Prng } from './prng.js';
import type { Consistency } from '../core/model/consistency.js';

export const simMergeFunctions: MergeRegistry = {
  /** The longest string wins; ties go to the lexically greatest. Deterministic and order-free. */
  longest: (siblings) => {
    let best: JsonValue = null;
    for (const s of siblings) {
      const a = typeof s === 'string' ? s : JSON.stringify(s);
      const b = typeof best === 'string' ? best : best === null ? '' : JSON.stringify(best);
      if (best === null || a.length > b.length || (a.length === b.length && a > b)) best = s;
    }
    return best;
  },
};

const tableSpecs: Record<string, unknown> = {
  profiles: { fields: { name: 'lww', visits: 'counter', tags: 'set', bio: 'merge:longest' }, onDeleteUpdate: 'delete-wins' },
  carts: { fields: { items: 'set', total: 'counter', note: 'lww' }, onDeleteUpdate: 'update-wins' },
  counters: { fields: { n: 'counter' } },
  tags: { fields: { s: 'set' } },
  comments: { fields: { text: 'lww', parent: 'lww' } },
  users: { fields: { handle: 'lww' }, unique: [{ field: 'handle', enforce: 'async' }] },
};

export function simTables(regions: readonly string[]): Record<string, TablePolicy> {
  const out: Record<string, TablePolicy> = {};
  for (const [name, spec] of Object.entries(tableSpecs)) {
    const r = validatePolicy(spec, { regions, mergeFunctions: Object.keys(simMergeFunctions) }, `tables.${name}`);
    if (!r.ok) throw new Error(r.error.message);
    out[name] = r.value;
  }
  return out;
}

/** What the workload knows across clients: the comments and replies acknowledged so far. */
export interface WorkloadState {
  comments: string[];
  replies: Array<{ key: string; parent: string }>;
  nextComment: number;
  nextValue: number;
}

export function newWorkloadState(): WorkloadState {
  return { comments: [], replies: [], nextComment: 0, nextValue: 0 };
}

export interface PlannedCall {
  readonly call: ClientCall;
  /** What to do after an ok answer (a reply after reading a comment, a parent after a reply). */
  readonly then?: (row: { readonly fields: Readonly<Record<string, JsonValue>> } | null) => PlannedCall | null;
  /** Record in the workload state once acknowledged. */
  readonly onOk?: () => void;
}

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const hotKeys = keys('k', 4);
const elements = ['a', 'b', 'c', 'd', 'e'];
const handles = ['h0', 'h1', 'h2'];

function consistency(rng: Prng): { consistency: Consistency; maxStalenessMs?: number } {
  const c = rng.pick<Consistency>(['eventual', 'session', 'causal', 'bounded']);
  return c === 'bounded' ? { consistency: c, maxStalenessMs: rng.pick([1500, 3000, 5000]) } : { consistency: c };
}

function write(table: string, key: string, body: WriteBody, idem: string | undefined): ClientCall {
  return idem === undefined ? { f: 'write', table, key, body } : { f: 'write', table, key, body, idempotencyKey: idem };
}

/** The next call of `client` (`n` is its call count, for unique values and keys). */
export function planCall(rng: Prng, state: WorkloadState, client: number, n: number): PlannedCall {
  const idem = rng.chance(0.7) ? `c${client}-${n}` : undefined;
  const value = () => `v${client}.${n}.${state.nextValue++}`;
  const key = rng.pick(hotKeys);
  const roll = rng.float();
  if (roll < 0.22) {
    // profiles: lww, counter, set, merge fields and delete-wins deletes.
    const kind = rng.int(7);
    if (kind === 0) return { call: write('profiles', key, { set: { name: value() } }, idem) };
    if (kind === 1) return { call: write('profiles', key, { unset: ['name'] }, idem) };
    if (kind === 2) return { call: write('profiles', key, { incr: { visits: rng.between(1, 3) } }, `c${client}-${n}`) };
    if (kind === 3) return { call: write('profiles', key, { add: { tags: [rng.pick(elements)] } }, idem) };
    if (kind === 4) return { call: write('profiles', key, { remove: { tags: [rng.pick(elements)] } }, idem) };
    if (kind === 5) return { call: write('profiles', key, { set: { bio: value().repeat(rng.between(1, 3)) } }, idem) };
    return { call: idem === undefined ? { f: 'delete', table: 'profiles', key } : { f: 'delete', table: 'profiles', key, idempotencyKey: idem } };
  }
  if (roll < 0.36) {
    // carts: update-wins deletes against set and counter fields.
    const kind = rng.int(5);
    if (kind === 0) return { call: write('carts', key, { add: { items: [rng.pick(elements)] }, incr: { total: 1 } }, `c${client}-${n}`) };
    if (kind === 1) return { call: write('carts', key, { remove: { items: [rng.pick(elements)] } }, idem) };
    if (kind === 2) return { call: write('carts', key, { set: { note: value() } }, idem) };
    if (kind === 3) return { call: write('carts', key, { set: { total: rng.between(0, 5) } }, idem) };
    return { call: { f: 'delete', table: 'carts', key } };
  }
  if (roll < 0.48) {
    // counters: never deleted, always idempotent, so the counter checker is exact.
    const delta = rng.chance(0.8) ? rng.between(1, 5) : -rng.between(1, 3);
    return { call: write('counters', key, { incr: { n: delta } }, `c${client}-${n}`) };
  }
  if (roll < 0.58) {
    // tags: an OR-set with concurrent adds and removes, checked against the add-wins spec.
    const body: WriteBody = rng.chance(0.6) ? { add: { s: [rng.pick(elements)] } } : { remove: { s: [rng.pick(elements)] } };
    return { call: write('tags', key, body, idem) };
  }
  if (roll < 0.64) {
    // users: unique handles, so concurrent claims of one handle meet (insert-insert).
    return { call: write('users', rng.pick(keys('u', 6)), { set: { handle: rng.pick(handles) } }, idem) };
  }
  if (roll < 0.76) return planComments(rng, state, client, n);
  const table = rng.pick(['profiles', 'carts', 'counters', 'tags', 'users']);
  return { call: { f: 'read', table, key: table === 'users' ? rng.pick(keys('u', 6)) : key, ...consistency(rng) } };
}

function planComments(rng: Prng, state: WorkloadState, client: number, n: number): PlannedCall {
  const roll = rng.float();
  if (roll < 0.35 || state.comments.length === 0) {
    const key = `c${state.nextComment++}`;
    return { call: write('comments', key, { set: { text: `comment by ${client}` } }, `c${client}-${n}`), onOk: () => state.comments.push(key) };
  }
  if (roll < 0.7) {
    // Read a comment, and if it is there, reply to it: the reply causally follows the comment.
    const parent = rng.pick(state.comments);
    const reply = `r${client}.${n}`;
    return {
      call: { f: 'read', table: 'comments', key: parent, consistency: 'causal' },
      then: (row) =>
        row === null
          ? null
          : { call: write('comments', reply, { set: { text: `reply by ${client}`, parent } }, `c${client}-${n}r`), onOk: () => state.replies.push({ key: reply, parent }) },
    };
  }
  if (state.replies.length === 0) return { call: { f: 'read', table: 'comments', key: rng.pick(state.comments), consistency: 'causal' } };
  // Read a reply, and if it is there, its parent: it must be there too.
  const r = rng.pick(state.replies);
  return {
    call: { f: 'read', table: 'comments', key: r.key, consistency: rng.pick<Consistency>(['causal', 'eventual']) },
    then: (row) => (row === null ? null : { call: { f: 'read', table: 'comments', key: r.parent, consistency: 'causal' } }),
  };
}
