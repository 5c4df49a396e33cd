/**
 * The strong state machine's vocabulary: rows of strong tables, conditional transactions
 * (docs/api.md `POST /v1/txn`, in the style of etcd's Txn), and the commands the Raft log carries.
 *
 * Strong rows have the same field model as async rows (lww, counter, set, merge:<name>), but one
 * total order of writes means no field ever has concurrent values: a strong row is plain values.
 */
import type { RegionId } from '../clock/version-vector.js';
import type { TernError } from '../errors.js';
import type { TablePolicy } from '../schema/policy.js';
import type { JsonValue } from '../util/json.js';
import type { LeaseCommandBody, LeaseOp, LeaseSlot } from './lease-table.js';
import type { MembershipCommandBody } from './membership.js';
import type { AccessCommandBody } from './access-table.js';
import type { FieldChange } from '../model/op.js';
import type { RowView } from '../model/row-view.js';

export interface StrongRow {
  /** Fields with content, in name order. */
  readonly fields: Readonly<Record<string, JsonValue>>;
  /** The log index of the latest write to the row (etcd's mod revision); compares can test it. */
  readonly version: number;
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export const compareOps: readonly CompareOp[] = ['==', '!=', '<', '<=', '>', '>='];

export type Compare =
  | { readonly kind: 'field'; readonly table: string; readonly key: string; readonly field: string; readonly op: CompareOp; readonly value: JsonValue }
  | { readonly kind: 'exists' | 'missing'; readonly table: string; readonly key: string }
  /** The row's version (0 when the row is missing). */
  | { readonly kind: 'version'; readonly table: string; readonly key: string; readonly op: CompareOp; readonly value: number };

export type TxnOp =
  | { readonly kind: 'get'; readonly table: string; readonly key: string }
  | { readonly kind: 'delete'; readonly table: string; readonly key: string }
  | { readonly kind: 'write'; readonly table: string; readonly key: string; readonly changes: Readonly<Record<string, FieldChange>> };

export interface Txn {
  readonly compare: readonly Compare[];
  readonly success: readonly TxnOp[];
  readonly failure: readonly TxnOp[];
}

/** The answer to a transaction: which branch ran, and one result per op of it. */
export interface TxnOutcome {
  readonly succeeded: boolean;
  /** The row after a write or for a get (null when missing); null for a delete. */
  readonly results: ReadonlyArray<RowView | null>;
  /** The log index the transaction was applied at: a session token for reads elsewhere. */
  readonly index: number;
}

/** The idempotency of a transaction: at most one execution per key, whichever node or leader it reaches. */
export interface TxnIdem {
  readonly key: string;
  /** Digest of the canonical request; the same key with another body is refused. */
  readonly digest: string;
}

/**
 * An entry of the strong log. `wallMs` is the proposing leader's clock, kept monotone by the
 * state machine: idempotency records expire by it, the same way on every node.
 */
export type StrongCommand = StrongCommandBody & {
  /** Set on a command forwarded by a follower: applied at most once per (origin, seq). */
  readonly from?: ForwardedFrom;
};

export interface ForwardedFrom {
  /** The forwarding node's boot: region and a random name. */
  readonly origin: string;
  readonly seq: number;
}

export type StrongCommandBody =
  | { readonly t: 'txn'; readonly txn: Txn; readonly idem: TxnIdem | null; readonly wallMs: number }
  /** Creates or alters a table (async or strong): every region applies schema changes in log order. */
  | { readonly t: 'table'; readonly table: string; readonly policy: TablePolicy; readonly wallMs: number }
  /** Region write leases and takeovers, drains and handbacks (lease-table.ts). */
  | LeaseCommandBody
  /** Evicting a region from causal stability (membership.ts). */
  | MembershipCommandBody
  /** Users and roles (access-table.ts). */
  | AccessCommandBody
  /** Claims a value of a strongly unique field of an async table for one row. */
  | { readonly t: 'claim'; readonly table: string; readonly field: string; readonly value: JsonValue; readonly key: string; readonly wallMs: number }
  /**
   * Gives back every value of `field` the row `key` holds a claim on, except `keep`, whose claim
   * was last made at or below log index `upTo` (a claim made later may belong to a write this
   * release knows nothing of; see src/core/node/unique-gate.ts for why that makes it safe).
   */
  | { readonly t: 'release'; readonly table: string; readonly field: string; readonly key: string; readonly keep: JsonValue | null; readonly upTo: number; readonly wallMs: number };

export type ApplyResult =
  | { readonly ok: true; readonly kind: 'txn'; readonly outcome: TxnOutcome; readonly replayed: boolean }
  | { readonly ok: true; readonly kind: 'table'; readonly table: string; readonly policy: TablePolicy }
  | { readonly ok: true; readonly kind: 'lease'; readonly op: LeaseOp; readonly granted: boolean; readonly slot: RegionId; readonly lease: LeaseSlot }
  | { readonly ok: true; readonly kind: 'claim'; readonly granted: boolean; readonly holder: string | null }
  | { readonly ok: true; readonly kind: 'release'; readonly released: number }
  | { readonly ok: true; readonly kind: 'membership'; readonly changed: boolean; readonly why: string | null }
  | { readonly ok: true; readonly kind: 'access'; readonly changed: boolean }
  /** Refused when applied (the same on every node): nothing changed. */
  | { readonly ok: false; readonly error: TernError };
