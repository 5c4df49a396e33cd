/**
 * Linearizability of per-key registers (read / write / cas): Wing & Gong's search with Lowe's
 * memoisation, as Porcupine does it. docs/internals/linearizability.md explains the history
 * format, the algorithm, what info, fail and `unknown` mean, and how counterexamples are shrunk.
 *
 * The history is split per key first (P-compositionality: a history is linearizable iff each
 * key's sub-history is), and each key is searched on its own with its own time budget, so one
 * hard key yields `unknown` instead of hanging the whole check.
 */
import { Findings } from './findings.js';
import type { CheckerVerdict } from './findings.js';
import type { LinEvent, LinOperation, LinScalar } from './lin-history.js';
import { linOperationEvents, linOperations } from './lin-history.js';

export const linearizabilityName = 'linearizable';
export const defaultLinBudgetMsPerKey = 2000;
export const defaultLinShrinkBudgetMs = 1000;

export type LinKeyVerdict = 'ok' | 'violation' | 'unknown';

export interface LinCheckOptions {
  /** Search time per key before its verdict is `unknown` (default 2000 ms). */
  budgetMsPerKey?: number;
  /** Extra time per violating key to shrink its counterexample (default 1000 ms; 0: no shrinking). */
  shrinkBudgetMs?: number;
  /** The clock budgets are measured on (default performance.now); inject one to make tests deterministic. */
  now?: () => number;
}

/** Why a key is not linearizable, on as few operations as shrinking could keep. */
export interface LinCounterexample {
  readonly key: string;
  /** The operations of the smallest non-linearizable history found, in invoke order. */
  readonly ops: readonly LinOperation[];
  /** That history is the key's history cut after this time (operations pending then count as unknown), minus operations it did not need. */
  readonly cutTime: number;
  /** How many operations the key had. */
  readonly keyOps: number;
  /** Shrinking finished: no removable operation (or chunk) can go without the violation going too. */
  readonly shrunk: boolean;
  /** The longest partial linearization of `ops` the search reached, in order. */
  readonly linearized: readonly LinOperation[];
  /** The register after `linearized`. */
  readonly state: LinScalar;
  /** The first operation that could not be linearized: its return was reached while it was still pending. */
  readonly blocked: LinOperation;
  /** The other operations pending with it (concurrent with it); none of them could go next either. */
  readonly concurrent: readonly LinOperation[];
  /** `ops` as events, to save as JSON lines and check again. */
  readonly events: readonly LinEvent[];
}

export interface LinKeyResult {
  readonly key: string;
  readonly verdict: LinKeyVerdict;
  /** Operations on this key (failed ones dropped). */
  readonly ops: number;
  /** Operations that cannot change the verdict, left out of the search: unknown reads, unknown writes nobody observed, cas that failed against values nobody writes. */
  readonly setAside: number;
  /** Search loop turns. */
  readonly steps: number;
  /** Time spent on this key, shrinking included, on the injected clock. */
  readonly elapsedMs: number;
  /** When `unknown`: what ran out. */
  readonly exhausted?: 'time' | 'memory';
  /** When `violation`: the counterexample as readable lines (formatLinCounterexample of `failure`). */
  readonly counterexample?: readonly string[];
  /** When `violation`: the counterexample. */
  readonly failure?: LinCounterexample;
}

export interface LinResult {
  /** false if any key is a violation, else 'unknown' if any key is unknown, else true. */
  readonly ok: boolean | 'unknown';
  readonly keys: readonly LinKeyResult[];
  /** The first violating key's counterexample, as readable lines. */
  readonly counterexample?: readonly string[];
  /** The first violating key's counterexample. */
  readonly failure?: LinCounterexample;
}

export function checkLinearizable(events: readonly LinEvent[], options: LinCheckOptions = {}): LinResult {
  const now = options.now ?? (() => performance.now());
  const search = options.budgetMsPerKey ?? defaultLinBudgetMsPerKey;
  const budgets = { search, shrink: options.shrinkBudgetMs ?? defaultLinShrinkBudgetMs };
  const keys = [...groupByKey(linOperations(events))].map(([key, ops]) => checkKey(key, ops, budgets, now));
  const bad = keys.find((k) => k.verdict === 'violation');
  const ok = bad !== undefined ? false : keys.some((k) => k.verdict === 'unknown') ? 'unknown' : true;
  return bad?.failure === undefined ? { ok, keys } : { ok, keys, counterexample: formatLinCounterexample(bad.failure), failure: bad.failure };
}

function groupByKey(ops: readonly LinOperation[]): Map<string, LinOperation[]> {
  const byKey = new Map<string, LinOperation[]>();
  for (const op of ops) {
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [op]);
    else list.push(op);
  }
  return byKey;
}

interface Budgets {
  readonly search: number;
  readonly shrink: number;
}

