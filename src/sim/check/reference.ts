/**
 * The reference model of async tables: docs/internals/semantics.md implemented naively and
 * literally over the whole op history (no compaction, no incremental state, quadratic loops).
 *
 * It deliberately imports no engine module (nothing from src/core/crdt but the merge registry,
 * nothing from src/core/replica but the op types): the simulator checks that the engine and this
 * model agree, which only means something if they were written independently.
 */
import { compareHlc, formatHlc, type Hlc } from '../../core/clock/hlc.js';
import { compareDots, dotKey, sameDot } from '../../core/clock/version-vector.js';
import type { MergeRegistry } from '../../core/crdt/merge-registry.js';
import { limits } from '../../core/limits.js';
import { fieldType, isMergeType, mergeName, type FieldType, type OnDeleteUpdate, type TablePolicy } from '../../core/schema/policy.js';
import { canonicalJson, utf8Length, type JsonValue } from '../../core/util/json.js';
import { sha256Hex } from '../../core/util/sha256.js';
import { groupBy } from './group.js';
import { conflictId, type ConflictEntry, type ConflictKind, type LoserWrite, type OpRef } from '../../core/model/conflict.js';
import { opIdentity, type FieldChange, type Op } from '../../core/model/op.js';
import type { RowView } from '../../core/model/row-view.js';

// ---- Causality and op order ---------------------------------------------------------------------

