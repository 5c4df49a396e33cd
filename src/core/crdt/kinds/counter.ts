/**
 * The counter kind: increments that all count (../counter.ts). `set` resets it to an integer,
 * `incr` adds; concurrent writes never conflict.
 */
import { badRequest, fail, ok } from '../../errors.js';
import { limits } from '../../limits.js';
import { assert } from '../../util/assert.js';
import { canonicalJson } from '../../util/json.js';
import { compactCounter, counterPresent, counterValue, emptyCounter, incrCounter, mergeCounters, resetCounter, type CounterState } from '../counter.js';
import type { FieldKind } from './kind.js';

const isSafe = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);


export const counterKind: FieldKind<CounterState> = {
  tag: 'counter',
  name: 'counter',
  types: ['counter'],
  ops: {
    incr: {
      parse: (where, v) => (isSafe(v) ? ok({ k: 'incr', delta: v }) : fail(badRequest(where, `an increment is a safe integer, not ${JSON.stringify(v) ?? String(v)}`))),
      malformed: (c) => !isSafe(c['delta']),
    },
  },
  empty: emptyCounter,

  parseSet: (where, value) => (isSafe(value) ? ok({ k: 'set', value }) : fail(badRequest(where, 'a counter is set to a safe integer (use incr to add)'))),
  compareProblem: (field, _ordering, value) => (value !== null && !isSafe(value) ? { at: 'value', message: `${field} is a counter: compare it with an integer` } : null),
  localProblem(s, change, field) {
    if (change.k !== 'incr') return null;
    const current = s !== undefined ? counterValue(s) : 0;
    if (Number.isSafeInteger(current + change.delta)) return null;
    return badRequest(`incr.${field}`, `the counter would leave the safe-integer range (±${limits.counterAbsMax})`);
  },

  apply(s, change, op, id) {
    if (change.k === 'unset') return resetCounter(s, op.deps);
    assert(change.k === 'incr' || (change.k === 'set' && typeof change.value === 'number'), () => `change ${change.k} on a counter field`);
    const delta = change.k === 'incr' ? change.delta : (change.value as number);
    const part = id === undefined ? { dot: op.dot, delta } : { dot: op.dot, id, deps: op.deps, delta };
    return incrCounter(change.k === 'set' ? resetCounter(s, op.deps) : s, part);
  },
  reset: (s, ctx) => resetCounter(s, ctx),
  hasContent: (s) => counterPresent(s),
  merge: (a, ctxA, b, ctxB) => mergeCounters(a, ctxA, b, ctxB),
  keepDots: (s, keep) => ({ ...s, parts: s.parts.filter((p) => keep(p.dot)) }),
  compact: (s, _t, stable) => compactCounter(s, stable),
  value: (s) => (counterPresent(s) ? counterValue(s) : undefined),

  conflictRule: () => null,

  applyPlain(current, change, where, field) {
    if (change.k === 'set') return ok(change.value);
    assert(change.k === 'incr', () => `change ${change.k} on a counter field`);
    if (current !== undefined && typeof current !== 'number') return fail(badRequest(where, `${field} holds ${canonicalJson(current)}, not a number`));
    const next = (current ?? 0) + change.delta;
    if (!Number.isSafeInteger(next)) return fail(badRequest(where, `the counter would leave the safe-integer range (±${limits.counterAbsMax})`));
    return ok(next);
  },
};