function checkKey(key: string, ops: readonly LinOperation[], budgets: Budgets, now: () => number): LinKeyResult {
  const started = now();
  const outcome = searchRegister(ops, deadline(now, budgets.search), true);
  const base = { key, verdict: outcome.verdict, ops: ops.length, setAside: outcome.setAside, steps: outcome.steps };
  if (outcome.verdict === 'unknown') return { ...base, elapsedMs: now() - started, exhausted: outcome.exhausted ?? 'time' };
  if (outcome.verdict === 'ok') return { ...base, elapsedMs: now() - started };
  const failure = explain(key, ops, outcome, budgets, now);
  return { ...base, elapsedMs: now() - started, counterexample: formatLinCounterexample(failure), failure };
}

function deadline(now: () => number, budgetMs: number): () => boolean {
  const end = now() + budgetMs;
  return () => now() > end;
}

// ---------------------------------------------------------------------------------------------
// Unknown operations, prepared for the search. Each one left pending can be linearized at any
// later point, multiplying the configurations to explore, so:
// - Those that cannot change the verdict are set aside. An unknown read constrains nothing; nor
//   does a cas that failed its compare against a value nobody writes (not null): it is legal
//   anywhere. An unknown write or cas whose value no read returns and no cas expects: taking
//   effect, it puts an unobserved value in the register until the next write, which can only make
//   later reads and successful cas illegal, so if any order works, one works where it never took
//   effect. A failed-compare cas of a written value does observe the register ("not from"), so on
//   a key with one, no write is set aside. Setting aside a cas drops the value it expects, which
//   may free another: hence the loop.
// - One that is the only writer of a value (not null) that a known operation observed must have
//   taken effect before that operation returned, so it gets that return time as its own. This adds
//   no constraint that any linearization does not already meet, and keeps the search from trying
//   it at every later point.

interface Searchable {
  readonly ops: LinOperation[];
  /** Per operation, the time by which it must be linearized (Infinity: never needed). */
  readonly ret: Float64Array;
}

function searchable(ops: readonly LinOperation[]): Searchable {
  const written = writtenValues(ops);
  let kept = ops.filter((o) => (o.known || o.op !== 'read') && !isBlindCasFalse(o, written));
  if (!kept.some((o) => o.op === 'cas' && o.known && !o.casOk)) {
    for (;;) {
      const observed = observedValues(kept);
      const next = kept.filter((o) => o.known || observed.has(o.value));
      if (next.length === kept.length) break;
      kept = next;
    }
  }
  return { ops: kept, ret: mustReturnBy(kept) };
}

function writtenValues(ops: readonly LinOperation[]): Set<LinScalar> {
  return new Set(ops.filter((o) => o.op !== 'read').map((o) => o.value));
}

/** A cas that failed its compare against a value the register never holds: legal anywhere, no effect. */
function isBlindCasFalse(o: LinOperation, written: ReadonlySet<LinScalar>): boolean {
  return o.op === 'cas' && o.known && !o.casOk && o.from !== null && !written.has(o.from);
}

function mustReturnBy(ops: readonly LinOperation[]): Float64Array {
  const ret = Float64Array.from(ops, (o) => o.ret);
  const writers = new Map<LinScalar, number>();
  const firstSeen = new Map<LinScalar, number>();
  for (const o of ops) {
    if (o.op !== 'read') writers.set(o.value, (writers.get(o.value) ?? 0) + 1);
    const seen = !o.known ? undefined : o.op === 'read' ? o.value : o.op === 'cas' && o.casOk ? o.from : undefined;
    if (seen !== undefined) firstSeen.set(seen, Math.min(firstSeen.get(seen) ?? Infinity, o.ret));
  }
  ops.forEach((o, i) => {
    const by = firstSeen.get(o.value);
    if (!o.known && o.op !== 'read' && o.value !== null && writers.get(o.value) === 1 && by !== undefined) ret[i] = Math.max(o.call, by);
  });
  return ret;
}

/** Values some operation needs the register to hold: what known reads returned, what cas (ok or unknown) expect. */
function observedValues(ops: readonly LinOperation[]): Set<LinScalar> {
  const observed = new Set<LinScalar>();
  for (const o of ops) {
    if (o.op === 'read' && o.known) observed.add(o.value);
    else if (o.op === 'cas' && (!o.known || o.casOk)) observed.add(o.from);
  }
  return observed;
}

// ---------------------------------------------------------------------------------------------
// The register model. Values are interned as small integers, so a state is one number and a
// cache entry is a bitset plus one word. An unknown operation took effect once or never; "never"
// needs no step of its own: the search succeeds once every known operation is linearized, and
// unknown ones left over are the ones that never took effect (for a cas: the compare failed, or
// it never ran, which look the same). So each operation has one transition.

const kindRead = 0;
const kindWrite = 1;
const kindCas = 2;
const kindCasFalse = 3;
/** No transition: the step is illegal. */
const illegal = -1;

