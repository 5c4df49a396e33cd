/**
 * The field kinds, one registration line each. Everything that depends on a field's kind looks
 * it up here: by policy type (`kindOf`), by the tag of a stored state (`kindOfState`), or by a
 * change (`kindOfChange`). Order matters only for messages and PATCH groups, which list the
 * kinds' types and ops in this order.
 */
import { assert } from '../../util/assert.js';
import type { FieldChange } from '../../model/op.js';
import type { FieldType } from '../../schema/policy.js';
import type { FieldKind, KindOp, OpSpec } from './kind.js';
import { counterKind } from './counter.js';
import { registerKind } from './register.js';
import { setKind } from './set.js';

export const fieldKinds = [
  registerKind,
  counterKind,
  setKind,
] as const;

type StateOf<K> = K extends FieldKind<infer S> ? S : never;

/** The state of one field of a row, of whichever kind. */
export type FieldState = StateOf<(typeof fieldKinds)[number]>;

export type AnyKind = FieldKind<FieldState>;

/** The kind of fields whose type no kind names: undeclared fields are `lww`. */
const defaultKind: AnyKind = registerKind;

const byTag = new Map<string, AnyKind>();
const byType = new Map<string, AnyKind>();
const byPrefix: Array<readonly [string, AnyKind]> = [];
const byOp = new Map<string, { readonly kind: AnyKind; readonly spec: OpSpec }>();
for (const kind of fieldKinds as readonly AnyKind[]) {
  assert(!byTag.has(kind.tag), () => `two field kinds use the state tag ${kind.tag}`);
  byTag.set(kind.tag, kind);
  for (const t of kind.types) {
    if (t.endsWith(':')) byPrefix.push([t, kind]);
    else byType.set(t, kind);
  }
  for (const [op, spec] of Object.entries(kind.ops) as Array<[KindOp, OpSpec]>) {
    assert(!byOp.has(op), () => `two field kinds take the op ${op}`);
    byOp.set(op, { kind, spec });
  }
}

/** The PATCH groups, in the order bodies are read and errors list them: set, unset, then the kinds' ops. */
export const patchGroups: readonly ('set' | 'unset' | KindOp)[] = ['set', 'unset', ...(byOp.keys() as Iterable<KindOp>)];

/** The field types a policy may declare, as errors list them ("lww, counter, set or merge:<name>"). */
export const fieldTypeNames: readonly string[] = [...byType.keys(), ...byPrefix.map(([p]) => `${p}<name>`)];

/** True when `t` is a kind's type by its whole name (prefixed types, merge:<name>, are the policy's to check). */
export function isKindTypeName(t: string): boolean {
  return byType.has(t);
}

export function kindOf(t: FieldType): AnyKind {
  return byType.get(t) ?? byPrefix.find(([p]) => t.startsWith(p))?.[1] ?? defaultKind;
}

export function kindOfState(s: FieldState): AnyKind {
  const kind = byTag.get(s.t);
  assert(kind !== undefined, () => `field state with unknown tag ${String(s.t)}`);
  return kind;
}

/** The kind that takes `op` (incr, add, ...), or undefined for no op of any kind. */
export function opOwner(op: string): { readonly kind: AnyKind; readonly spec: OpSpec } | undefined {
  return byOp.get(op);
}

/** The kind that applies `change` to a field of type `t`: set and unset are the field's; an op is its owner's. */
export function kindOfChange(t: FieldType, change: FieldChange): AnyKind {
  if (change.k === 'set' || change.k === 'unset') return kindOf(t);
  return (byOp.get(change.k) as { kind: AnyKind }).kind;
}
