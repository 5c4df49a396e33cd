/**
 * One interface per field kind (issue 20): everything the rest of the core needs to know about a
 * kind of field (register, counter, set, ...) lives behind it, so adding a kind is a new file and
 * one registration line (registry.ts) instead of a switch in every layer. A kind's state carries
 * its tag `t`; the registry dispatches stored states by that tag and policy types by name.
 *
 * Methods (not function properties) on purpose: the registry holds every kind as a
 * FieldKind<FieldState>, and hands each kind only states that carry its own tag.
 */
import type { Dot, VersionVector } from '../../clock/version-vector.js';
import type { Result, TernError } from '../../errors.js';
import type { FieldChange, Op } from '../../model/op.js';
import type { FieldType } from '../../schema/policy.js';
import type { JsonValue } from '../../util/json.js';
import type { MergeRegistry } from '../merge-registry.js';

/** A change a kind adds to the write vocabulary beyond `set` and `unset`, which every kind takes. */
export type KindOp = Exclude<FieldChange['k'], 'set' | 'unset'>;

/** One of a kind's own ops (a PATCH group such as `incr`). */
export interface OpSpec {
  /** The change a client's `value` for one field makes, or the error naming `where`. */
  parse(where: string, value: unknown): Result<FieldChange>;
  /** True when a change of this op from a peer is malformed (peer-message.ts). */
  malformed(c: Readonly<Record<string, unknown>>): boolean;
}

export interface FieldKind<S extends { readonly t: string }> {
  /** The tag of this kind's states: part of the stored encoding, never to change. */
  readonly tag: S['t'];
  /** What errors call a field of this kind ("incr needs a counter field"). */
  readonly name: string;
  /** The policy type names of this kind, in the order errors list them; one ending in ':' is a prefix (merge:<name>). */
  readonly types: readonly string[];
  /** This kind's own ops, in the order PATCH bodies list them. */
  readonly ops: { readonly [K in KindOp]?: OpSpec };
  /** The state of a field nothing has written. */
  readonly empty: S;

  /** The change a `set` of `value` (already checked to be JSON) makes, or the error naming `where`. */
  parseSet(where: string, value: JsonValue): Result<FieldChange>;
  /** Why a transaction may not compare this field with `value` (ordering: <, <=, >, >=), and which part is at fault. */
  compareProblem(field: string, ordering: boolean, value: JsonValue): { readonly at: 'op' | 'value'; readonly message: string } | null;
  /** Why a local write's change (validated) cannot apply to the field's current state `s`, if any. */
  localProblem(s: S | undefined, change: FieldChange, field: string): TernError | null;

  /** A write op's change to this field; `id` is the op's shared identity (copies of one idempotent write). */
  apply(s: S, change: FieldChange, op: Op, id: string | undefined): S;
  /** Removes what a delete (under update-wins) with causal context `ctx` observed. */
  reset(s: S, ctx: VersionVector): S;
  /** False when the state holds nothing worth storing (the field is then dropped from the row). */
  hasContent(s: S): boolean;
  /** State merge with the two replicas' causal contexts (their applied vectors). */
  merge(a: S, ctxA: VersionVector, b: S, ctxB: VersionVector): S;
  /** The state with only the writes whose dot `keep` accepts (row merge under delete-wins). */
  keepDots(s: S, keep: (d: Dot) => boolean): S;
  /** Drops metadata below the causally stable vector; null when nothing remains. Never changes `value`. */
  compact(s: S, t: FieldType, stable: VersionVector): S | null;
  /** What clients read, or undefined when the field has no content. */
  value(s: S, t: FieldType, merge: MergeRegistry): JsonValue | undefined;

  /**
   * The rule a write-write conflict on a field of type `t` names in the conflict feed, or null
   * when concurrent writes of the kind all count and never conflict.
   */
  conflictRule(t: FieldType): string | null;

  /**
   * A strong table's change (validated; not `unset`, which drops any field) to the field's plain
   * value: the new value, undefined to drop the field, or the error naming `where`.
   */
  applyPlain(current: JsonValue | undefined, change: FieldChange, where: string, field: string): Result<JsonValue | undefined>;
}