class RegisterModel {
  readonly #ids = new Map<LinScalar, number>();
  readonly values: LinScalar[] = [];
  readonly kind: Uint8Array;
  /** read: the value read; write: the value written; cas: `to`; as a state. */
  readonly value: Int32Array;
  readonly from: Int32Array;

  constructor(ops: readonly LinOperation[]) {
    this.#intern(null); // state 0: the initial, absent register
    this.kind = new Uint8Array(ops.length);
    this.value = new Int32Array(ops.length);
    this.from = new Int32Array(ops.length);
    ops.forEach((op, i) => {
      this.kind[i] = kindOf(op);
      this.value[i] = this.#intern(op.value);
      this.from[i] = this.#intern(op.from);
    });
  }

  #intern(v: LinScalar): number {
    let id = this.#ids.get(v);
    if (id === undefined) {
      id = this.values.length;
      this.#ids.set(v, id);
      this.values.push(v);
    }
    return id;
  }

  /** Whether `op` never changes the register (a read, a cas that failed its compare). */
  preserves(op: number): boolean {
    const kind = this.kind[op];
    return kind === kindRead || kind === kindCasFalse;
  }

  /** The state after `op` from `state`, or `illegal`. An unknown cas here is one that applied. */
  step(op: number, state: number): number {
    switch (this.kind[op]) {
      case kindRead: return state === this.value[op] ? state : illegal;
      case kindWrite: return this.value[op] ?? illegal;
      case kindCasFalse: return state !== this.from[op] ? state : illegal;
      default: return state === this.from[op] ? (this.value[op] ?? illegal) : illegal;
    }
  }
}

function kindOf(op: LinOperation): number {
  if (op.op === 'read') return kindRead;
  if (op.op === 'write') return kindWrite;
  return !op.known || op.casOk ? kindCas : kindCasFalse;
}

// ---------------------------------------------------------------------------------------------
// Lowe's memoisation: (linearized set, state) pairs already explored. The set is a Uint32Array
// bitset with an incrementally kept Zobrist hash (XOR of one word per set bit), so hashing costs
// O(1) per step. Operations are numbered in invoke order, so a set reached deep in a long history
// is all ones up to the oldest pending operation and all zeros after the newest linearized one:
// an entry stores only the words in between. Entries live in one growing Uint32Array (no object
// per entry), chained per bucket of an open hash table, and are compared exactly.

