/**
 * The register kind: `lww` fields (the greatest head wins) and `merge:<name>` fields (every head
 * goes to the application's merge function). Its CRDT is ../register.ts; concurrent writes of a
 * register field are the write-write conflicts of the conflict feed.
 */
import { covers } from '../../clock/version-vector.js';
import { ok } from '../../errors.js';
import { assert } from '../../util/assert.js';
import { compactLww, emptyRegister, lwwValue, mergeRegisters, mergeValue, removeRegister, writeRegister, type RegisterState } from '../register.js';
import type { FieldKind } from './kind.js';

/** The prefix of merge field types: `merge:<name>` names a registered merge function. */
/**
 * The types this kind takes: lww, and every merge:<name> (registry.ts matches the prefix). Tested
 * here rather than with policy.ts's isMergeType: policy.ts loads the registry, which loads this.
 */
const mergePrefix = 'merge:';


export const registerKind: FieldKind<RegisterState> = {
  tag: 'reg',
  name: 'lww',
  types: ['lww', mergePrefix],
  ops: {},
  empty: emptyRegister,

  parseSet: (_where, value) => ok({ k: 'set', value }),
  compareProblem: () => null,
  localProblem: () => null,

  apply(s, change, op, id) {
    if (change.k === 'set') return writeRegister(s, { dot: op.dot, hlc: op.hlc, value: change.value, id }, op.deps);
    assert(change.k === 'unset', () => `change ${change.k} on a register field (validation should have refused it)`);
    return writeRegister(s, { dot: op.dot, hlc: op.hlc, id }, op.deps);
  },
  reset: (s, ctx) => removeRegister(s, ctx),
  hasContent: (s) => s.heads.length > 0,
  merge: (a, ctxA, b, ctxB) => mergeRegisters(a, ctxA, b, ctxB),
  keepDots: (s, keep) => ({ t: 'reg', heads: s.heads.filter((h) => keep(h.dot)) }),
  compact(s, t, stable) {
    if (t.startsWith(mergePrefix)) {
      // Siblings all feed the merge function, so only stable unsets (which feed nothing) go.
      const heads = s.heads.filter((h) => h.value !== undefined || !covers(stable, h.dot));
      if (heads.length === 0) return null;
      return heads.length === s.heads.length ? s : { t: 'reg', heads };
    }
    const next = compactLww(s, stable);
    const only = next.heads.length === 1 ? next.heads[0] : undefined;
    if (only !== undefined && only.value === undefined && covers(stable, only.dot)) return null;
    return next;
  },
  value(s, t, merge) {
    if (!t.startsWith(mergePrefix)) return lwwValue(s);
    const name = t.slice(mergePrefix.length);
    const fn = Object.hasOwn(merge, name) ? merge[name] : undefined;
    assert(fn !== undefined, () => `merge function ${name} is not registered`);
    return mergeValue(s, fn);
  },

  // The feed names the field's type as the rule: lww, or the merge function that reconciles.
  conflictRule: (t) => t,

  applyPlain(_current, change) {
    assert(change.k === 'set', () => `change ${change.k} on a register field (validation should have refused it)`);
    return ok(change.value);
  },
};
