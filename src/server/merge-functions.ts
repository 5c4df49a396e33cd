/**
 * Merge functions a region node offers to `merge:<name>` fields. Each receives the concurrent
 * versions in op order and must be deterministic: every region calls it on the same siblings.
 */
import type { MergeRegistry } from '../core/crdt/merge-registry.js';
import { canonicalJson, type JsonValue } from '../core/util/json.js';

const byCanonical = (a: JsonValue, b: JsonValue) => {
  const x = canonicalJson(a);
  const y = canonicalJson(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

export const builtinMergeFunctions: MergeRegistry = {
  /** The greatest number among the siblings (non-numbers ignored; null when none). */
  max: (xs) => xs.reduce<JsonValue>((m, x) => (typeof x === 'number' && (typeof m !== 'number' || x > m) ? x : m), null),
  /** The least number among the siblings. */
  min: (xs) => xs.reduce<JsonValue>((m, x) => (typeof x === 'number' && (typeof m !== 'number' || x < m) ? x : m), null),
  /** The union of array siblings (scalars are treated as one-element arrays), sorted. */
  union: (xs) => {
    const all = new Map<string, JsonValue>();
    for (const x of xs) for (const e of Array.isArray(x) ? (x as JsonValue[]) : [x]) all.set(canonicalJson(e), e);
    return [...all.values()].sort(byCanonical);
  },
  /** Every sibling, in op order: the application resolves on read. */
  siblings: (xs) => [...xs],
  /** The longest string (ties: the greatest); non-strings compare by their JSON. */
  longest: (xs) => {
    let best: JsonValue = null;
    let bestText = '';
    for (const x of xs) {
      const text = typeof x === 'string' ? x : canonicalJson(x);
      if (best === null || text.length > bestText.length || (text.length === bestText.length && text > bestText)) {
        best = x;
        bestText = text;
      }
    }
    return best;
  },
};