/** MurmurHash3's finalizer: a cheap, well-mixed 32-bit hash of an integer. */
function fmix32(x: number): number {
  let h = Math.imul(x, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The most words the cache may hold (128 MiB) before the key's verdict is `unknown`. */
const cacheWordsMax = 1 << 25;
// An entry: hash, next entry in its bucket (0: none), state, first stored word, word count, words.
const entryHeader = 5;
const allOnes = 0xffffffff;

class Cache {
  #arena = new Uint32Array(1 << 12);
  /** Words used; offset 0 is never an entry, so that 0 can mean "none". */
  #used = 1;
  #heads = new Uint32Array(1 << 10);
  #count = 0;

  get words(): number {
    return this.#used + this.#heads.length;
  }

  /** Adds (bits, state); false when it was already there. */
  add(bits: Uint32Array, bitsHash: number, state: number): boolean {
    let lo = 0;
    while (lo < bits.length && bits[lo] === allOnes) lo++;
    let hi = bits.length;
    while (hi > lo && bits[hi - 1] === 0) hi--;
    const hash = (bitsHash ^ fmix32(state + 0x51ed27)) >>> 0;
    const arena = this.#arena;
    for (let e = this.#heads[hash & (this.#heads.length - 1)] ?? 0; e !== 0; e = arena[e + 1] ?? 0) {
      if (arena[e] === hash && arena[e + 2] === state && arena[e + 3] === lo && arena[e + 4] === hi - lo && sameWords(arena, e + entryHeader, bits, lo, hi)) return false;
    }
    this.#insert(hash, state, bits, lo, hi);
    return true;
  }

  #insert(hash: number, state: number, bits: Uint32Array, lo: number, hi: number): void {
    const size = entryHeader + hi - lo;
    if (this.#used + size > this.#arena.length) {
      const grown = new Uint32Array(Math.max(this.#arena.length * 2, this.#used + size));
      grown.set(this.#arena);
      this.#arena = grown;
    }
    if (++this.#count > this.#heads.length) this.#rehash();
    const e = this.#used;
    const slot = hash & (this.#heads.length - 1);
    const arena = this.#arena;
    arena[e] = hash;
    arena[e + 1] = this.#heads[slot] ?? 0;
    arena[e + 2] = state;
    arena[e + 3] = lo;
    arena[e + 4] = hi - lo;
    arena.set(bits.subarray(lo, hi), e + entryHeader);
    this.#heads[slot] = e;
    this.#used += size;
  }

  /** Doubles the table and re-chains every entry (entries never move in the arena). */
  #rehash(): void {
    const heads = new Uint32Array(this.#heads.length * 2);
    const arena = this.#arena;
    for (let e = 1; e < this.#used; e += entryHeader + (arena[e + 4] ?? 0)) {
      const slot = (arena[e] ?? 0) & (heads.length - 1);
      arena[e + 1] = heads[slot] ?? 0;
      heads[slot] = e;
    }
    this.#heads = heads;
  }
}

function sameWords(arena: Uint32Array, at: number, bits: Uint32Array, lo: number, hi: number): boolean {
  for (let i = lo; i < hi; i++) if (arena[at + i - lo] !== bits[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The search. Entries (a call and a return per operation) sit in a doubly linked list kept in
// typed arrays, sorted by time; at equal times calls come first, so an operation returning at t
// and one invoked at t count as concurrent (closed intervals: a tie never makes a violation).
// Unknown operations return at +∞ (or at their deadline, see mustReturnBy), so their returns sit
// at the end of the list, and they are optional: the search succeeds once every known operation
// is linearized.

/** Loop turns between looks at the clock and at the cache's size. */
const checkEvery = 1024;

interface Deepest {
  /** Operations of the longest partial linearization, in order. */
  readonly ops: Int32Array;
  readonly state: number;
  /** The operation whose return was reached while it was pending. */
  readonly blocked: number;
  /** Every pending operation whose call precedes that return (`blocked` included). */
  readonly frontier: readonly number[];
}

interface SearchOutcome {
  readonly verdict: LinKeyVerdict;
  readonly steps: number;
  readonly setAside: number;
  readonly exhausted?: 'time' | 'memory';
  /** The operations searched (indexes in `deepest` refer to them). */
  readonly searched: readonly LinOperation[];
  readonly model: RegisterModel;
  /** Only when tracked and at least one return was reached. */
  readonly deepest: Deepest | null;
  /** The time of the latest return entry the search reached (-Infinity: none). */
  readonly furthestReturn: number;
}

function searchRegister(ops: readonly LinOperation[], expired: () => boolean, track: boolean): SearchOutcome {
  const prepared = searchable(ops);
  const search = new RegisterSearch(prepared, track);
  const verdict = search.run(expired);
  const searched = prepared.ops;
  const furthestReturn = search.furthestEntry < 0 ? -Infinity : (prepared.ret[~(search.entryOp(search.furthestEntry))] ?? -Infinity);
  const base = { verdict, steps: search.steps, setAside: ops.length - searched.length, searched, model: search.model, deepest: search.deepest, furthestReturn };
  return search.exhausted === null ? base : { ...base, exhausted: search.exhausted };
}

/**
 * Another reduction, for many unknown operations on few values: unknown operations with the same
 * effect (same kind and values) and no deadline are interchangeable, so a linearization that
 * takes a later-invoked one before an earlier one works with the two swapped (both are invoked
 * by then, neither must precede anything). So twins are taken in invoke order only: each waits
 * for its previous twin. Without this, k pending twins make 2^k configurations instead of k + 1.
 */
function twins(ops: readonly LinOperation[], ret: Float64Array): Int32Array {
  const before = new Int32Array(ops.length).fill(-1);
  const last = new Map<string, number>();
  ops.forEach((o, i) => {
    if (o.known || ret[i] !== Infinity) return;
    const effect = JSON.stringify([o.op, o.from, o.value]);
    before[i] = last.get(effect) ?? -1;
    last.set(effect, i);
  });
  return before;
}

class RegisterSearch {
  readonly model: RegisterModel;
  steps = 0;
  exhausted: 'time' | 'memory' | null = null;
  deepest: Deepest | null = null;
  /** The latest return entry reached (entries are in time order); -1: none. */
  furthestEntry = -1;
  readonly #track: boolean;
  // The list: entries 0..2n-1 sorted by time, `#head` a sentinel, -1 the end.
  readonly #head: number;
  readonly #next: Int32Array;
  readonly #prev: Int32Array;
  /** Entry → operation; calls are stored as op, returns as ~op. */
  readonly #entryOp: Int32Array;
  readonly #callOf: Int32Array;
  readonly #retOf: Int32Array;
  readonly #known: Uint8Array;
  /** See `twins`: the previous twin of each operation, -1 if none. */
  readonly #twinBefore: Int32Array;
  /** Known operations not linearized yet; the search succeeds when none is left. */
  #knownLeft = 0;
  // The linearized set, its hash, and the stack of (op, state before it, forced?).
  readonly #bits: Uint32Array;
  readonly #zobrist: Uint32Array;
  #hash = 0;
  readonly #stackOp: Int32Array;
  readonly #stackState: Int32Array;
  readonly #stackForced: Uint8Array;
  #depth = 0;
  #state = 0;
  readonly #cache = new Cache();

  constructor({ ops, ret }: Searchable, track: boolean) {
    const n = ops.length;
    this.model = new RegisterModel(ops);
    this.#track = track;
    this.#head = 2 * n;
    this.#next = new Int32Array(2 * n + 1);
    this.#prev = new Int32Array(2 * n + 1);
    this.#entryOp = new Int32Array(2 * n);
    this.#callOf = new Int32Array(n);
    this.#retOf = new Int32Array(n);
    this.#known = Uint8Array.from(ops, (o) => (o.known ? 1 : 0));
    this.#twinBefore = twins(ops, ret);
    this.#knownLeft = ops.filter((o) => o.known).length;
    this.#bits = new Uint32Array(Math.ceil(n / 32));
    this.#zobrist = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.#zobrist[i] = fmix32(i + 1);
    this.#stackOp = new Int32Array(n);
    this.#stackState = new Int32Array(n);
    this.#stackForced = new Uint8Array(n);
    this.#buildList(ops, ret);
  }

  #buildList(ops: readonly LinOperation[], ret: Float64Array): void {
    const n = ops.length;
    const time = (e: number): number => (e < n ? (ops[e]?.call ?? 0) : (ret[e - n] ?? 0));
    const order = Array.from({ length: 2 * n }, (_, e) => e);
    // Calls (e < n) before returns at equal times; then by operation, to be deterministic.
    order.sort((a, b) => time(a) - time(b) || Number(a >= n) - Number(b >= n) || a - b);
    let last = this.#head;
    order.forEach((e, pos) => {
      const op = e < n ? e : e - n;
      this.#entryOp[pos] = e < n ? op : ~op;
      if (e < n) this.#callOf[op] = pos;
      else this.#retOf[op] = pos;
      this.#next[last] = pos;
      this.#prev[pos] = last;
      last = pos;
    });
    this.#next[last] = -1;
  }

  run(expired: () => boolean): LinKeyVerdict {
    const next = this.#next;
    let entry = -1;
    let arrived = true;
    for (;;) {
      if (++this.steps % checkEvery === 0 && this.#outOfBudget(expired)) return 'unknown';
      if (arrived) {
        // A new configuration. With no known operation left it is a witness (the stack holds
        // the order; unknown operations left over never took effect). Otherwise, first the
        // shortcut below, then walk from the head.
        arrived = false;
        if (this.#knownLeft === 0) return 'ok';
        const forced = this.#forcedStep();
        if (forced === 'taken') arrived = true;
        else if (forced === 'none') entry = next[this.#head] ?? -1;
        else if (!this.#backtrack()) return 'violation';
        else entry = this.#resume;
        continue;
      }
      const op = this.#entryOp[entry] ?? 0;
      if (op >= 0) {
        // A call: linearize it if it is legal and leads somewhere new, and arrive at the new
        // configuration. Otherwise try the next entry.
        if (this.#tryLinearize(entry, op)) arrived = true;
        else entry = next[entry] ?? -1;
        continue;
      }
      // A return: its operation is still pending and nothing pending can go before it.
      if (entry > this.furthestEntry) this.furthestEntry = entry;
      if (this.#track) this.#noteDeepest(entry, ~op);
      if (!this.#backtrack()) return 'violation';
      entry = this.#resume;
    }
  }

  #resume = -1;

  entryOp(entry: number): number {
    return this.#entryOp[entry] ?? 0;
  }

  /**
   * A shortcut (a partial-order reduction) that keeps the search from multiplying by the places
   * a read can go: an operation that never changes the register (a read, a cas that failed its
   * compare) and is legal now can be linearized now. Any completion that places it later still
   * works with it moved here: its real-time predecessors are all linearized (its call precedes
   * every pending return), and the operations it jumps over see the same value. So it is taken
   * without trying anything else, and if what follows fails, this configuration fails too: the
   * frame is marked forced and #backtrack pops through it.
   */
  #forcedStep(): 'taken' | 'none' | 'fails' {
    for (let e = this.#next[this.#head] ?? -1; e !== -1; e = this.#next[e] ?? -1) {
      const op = this.#entryOp[e] ?? 0;
      if (op < 0) return 'none';
      if (!this.model.preserves(op) || this.model.step(op, this.#state) === illegal) continue;
      this.#toggle(op);
      if (!this.#cache.add(this.#bits, this.#hash, this.#state)) {
        // Explored before, and the search is still going: it failed, so this one does too.
        this.#toggle(op);
        return 'fails';
      }
      this.#push(op, true);
      this.#lift(e, op);
      return 'taken';
    }
    return 'none';
  }

  /**
   * Undoes the last linearized operation (and the forced ones above the first that is not), and
   * sets #resume to the entry after its call. False when the stack runs out: no linearization.
   */
  #backtrack(): boolean {
    for (;;) {
      if (this.#depth === 0) return false;
      const top = --this.#depth;
      const undone = this.#stackOp[top] ?? 0;
      this.#state = this.#stackState[top] ?? 0;
      this.#knownLeft += this.#known[undone] ?? 0;
      this.#toggle(undone);
      this.#unlift(undone);
      if (this.#stackForced[top] === 1) continue;
      this.#resume = this.#next[this.#callOf[undone] ?? 0] ?? -1;
      return true;
    }
  }

  #push(op: number, forced: boolean): void {
    const top = this.#depth++;
    this.#stackOp[top] = op;
    this.#stackState[top] = this.#state;
    this.#stackForced[top] = forced ? 1 : 0;
    this.#knownLeft -= this.#known[op] ?? 0;
  }

  #outOfBudget(expired: () => boolean): boolean {
    if (this.#cache.words > cacheWordsMax) this.exhausted = 'memory';
    else if (expired()) this.exhausted = 'time';
    return this.exhausted !== null;
  }

  #tryLinearize(entry: number, op: number): boolean {
    const twin = this.#twinBefore[op] ?? -1;
    if (twin >= 0 && ((this.#bits[twin >>> 5] ?? 0) & (1 << (twin & 31))) === 0) return false;
    const after = this.model.step(op, this.#state);
    if (after === illegal) return false;
    this.#toggle(op);
    if (!this.#cache.add(this.#bits, this.#hash, after)) {
      this.#toggle(op);
      return false;
    }
    this.#push(op, false);
    this.#state = after;
    this.#lift(entry, op);
    return true;
  }

  #toggle(op: number): void {
    const w = op >>> 5;
    this.#bits[w] = (this.#bits[w] ?? 0) ^ (1 << (op & 31));
    this.#hash = (this.#hash ^ (this.#zobrist[op] ?? 0)) >>> 0;
  }

  /** Unlinks a call and its return (dancing links: the unlinked entries keep their neighbours). */
  #lift(call: number, op: number): void {
    this.#unlink(call);
    this.#unlink(this.#retOf[op] ?? 0);
  }

  /** Relinks what #lift unlinked, in reverse order. */
  #unlift(op: number): void {
    this.#relink(this.#retOf[op] ?? 0);
    this.#relink(this.#callOf[op] ?? 0);
  }

  #unlink(e: number): void {
    const p = this.#prev[e] ?? 0;
    const n = this.#next[e] ?? -1;
    this.#next[p] = n;
    if (n !== -1) this.#prev[n] = p;
  }

  #relink(e: number): void {
    const n = this.#next[e] ?? -1;
    this.#next[this.#prev[e] ?? 0] = e;
    if (n !== -1) this.#prev[n] = e;
  }

  /** Porcupine reports the longest partial linearization; so do we, with what was pending then. */
  #noteDeepest(ret: number, blocked: number): void {
    if (this.deepest !== null && this.#depth <= this.deepest.ops.length) return;
    const frontier: number[] = [];
    for (let e = this.#next[this.#head] ?? -1; e !== ret && e !== -1; e = this.#next[e] ?? -1) frontier.push(this.#entryOp[e] ?? 0);
    frontier.push(blocked);
    this.deepest = { ops: this.#stackOp.slice(0, this.#depth), state: this.#state, blocked, frontier };
  }
}

// ---------------------------------------------------------------------------------------------
// Shrinking a violation to a small history that is still not linearizable, and is so only if
// the whole history is not, so the counterexample never blames what the full history explains.
// Two ways of making a smaller history keep that property:
// - Cutting it after a time T (dropping later events; operations still pending at T become
//   unknown), since linearizability is prefix-closed.
// - Removing operations that any linearization of the whole can do without: reads and
//   failed-compare cas (they change nothing), and writes (or cas) of a value that no remaining
//   operation reads or expects (so none of them read from it), while no failed-compare cas of a
//   value still written remains (it observes "not from", which removing a write could change).
// - And one special case: an operation that observed a value (not null) nobody writes fails on
//   its own, whatever else happened.
// Searches that fail are the expensive ones (they explore everything), so the search looks for a
// small failing part first and grows it, rather than shrinking the whole:
// 1. The cut: no cut before the furthest return the full search reached can fail (the search
//    had linearized everything returning before it), so cuts are tried from there on.
// 2. The window: of that cut, only the last k operations (by invoke), plus the earlier ones that
//    cannot be removed, for k = 4, 8, 16, ... until one fails.
// 3. Then operations are removed, in halving chunks, while the rest still fails (ddmin).

function explain(key: string, ops: readonly LinOperation[], main: SearchOutcome, budgets: Budgets, now: () => number): LinCounterexample {
  const whole = (): LinCounterexample => counterexample(key, ops.length, ops, main, Infinity, false);
  if (budgets.shrink <= 0) return whole();
  const expired = deadline(now, budgets.shrink);
  const fails = (subset: readonly LinOperation[]): boolean => searchRegister(subset, expired, false).verdict === 'violation';
  const part = unwrittenValueSeen(ops) ?? smallFailingPart(ops, main.furthestReturn, fails, expired);
  if (part === null) return whole();
  const shrunk = removeUnneeded(part.ops, fails, expired);
  const final = searchRegister(shrunk.ops, deadline(now, budgets.search), true);
  if (final.verdict !== 'violation') return whole();
  return counterexample(key, ops.length, shrunk.ops, final, part.cutTime, shrunk.done);
}

interface FailingPart {
  readonly ops: readonly LinOperation[];
  readonly cutTime: number;
}

/** The first known operation to return that read (or cas'ed from) a value nobody writes, alone. */
function unwrittenValueSeen(ops: readonly LinOperation[]): FailingPart | null {
  const written = writtenValues(ops);
  let first: LinOperation | null = null;
  for (const o of ops) {
    const seen = !o.known ? null : o.op === 'read' ? o.value : o.op === 'cas' && o.casOk ? o.from : null;
    if (seen !== null && !written.has(seen) && (first === null || o.ret < first.ret)) first = o;
  }
  return first === null ? null : { ops: [first], cutTime: first.ret };
}

function smallFailingPart(
  ops: readonly LinOperation[],
  furthestReturn: number,
  fails: (s: readonly LinOperation[]) => boolean,
  expired: () => boolean,
): FailingPart | null {
  const times = [...new Set(ops.filter((o) => o.known).map((o) => o.ret))].sort((a, b) => a - b);
  const first = times.findIndex((t) => t >= furthestReturn);
  // The first failing cut is almost always the first one tried; gallop in case it is not.
  for (let i = Math.max(0, first), stride = 1; i < times.length; i += stride, stride *= 2) {
    const cutTime = times[i] ?? Infinity;
    const cut = cutAfter(ops, cutTime);
    for (let k = 4; ; k *= 2) {
      if (expired()) return null;
      const from = Math.max(0, cut.length - k);
      const part = from === 0 ? cut : withoutRemovable(cut, 0, from);
      if (fails(part)) return { ops: part, cutTime };
      if (from === 0) break;
    }
  }
  return null;
}

/** `ops` cut after time t: operations invoked after it dropped, those pending at it unknown. */
function cutAfter(ops: readonly LinOperation[], t: number): LinOperation[] {
  const out: LinOperation[] = [];
  for (const o of ops) {
    if (o.call > t) continue;
    if (o.ret <= t || (!o.known && o.infoTime !== null && o.infoTime <= t)) out.push(o);
    else if (o.op !== 'read') out.push({ ...o, known: false, ret: Infinity, infoTime: null, casOk: true });
  }
  return out;
}

function removeUnneeded(
  start: readonly LinOperation[],
  fails: (s: readonly LinOperation[]) => boolean,
  expired: () => boolean,
): { ops: readonly LinOperation[]; done: boolean } {
  let cur = start;
  let chunk = Math.max(1, Math.ceil(cur.length / 2));
  for (;;) {
    let changed = false;
    for (let at = 0; at < cur.length; ) {
      if (expired()) return { ops: cur, done: false };
      const rest = withoutRemovable(cur, at, chunk);
      if (rest.length < cur.length && fails(rest)) {
        cur = rest;
        changed = true;
      } else {
        at += chunk;
      }
    }
    if (chunk === 1 && !changed) return { ops: cur, done: true };
    if (chunk > 1) chunk = Math.ceil(chunk / 2);
  }
}

/** `ops` without those of [at, at + chunk) that may be removed given what remains (a fixpoint). */
function withoutRemovable(ops: readonly LinOperation[], at: number, chunk: number): LinOperation[] {
  const out = new Set(ops.slice(at, at + chunk));
  for (;;) {
    const rest = ops.filter((o) => !out.has(o));
    const observed = observedValues(rest);
    const written = writtenValues(rest);
    const casFalse = rest.some((o) => o.op === 'cas' && o.known && !o.casOk && !isBlindCasFalse(o, written));
    let kept = false;
    for (const o of out) {
      const observesOnly = o.op === 'read' || (o.op === 'cas' && o.known && !o.casOk);
      if (observesOnly || (!casFalse && !observed.has(o.value))) continue;
      out.delete(o);
      kept = true;
    }
    if (!kept) return rest;
  }
}

function counterexample(key: string, keyOps: number, subset: readonly LinOperation[], outcome: SearchOutcome, cutTime: number, shrunk: boolean): LinCounterexample {
  const deepest = outcome.deepest;
  const at = (i: number): LinOperation => outcome.searched[i] as LinOperation;
  const ops = [...subset].sort((a, b) => a.call - b.call);
  const blocked = at(deepest?.blocked ?? 0);
  return {
    key,
    ops,
    cutTime,
    keyOps,
    shrunk,
    linearized: [...(deepest?.ops ?? [])].map(at),
    state: outcome.model.values[deepest?.state ?? 0] ?? null,
    blocked,
    concurrent: (deepest?.frontier ?? []).filter((i) => i !== deepest?.blocked).map(at),
    events: linOperationEvents(ops),
  };
}

// ---------------------------------------------------------------------------------------------
// Reports.

function formatTime(t: number): string {
  if (t === Infinity) return '∞';
  return Number.isInteger(t) ? String(t) : String(Math.round(t * 1000) / 1000);
}

/** One operation on one line: `p2 read x → 1 [4, 5]`, `p3 cas x 1 → 2: false [6, 8]`, `p4 write x 5 [9, ∞) info at 12`. */
export function describeLinOperation(o: LinOperation): string {
  const v = (x: LinScalar): string => JSON.stringify(x);
  const body =
    o.op === 'read' ? `read ${o.key} → ${o.known ? v(o.value) : '?'}`
    : o.op === 'write' ? `write ${o.key} ${v(o.value)}`
    : `cas ${o.key} ${v(o.from)} → ${v(o.value)}${o.known ? `: ${String(o.casOk)}` : ''}`;
  const interval = o.known ? `[${formatTime(o.call)}, ${formatTime(o.ret)}]` : `[${formatTime(o.call)}, ∞)`;
  const unknown = o.known ? '' : o.infoTime !== null ? ` info at ${formatTime(o.infoTime)}` : ' never completed';
  return `p${o.process} ${body} ${interval}${unknown}`;
}

const linesMax = 25;

/** A few lines: the failing history (shrunk), the longest linearizable prefix of it, and where it got stuck. */
export function formatLinCounterexample(c: LinCounterexample): string[] {
  const how = [c.cutTime === Infinity ? '' : `cut after t=${formatTime(c.cutTime)}`, c.shrunk ? 'shrunk as far as it goes' : c.cutTime === Infinity ? 'not shrunk' : 'shrinking stopped early'];
  const lines = [
    `key ${JSON.stringify(c.key)} is not linearizable; a failing history of ${c.ops.length} of its ${c.keyOps} operations (${how.filter((h) => h !== '').join(', ')}):`,
    ...capped(c.ops.map((o) => `  ${describeLinOperation(o)}${o === c.blocked ? '   ← cannot be linearized' : ''}`), linesMax),
  ];
  const tail = c.linearized.slice(-5);
  const more = c.linearized.length - tail.length;
  lines.push(`longest linearizable prefix (${c.linearized.length} operations${more > 0 ? `, last ${tail.length} shown` : ''}), after which ${c.key} = ${JSON.stringify(c.state)}:`);
  lines.push(...(tail.length === 0 ? ['  (none)'] : tail.map((o) => `  ${describeLinOperation(o)}`)));
  lines.push(`first operation that cannot be linearized: ${describeLinOperation(c.blocked)}`);
  lines.push(`pending with it, none of which can go next either:${c.concurrent.length === 0 ? ' (none)' : ''}`);
  lines.push(...capped(c.concurrent.map((o) => `  ${describeLinOperation(o)}`), 10));
  return lines;
}

function capped(lines: readonly string[], max: number): string[] {
  return lines.length <= max ? [...lines] : [...lines.slice(0, max - 1), `  … and ${lines.length - max + 1} more`];
}

function keyLine(k: LinKeyResult): string {
  const detail = `${k.ops} operations${k.setAside > 0 ? ` (${k.setAside} set aside)` : ''}, ${k.steps} steps, ${formatTime(Math.round(k.elapsedMs))} ms`;
  if (k.verdict === 'unknown') return `key ${JSON.stringify(k.key)}: unknown: the ${k.exhausted ?? 'time'} budget ran out (${detail})`;
  return `key ${JSON.stringify(k.key)}: ${k.verdict} (${detail})`;
}

/** A human-readable report: a summary line, then every key that is not ok, with its counterexample. */
export function formatLinResult(result: LinResult): string {
  const count = (v: LinKeyVerdict): number => result.keys.filter((k) => k.verdict === v).length;
  const ops = result.keys.reduce((n, k) => n + k.ops, 0);
  const head = result.ok === true ? 'linearizable' : result.ok === false ? 'NOT linearizable' : 'unknown (not proven either way)';
  const lines = [`${head}: ${result.keys.length} keys (${count('ok')} ok, ${count('violation')} violation, ${count('unknown')} unknown), ${ops} operations`];
  for (const k of result.keys) {
    if (k.verdict === 'ok') continue;
    lines.push(keyLine(k));
    if (k.counterexample !== undefined) lines.push(...k.counterexample.map((l) => `  ${l}`));
  }
  return lines.join('\n');
}

/** The project's checker verdict: one violation line per violating key, unknown keys as notes. */
export function linVerdict(result: LinResult): CheckerVerdict {
  const findings = new Findings();
  for (const k of result.keys) {
    findings.examined(k.ops);
    const c = k.failure;
    if (k.verdict === 'violation') {
      const why = c === undefined ? '' : `: ${describeLinOperation(c.blocked)} cannot take effect after ${c.linearized.length} operations (${k.key} = ${JSON.stringify(c.state)}); a failing history of ${c.ops.length} of ${k.ops} operations`;
      findings.violation(`key ${JSON.stringify(k.key)} is not linearizable${why}`);
    } else if (k.verdict === 'unknown') {
      findings.note(keyLine(k));
    }
  }
  return findings.verdict(linearizabilityName);
}