/** The spec's op order: hlc, then dot (origin string order, then seq), then canonical JSON of the value. */
export function opOrder(a: Op, b: Op, valueA?: JsonValue, valueB?: JsonValue): number {
  const byHlc = compareHlc(a.hlc, b.hlc);
  if (byHlc !== 0) return byHlc;
  const byDot = compareDots(a.dot, b.dot);
  if (byDot !== 0) return Math.sign(byDot);
  const x = canonicalJson(valueA ?? null);
  const y = canonicalJson(valueB ?? null);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** a → b: b's causal context covers a. An op never happens before itself. */
export function happenedBefore(a: Op, b: Op): boolean {
  return !sameDot(a.dot, b.dot) && (b.deps[a.dot.origin] ?? 0) >= a.dot.seq;
}

export function concurrent(a: Op, b: Op): boolean {
  return !sameDot(a.dot, b.dot) && !happenedBefore(a, b) && !happenedBefore(b, a);
}

/** Whether deletes kill write `w` under the table's onDeleteUpdate (decided over all deletes of the row). */
export function isKilled(w: Op, deletes: readonly Op[], rule: OnDeleteUpdate): boolean {
  // delete-wins: a delete kills everything it did not come before (what it saw and what is concurrent).
  // update-wins: a delete kills only what it saw.
  return rule === 'delete-wins' ? deletes.some((d) => !happenedBefore(d, w)) : deletes.some((d) => happenedBefore(w, d));
}

// ---- One row ------------------------------------------------------------------------------------

interface LiveChange {
  readonly op: Op;
  readonly change: FieldChange;
}

interface FieldValue {
  readonly value: JsonValue;
  /** For lww fields: the op whose change gives the value (the row's claim on a unique value). */
  readonly claim?: Op;
}

interface RowState {
  readonly key: string;
  readonly fields: Record<string, JsonValue>;
  readonly claims: Map<string, Op>;
  readonly version: Hlc;
}

function setValueOf(c: FieldChange): JsonValue | undefined {
  return c.k === 'set' ? c.value : undefined;
}

function isReset(c: FieldChange): boolean {
  return c.k === 'set' || c.k === 'unset';
}

/**
 * The surviving changes on `f` (of the kinds `accepts` picks) that no write which saw them reset
 * with a set or unset of `f` — surviving or not, as the spec decides superseding over all writes.
 */
function liveChanges(f: string, survivors: readonly Op[], writes: readonly Op[], accepts: (c: FieldChange) => boolean): LiveChange[] {
  const out: LiveChange[] = [];
  for (const op of survivors) {
    const change = op.changes[f];
    if (change === undefined || !accepts(change)) continue;
    const superseded = writes.some((later) => {
      const c = later.changes[f];
      return c !== undefined && isReset(c) && happenedBefore(op, later);
    });
    if (!superseded) out.push({ op, change });
  }
  return out;
}

function byOpOrder(a: LiveChange, b: LiveChange): number {
  return opOrder(a.op, b.op, setValueOf(a.change), setValueOf(b.change));
}

/** Keeps the first (in op order) of each identity: copies of one logical write count once. */
function firstOfEachIdentity(changes: readonly LiveChange[]): LiveChange[] {
  const seen = new Set<string>();
  const out: LiveChange[] = [];
  for (const c of [...changes].sort(byOpOrder)) {
    const id = opIdentity(c.op);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(c);
  }
  return out;
}

function lwwValue(f: string, survivors: readonly Op[], writes: readonly Op[]): FieldValue | null {
  const live = liveChanges(f, survivors, writes, isReset).sort(byOpOrder);
  const winner = live[live.length - 1];
  if (winner === undefined || winner.change.k !== 'set') return null;
  // The row's claim on its value is its first live change to that value: first writer wins, and
  // the insert-insert conflict between two claims is won by the lesser op too.
  const value = canonicalJson(winner.change.value);
  const claim = live.find((c) => c.change.k === 'set' && canonicalJson(c.change.value) === value) ?? winner;
  return { value: winner.change.value, claim: claim.op };
}

function mergeValue(f: string, name: string, survivors: readonly Op[], writes: readonly Op[], merge: MergeRegistry): FieldValue | null {
  const live = liveChanges(f, survivors, writes, (c) => c.k === 'set');
  if (live.length === 0) return null;
  const fn = merge[name];
  if (fn === undefined) throw new Error(`reference: field ${f} uses merge:${name}, which is not registered`);
  const siblings = firstOfEachIdentity(live).map((c) => setValueOf(c.change) ?? null);
  return { value: fn(siblings) };
}

/** Exact sum, then saturation: saturating step by step would depend on the order of the terms. */
export function saturatingSum(terms: readonly number[]): number {
  let total = 0n;
  for (const t of terms) total += BigInt(Math.trunc(t));
  const max = BigInt(limits.counterAbsMax);
  if (total > max) return limits.counterAbsMax;
  if (total < -max) return -limits.counterAbsMax;
  return Number(total);
}

/** The longest chain of causally ordered ops in `ops` (its height as a partial order). */
export function chainLength(ops: readonly Op[]): number {
  const sorted = [...ops].sort((a, b) => opOrder(a, b)); // a linear extension: HLC order respects causality
  const longest: number[] = [];
  sorted.forEach((o, i) => {
    longest[i] = 1 + Math.max(0, ...sorted.slice(0, i).map((p, j) => (happenedBefore(p, o) ? (longest[j] as number) : 0)));
  });
  return Math.max(0, ...longest);
}

/**
 * Copies of one idempotent write (concurrent ops with the same identity) count once; an op that
 * saw an earlier op with its identity is a retry after the record expired, a new write. So each
 * identity counts as many times as its longest causal chain of live ops.
 */
function counterValue(f: string, survivors: readonly Op[], writes: readonly Op[]): FieldValue | null {
  const contributes = (c: FieldChange): boolean => c.k === 'incr' || (c.k === 'set' && typeof c.value === 'number');
  const live = liveChanges(f, survivors, writes, contributes);
  if (live.length === 0) return null;
  const terms: number[] = [];
  for (const group of groupBy(live, (c) => opIdentity(c.op)).values()) {
    const c = (group[0] as LiveChange).change;
    const delta = c.k === 'incr' ? c.delta : c.k === 'set' && typeof c.value === 'number' ? c.value : 0;
    for (let i = chainLength(group.map((g) => g.op)); i > 0; i--) terms.push(delta);
  }
  return { value: saturatingSum(terms) };
}

/** The elements a set-field change adds: an `add`'s elements, or a `set`'s whole value. */
function addedElements(c: FieldChange): readonly JsonValue[] {
  if (c.k === 'add') return c.elems;
  if (c.k === 'set' && Array.isArray(c.value)) return c.value as readonly JsonValue[];
  return [];
}

function removes(c: FieldChange, element: string): boolean {
  return c.k === 'remove' && c.elems.some((e) => canonicalJson(e) === element);
}

function setValue(f: string, survivors: readonly Op[], writes: readonly Op[]): FieldValue | null {
  const present = new Map<string, JsonValue>();
  for (const op of survivors) {
    const change = op.changes[f];
    if (change === undefined) continue;
    for (const e of addedElements(change)) {
      const element = canonicalJson(e);
      // A later set/unset of the field supersedes every element; a later remove of e only e.
      const superseded = writes.some((later) => {
        const c = later.changes[f];
        return c !== undefined && (isReset(c) || removes(c, element)) && happenedBefore(op, later);
      });
      if (!superseded) present.set(element, e);
    }
  }
  if (present.size === 0) return null;
  const sorted = [...present.keys()].sort();
  return { value: sorted.map((k) => present.get(k) ?? null) };
}

function fieldValue(f: string, type: FieldType, survivors: readonly Op[], writes: readonly Op[], merge: MergeRegistry): FieldValue | null {
  if (type === 'lww') return lwwValue(f, survivors, writes);
  if (type === 'counter') return counterValue(f, survivors, writes);
  if (type === 'set') return setValue(f, survivors, writes);
  if (isMergeType(type)) return mergeValue(f, mergeName(type), survivors, writes, merge);
  return null;
}

function maxHlcOf(ops: readonly Op[]): Hlc | null {
  let best: Hlc | null = null;
  for (const o of ops) if (best === null || compareHlc(o.hlc, best) > 0) best = o.hlc;
  return best;
}

/** A row's state before unique masking, or null when the row does not exist. */
function rowState(key: string, ops: readonly Op[], policy: TablePolicy, merge: MergeRegistry): RowState | null {
  const writes = ops.filter((o) => o.kind === 'write');
  const deletes = ops.filter((o) => o.kind === 'delete');
  const survivors = writes.filter((w) => !isKilled(w, deletes, policy.onDeleteUpdate));
  // The version is the latest surviving write's HLC: deletes and killed writes leave no trace.
  const version = maxHlcOf(survivors);
  if (survivors.length === 0 || version === null) return null;
  const fields: Record<string, JsonValue> = {};
  const claims = new Map<string, Op>();
  const names = new Set(survivors.flatMap((w) => Object.keys(w.changes)));
  for (const f of [...names].sort()) {
    const v = fieldValue(f, fieldType(policy, f), survivors, writes, merge);
    if (v === null) continue;
    fields[f] = v.value;
    if (v.claim !== undefined) claims.set(f, v.claim);
  }
  return { key, fields, claims, version };
}

// ---- A table ------------------------------------------------------------------------------------

/** Every unique field is masked when duplicates meet: for `enforce: strong` it is the backstop (semantics.md). */
function asyncUniqueFields(policy: TablePolicy): string[] {
  return policy.unique.filter((u) => fieldType(policy, u.field) === 'lww').map((u) => u.field);
}

/** First writer wins: among existing rows claiming one value, all but the least claim read it as absent. */
function maskUnique(states: readonly RowState[], policy: TablePolicy): Map<string, Set<string>> {
  const masked = new Map<string, Set<string>>();
  for (const f of asyncUniqueFields(policy)) {
    const claiming = states.filter((s) => s.fields[f] !== undefined && s.claims.has(f));
    const claimants = groupBy(claiming, (s) => canonicalJson(s.fields[f]));
    for (const rows of claimants.values()) {
      const claimOf = (s: RowState): Op => s.claims.get(f) as Op;
      const first = rows.reduce((a, b) => (opOrder(claimOf(b), claimOf(a), b.fields[f], a.fields[f]) < 0 ? b : a));
      for (const s of rows) if (s !== first) masked.set(s.key, (masked.get(s.key) ?? new Set<string>()).add(f));
    }
  }
  return masked;
}

function groupByKey(ops: readonly Op[]): Map<string, Op[]> {
  return groupBy(ops, (o) => o.key);
}

/**
 * The visible rows of `table` given every op of it a replica has applied (other tables' ops are
 * ignored): existing rows only, in key order, unique fields masked, version = the latest surviving write's HLC.
 */
export function referenceTable(ops: readonly Op[], table: string, policy: TablePolicy, merge: MergeRegistry): Map<string, RowView> {
  const byKey = groupByKey(ops.filter((o) => o.table === table && o.orphaned === undefined));
  const states: RowState[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const s = rowState(key, byKey.get(key) ?? [], policy, merge);
    if (s !== null) states.push(s);
  }
  const masked = maskUnique(states, policy);
  const out = new Map<string, RowView>();
  for (const s of states) {
    const hidden = masked.get(s.key);
    const fields: Record<string, JsonValue> = {};
    for (const [f, v] of Object.entries(s.fields)) if (!hidden?.has(f)) fields[f] = v;
    out.set(s.key, { key: s.key, fields, version: formatHlc(s.version) });
  }
  return out;
}

/**
 * One row, same answer as referenceTable(...).get(key) ?? null, computed from the ops of the key
 * and of the rows that ever set one of its unique fields to a value it may hold (only those can
 * mask it), so that checking many reads stays cheap.
 */
export function referenceRow(ops: readonly Op[], table: string, key: string, policy: TablePolicy, merge: MergeRegistry): RowView | null {
  // An orphan report changes no row (replica/orphans.ts).
  ops = ops.filter((o) => o.orphaned === undefined);
  const own = ops.filter((o) => o.table === table && o.key === key);
  const claimed = new Set<string>();
  for (const f of asyncUniqueFields(policy)) {
    for (const o of own) {
      const c = o.changes[f];
      if (c?.k === 'set') claimed.add(f + '\u0000' + canonicalJson(c.value));
    }
  }
  const rivals = ops.filter((o) => {
    if (o.table !== table || o.key === key) return false;
    return Object.entries(o.changes).some(([f, c]) => c.k === 'set' && claimed.has(f + '\u0000' + canonicalJson(c.value)));
  });
  const rivalKeys = new Set(rivals.map((o) => o.key));
  const relevant = ops.filter((o) => o.table === table && (o.key === key || rivalKeys.has(o.key)));
  return referenceTable(relevant, table, policy, merge).get(key) ?? null;
}

// ---- Conflicts ----------------------------------------------------------------------------------

interface Pair {
  readonly kind: ConflictKind;
  readonly table: string;
  readonly key: string;
  readonly field: string | null;
  readonly rule: string;
  readonly winner: Op;
  readonly loser: Op;
}

/**
 * The elements of `set` that happen before no other element. (z → z' iff z'.deps[z.origin] ≥
 * z.seq, so z is maximal iff the largest deps[z.origin] over the set is below z.seq: the same
 * relation as happenedBefore, lifted over the set to stay quadratic overall.)
 */
function maximal(set: readonly Op[]): Set<Op> {
  const seen = new Map<string, number>();
  for (const z of set) {
    for (const [origin, seq] of Object.entries(z.deps)) seen.set(origin, Math.max(seen.get(origin) ?? 0, seq));
  }
  return new Set(set.filter((z) => (seen.get(z.dot.origin) ?? 0) < z.dot.seq));
}

/**
 * The reported pairs between `xs` and `ys`: concurrent, not copies, and each a maximal element of
 * the ops (of the other side's relevant set) concurrent with the other.
 */
function headPairs(xs: readonly Op[], ys: readonly Op[], relevantToX: (x: Op) => readonly Op[], relevantToY: (y: Op) => readonly Op[]): [Op, Op][] {
  const maxCache = new Map<Op, Set<Op>>();
  const heads = (op: Op, relevant: readonly Op[]): Set<Op> => {
    let m = maxCache.get(op);
    if (m === undefined) {
      // An op's own copies (same identity) are the same write, not concurrent rivals of it.
      m = maximal(relevant.filter((z) => concurrent(z, op) && opIdentity(z) !== opIdentity(op)));
      maxCache.set(op, m);
    }
    return m;
  };
  const out: [Op, Op][] = [];
  const done = new Set<string>();
  for (const x of xs) {
    for (const y of ys) {
      if (!concurrent(x, y) || opIdentity(x) === opIdentity(y)) continue;
      const id = [dotKey(x.dot), dotKey(y.dot)].sort().join('|');
      if (done.has(id)) continue;
      if (heads(y, relevantToY(y)).has(x) && heads(x, relevantToX(x)).has(y)) {
        done.add(id);
        out.push([x, y]);
      }
    }
  }
  return out;
}

function writeWritePairs(table: string, key: string, ops: readonly Op[], policy: TablePolicy): Pair[] {
  const out: Pair[] = [];
  const fields = new Set(ops.flatMap((o) => (o.kind === 'write' ? Object.keys(o.changes) : [])));
  for (const f of [...fields].sort()) {
    const type = fieldType(policy, f);
    if (type !== 'lww' && !isMergeType(type)) continue;
    const relevant = ops.filter((o) => {
      const c = o.changes[f];
      return o.kind === 'write' && c !== undefined && isReset(c);
    });
    for (const [x, y] of headPairs(relevant, relevant, () => relevant, () => relevant)) {
      const vx = setValueOf(x.changes[f] as FieldChange);
      const vy = setValueOf(y.changes[f] as FieldChange);
      const [loser, winner] = opOrder(x, y, vx, vy) < 0 ? [x, y] : [y, x];
      out.push({ kind: 'write-write', table, key, field: f, rule: type, winner, loser });
    }
  }
  return out;
}

function deleteUpdatePairs(table: string, key: string, ops: readonly Op[], policy: TablePolicy): Pair[] {
  const deletes = ops.filter((o) => o.kind === 'delete');
  const writes = ops.filter((o) => o.kind === 'write');
  const rule = policy.onDeleteUpdate;
  return headPairs(deletes, writes, () => writes, () => deletes).map(([d, w]) => ({
    kind: 'delete-update',
    table,
    key,
    field: null,
    rule,
    winner: rule === 'delete-wins' ? d : w,
    loser: rule === 'delete-wins' ? w : d,
  }));
}

function insertInsertPairs(table: string, ops: readonly Op[], policy: TablePolicy): Pair[] {
  const out: Pair[] = [];
  for (const f of asyncUniqueFields(policy)) {
    const setting = ops.filter((o) => o.kind === 'write' && o.changes[f]?.k === 'set');
    const byValue = groupBy(setting, (o) => canonicalJson(setValueOf(o.changes[f] as FieldChange)));
    for (const claims of byValue.values()) {
      const otherRows = (y: Op): Op[] => claims.filter((z) => z.key !== y.key);
      const pairs = headPairs(claims, claims, otherRows, otherRows).filter(([x, y]) => x.key !== y.key);
      for (const [x, y] of pairs) {
        const [winner, loser] = opOrder(x, y) < 0 ? [x, y] : [y, x];
        out.push({ kind: 'insert-insert', table, key: winner.key, field: f, rule: 'first-writer-wins', winner, loser });
      }
    }
  }
  return out;
}

function opRef(op: Op, withKey: boolean): OpRef {
  // A guarded op's references name the lease epoch it was written under (semantics.md, failover).
  const ref = { region: op.dot.origin, seq: op.dot.seq, hlc: formatHlc(op.hlc), ...(op.fence !== undefined ? { epoch: op.fence.epoch } : {}) };
  return withKey ? { ...ref, key: op.key } : ref;
}

/** `x` under `tag`, or its UTF-8 size and SHA-256 when its canonical JSON exceeds the limit (docs/api.md, "Conflicts"). */
function boundedWrote(tag: 'value' | 'patch', x: unknown): LoserWrite {
  const text = canonicalJson(x);
  const bytes = utf8Length(text);
  if (bytes > limits.conflictValueBytesMax) return { truncated: true, bytes, sha256: sha256Hex(text) };
  return (tag === 'value' ? { value: x } : { patch: x }) as LoserWrite;
}

/** The PATCH body that makes a write's changes: each group only when it has fields, in field-name order. */
function patchBody(op: Op): Record<string, unknown> {
  const names = Object.keys(op.changes).sort();
  const pick = <T>(k: FieldChange['k'], of: (c: FieldChange) => T): Record<string, T> =>
    Object.fromEntries(names.filter((n) => op.changes[n]?.k === k).map((n) => [n, of(op.changes[n] as FieldChange)]));
  const groups: Record<string, unknown> = {
    set: pick('set', (c) => (c.k === 'set' ? c.value : null)),
    unset: names.filter((n) => op.changes[n]?.k === 'unset'),
    incr: pick('incr', (c) => (c.k === 'incr' ? c.delta : 0)),
    add: pick('add', (c) => (c.k === 'add' ? c.elems : [])),
    remove: pick('remove', (c) => (c.k === 'remove' ? c.elems : [])),
  };
  return Object.fromEntries(Object.entries(groups).filter(([, v]) => (Array.isArray(v) ? v.length > 0 : Object.keys(v as object).length > 0)));
}

/**
 * What a pair's loser wrote: write-write its change of the field (value or unset), insert-insert
 * the claimed value, delete-update the whole op (PATCH body, or a delete).
 */
function loserWrote(p: Pair): LoserWrite {
  const op = p.loser;
  if (p.kind === 'delete-update') return op.kind === 'delete' ? { delete: true } : boundedWrote('patch', patchBody(op));
  const change = op.changes[p.field as string] as FieldChange;
  return change.k === 'unset' ? { unset: true } : boundedWrote('value', setValueOf(change));
}

function toEntries(pairs: readonly Pair[]): ConflictEntry[] {
  const groups = new Map<string, { first: Pair; losers: Map<string, Pair> }>();
  for (const p of pairs) {
    const id = conflictId(p.kind, p.table, p.key, p.field, p.winner.dot);
    const g = groups.get(id) ?? { first: p, losers: new Map<string, Pair>() };
    g.losers.set(dotKey(p.loser.dot), p);
    groups.set(id, g);
  }
  const entries: ConflictEntry[] = [];
  for (const [id, { first, losers }] of groups) {
    const withKey = first.kind === 'insert-insert';
    const all = [...losers.values()].sort((a, b) => compareDots(a.loser.dot, b.loser.dot));
    const regions = [...new Set([first.winner.dot.origin, ...all.map((p) => p.loser.dot.origin)])].sort();
    entries.push({
      id,
      table: first.table,
      key: first.key,
      field: first.field,
      kind: first.kind,
      rule: first.rule,
      winner: opRef(first.winner, withKey),
      losers: all.slice(0, limits.conflictLosersMax).map((p) => ({ ...opRef(p.loser, withKey), wrote: loserWrote(p) })),
      loserCount: all.length,
      regions,
    });
  }
  return entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The feed entry an orphan report implies: the write it carries, listed as an orphaned-write (docs/api.md, "Conflicts"). */
function orphanedEntry(op: Op): ConflictEntry {
  const o = op.orphaned as NonNullable<Op['orphaned']>;
  return {
    id: conflictId('orphaned-write', op.table, op.key, null, o.dot),
    table: op.table,
    key: op.key,
    field: null,
    kind: 'orphaned-write',
    rule: 'eviction',
    winner: { region: op.dot.origin, seq: 0, hlc: formatHlc(op.hlc) },
    losers: [{ region: o.dot.origin, seq: o.dot.seq, hlc: formatHlc(o.hlc), wrote: op.kind === 'delete' ? { delete: true } : { patch: patchBody(op) }, ...(o.idempotencyKey !== undefined ? { idempotencyKey: o.idempotencyKey } : {}) }],
    loserCount: 1,
    regions: [o.dot.origin],
  };
}

/**
 * The conflict feed that a set of ops implies (every async table in `tables`): write-write,
 * delete-update and insert-insert pairs under the mutual-max rule, grouped by winner, sorted by id.
 * `_merge` is accepted for symmetry with referenceTable: conflicts do not depend on merge results.
 */
export function referenceConflicts(allOps: readonly Op[], tables: Readonly<Record<string, TablePolicy>>, _merge: MergeRegistry): ConflictEntry[] {
  // Orphan reports (replica/orphans.ts) change no row: they take part in no pair, and each lists its write.
  const ops = allOps.filter((o) => o.orphaned === undefined);
  const orphaned = allOps.filter((o) => o.orphaned !== undefined && tables[o.table]?.mode === 'async').map(orphanedEntry);
  const pairs: Pair[] = [];
  for (const table of Object.keys(tables).sort()) {
    const policy = tables[table];
    if (policy === undefined || policy.mode !== 'async') continue;
    const tableOps = ops.filter((o) => o.table === table);
    for (const [key, rowOps] of groupByKey(tableOps)) {
      pairs.push(...writeWritePairs(table, key, rowOps, policy), ...deleteUpdatePairs(table, key, rowOps, policy));
    }
    pairs.push(...insertInsertPairs(table, tableOps, policy));
  }
  return [...toEntries(pairs), ...orphaned].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
