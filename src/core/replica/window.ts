/**
 * Conflict windows: the recent ops on one row (or on one unique value) that conflict detection
 * still needs, and the canonical pair rule of docs/internals/semantics.md.
 *
 * A pair (x, y) of concurrent, relevant ops is reported iff each is a maximal element of the set
 * of relevant ops concurrent with the other. A region decides it once both are causally stable:
 * then every op concurrent with either has arrived, so the decision is the same in every region
 * whatever the order in which ops arrived. An entry leaves the window once it is decided and
 * every op concurrent with it is decided too.
 */
import { covers, type Dot, type VersionVector } from '../clock/version-vector.js';
import type { WindowEntry } from '../model/window-entry.js';
import { compareStamps } from '../crdt/stamp.js';

/** Which scopes an entry takes part in, and which pairs of entries are relevant in a scope. */
export interface Relevance {
  scopes(x: WindowEntry): readonly string[];
  relevant(x: WindowEntry, y: WindowEntry, scope: string): boolean;
}

export interface DecidedPair {
  readonly scope: string;
  readonly first: WindowEntry;
  readonly second: WindowEntry;
}

export function concurrent(x: WindowEntry, y: WindowEntry): boolean {
  if (x.dot.origin === y.dot.origin && x.dot.seq === y.dot.seq) return false;
  return !covers(y.deps, x.dot) && !covers(x.deps, y.dot);
}

/** The elements of `set` that happen before no other element of it. */
export function maximal(set: readonly WindowEntry[]): WindowEntry[] {
  // Ops of one origin form a chain, so only the last of each origin can be maximal.
  const last = new Map<string, WindowEntry>();
  for (const e of set) {
    const prev = last.get(e.dot.origin);
    if (prev === undefined || e.dot.seq > prev.dot.seq) last.set(e.dot.origin, e);
  }
  const candidates = [...last.values()];
  return candidates.filter((c) => !candidates.some((d) => d !== c && covers(d.deps, c.dot)));
}

const emptyWindow: readonly WindowEntry[] = Object.freeze([]);

function hasDot(dots: readonly Dot[] | undefined, d: Dot): boolean {
  return dots !== undefined && dots.some((x) => x.origin === d.origin && x.seq === d.seq);
}

/** Index of the first element of `chain` (sorted by seq) for which `pred` holds; pred is monotone. */
function firstWhere(chain: readonly WindowEntry[], pred: (e: WindowEntry) => boolean): number {
  let lo = 0;
  let hi = chain.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pred(chain[mid] as WindowEntry)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The maximal elements of the relevant entries concurrent with x. Entries of one origin form a
 * chain in seq order, and the ones concurrent with x are a contiguous run of it: after those x
 * saw (seq > x.deps[origin]) and before those that saw x (deps cover x, monotone along the
 * chain). Only the last relevant entry of each run can be maximal: O(regions × log n).
 */
function maxConcurrent(x: WindowEntry, chains: ReadonlyMap<string, readonly WindowEntry[]>, rel: Relevance, scope: string): WindowEntry[] {
  const candidates: WindowEntry[] = [];
  for (const [origin, chain] of chains) {
    if (origin === x.dot.origin) continue; // x's own origin: it saw the earlier ones, the later ones saw it
    const lo = firstWhere(chain, (y) => y.dot.seq > (x.deps[origin] ?? 0));
    const hi = firstWhere(chain, (y) => covers(y.deps, x.dot));
    for (let i = hi - 1; i >= lo; i--) {
      const y = chain[i] as WindowEntry;
      if ((x.id === undefined || y.id !== x.id) && rel.relevant(x, y, scope)) {
        candidates.push(y);
        break;
      }
    }
  }
  return maximal(candidates);
}

/**
 * Decides every entry that `stable` now covers and returns the pairs to report, plus the window
 * with finished entries removed. Returns the same array when nothing changed.
 */
export function processWindow(
  window: readonly WindowEntry[],
  stable: VersionVector,
  rel: Relevance,
): { window: readonly WindowEntry[]; pairs: DecidedPair[] } {
  if (window.length === 0) return { window, pairs: [] };
  // Fast path (the common case): a sequential window. Entries are in apply order and deps are
  // whole causal pasts, so if each entry saw the one before it, it saw all earlier ones: nothing
  // in the window is concurrent with anything else in it, and a stable entry can meet nothing
  // new. Drop the stable ones undecided; keep the rest for later.
  if (window.every((e, i) => !e.done && (i === 0 || covers(e.deps, (window[i - 1] as WindowEntry).dot)))) {
    const rest = window.filter((e) => !covers(stable, e.dot));
    return { window: rest.length === 0 ? emptyWindow : rest.length === window.length ? window : rest, pairs: [] };
  }
  const pending = window.filter((e) => !e.done && covers(stable, e.dot));
  if (pending.length === 0) return { window, pairs: [] };
  pending.sort(compareStamps);
  const entries = [...window];
  const index = new Map<string, number>(entries.map((e, i) => [`${e.dot.origin}:${e.dot.seq}`, i]));
  const chains = new Map<string, WindowEntry[]>();
  for (const e of entries) {
    const chain = chains.get(e.dot.origin);
    if (chain === undefined) chains.set(e.dot.origin, [e]);
    else chain.push(e); // apply order is seq order within an origin
  }
  const at = (d: Dot): WindowEntry => entries[index.get(`${d.origin}:${d.seq}`) as number] as WindowEntry;
  const pairs: DecidedPair[] = [];
  for (const x of pending) {
    const maxes: Record<string, readonly Dot[]> = {};
    for (const scope of rel.scopes(x)) maxes[scope] = maxConcurrent(x, chains, rel, scope).map((e) => e.dot);
    const decided: WindowEntry = { ...x, done: true, maxes };
    entries[index.get(`${x.dot.origin}:${x.dot.seq}`) as number] = decided;
    // A pair needs each in the other's maximal set, so only x's maximal entries can pair with it.
    for (const [scope, dots] of Object.entries(maxes)) {
      for (const d of dots) {
        const y = at(d);
        if (y.done && hasDot(y.maxes?.[scope], x.dot)) pairs.push({ scope, first: y, second: decided });
      }
    }
  }
  // An entry is finished once decided and no undecided entry is concurrent with it.
  const undecided = entries.filter((e) => !e.done);
  const kept = entries.filter((e) => !e.done || undecided.some((y) => concurrent(e, y)));
  return { window: kept, pairs };
}
