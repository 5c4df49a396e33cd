/**
 * Ops: the unit of replication for async tables (docs/internals/semantics.md, "Ops and causality").
 * Every accepted write becomes one op, named by its dot, stamped with an HLC and with the origin's
 * version vector at write time (its causal dependencies). Replicas apply ops in causal order, so
 * `deps` is also the op's causal context: everything the op "saw".
 */
import type { Hlc } from '../clock/hlc.js';
import type { Dot, RegionId, VersionVector } from '../clock/version-vector.js';
import type { JsonScalar, JsonValue } from '../util/json.js';
import { hash64 } from '../util/hash.js';
import { canonicalJson } from '../util/json.js';
import type { WriteResult } from './row-view.js';

/** One field's change inside a write. A field appears at most once per write. */
export type FieldChange =
  /** lww/merge: the new value. counter: reset to this integer. set: replace with these elements. */
  | { readonly k: 'set'; readonly value: JsonValue }
  /** Remove the field's observed content. */
  | { readonly k: 'unset' }
  /** counter only. */
  | { readonly k: 'incr'; readonly delta: number }
  /** set only. */
  | { readonly k: 'add'; readonly elems: readonly JsonScalar[] }
  /** set only: removes the observed adds of these elements (add-wins against concurrent adds). */
  | { readonly k: 'remove'; readonly elems: readonly JsonScalar[] };

/** The idempotency stamp an op carries when its write had an Idempotency-Key. */
export interface IdemStamp {
  readonly key: string;
  /** Digest of the canonical request (method, table, key, body); another body under the same key is refused. */
  readonly digest: string;
  /** The answer given at the origin, returned verbatim to every retry in any region. */
  readonly result: WriteResult;
}

/**
 * The fencing token a guarded op carries (docs/internals/failover.md): the lease slot it was
 * written under (the region whose rows it writes), that slot's epoch, and the strong-log position
 * the writer had applied. A replica applies it once its own strong log has reached `at`, and only if
 * the writer held the slot under `epoch` there; every replica decides the same.
 */
export interface FenceStamp {
  readonly slot: RegionId;
  readonly epoch: number;
  readonly at: number;
}

export interface Op {
  readonly dot: Dot;
  readonly hlc: Hlc;
  /** The origin's applied vector just before this op; deps[origin] === dot.seq - 1. */
  readonly deps: VersionVector;
  readonly table: string;
  readonly key: string;
  readonly kind: 'write' | 'delete';
  /** Field changes of a write, in field-name order; empty for a delete. */
  readonly changes: Readonly<Record<string, FieldChange>>;
  readonly idem?: IdemStamp;
  /** Set on guarded ops (rows of home tables, and tables with whenIsolated: reject). */
  readonly fence?: FenceStamp;
  /**
   * Set on an orphan report (replica/orphans.ts): this op carries, as data, a write its origin made
   * before its eviction that no other region received. It is applied as nothing everywhere and
   * listed in the conflict feed as an `orphaned-write`; the write itself is never applied.
   */
  readonly orphaned?: OrphanStamp;
}

/** The orphaned write's own dot and HLC, and its idempotency key (so the application can re-apply it deliberately, once). */
export interface OrphanStamp {
  readonly dot: Dot;
  readonly hlc: Hlc;
  readonly idempotencyKey?: string;
}

/**
 * The identity under which an op's effects are deduplicated. Ops carrying the same idempotency
 * key and digest are copies of one logical write (a retry that landed in another region before
 * the original replicated there): counters count them once, merge siblings show them once, and
 * they never conflict with each other. Other ops are identified by their dot.
 */
export function opIdentity(op: Pick<Op, 'dot' | 'idem'>): string {
  return op.idem ? idemIdentity(op.idem.key, op.idem.digest) : `d:${op.dot.origin}:${op.dot.seq}`;
}

/**
 * The identity an op shares with its copies, or undefined when it has none (an op without an
 * idempotency key is only itself). The engine stores this on the hot path instead of a dot string.
 */
export function sharedIdentity(op: Pick<Op, 'idem'>): string | undefined {
  return op.idem ? idemIdentity(op.idem.key, op.idem.digest) : undefined;
}

export function idemIdentity(key: string, digest: string): string {
  return `k:${hash64(key + '\u0000' + digest)}`;
}

/**
 * An op's approximate encoded size in bytes: enough to bound replication messages, cheap enough
 * to compute for every op sent.
 */
export function approxOpBytes(op: Op): number {
  let n = 160 + op.key.length + op.table.length;
  for (const name in op.changes) {
    const c = op.changes[name] as FieldChange;
    n += name.length + 8;
    if (c.k === 'set') n += canonicalJson(c.value).length;
    else if (c.k === 'add' || c.k === 'remove') n += canonicalJson(c.elems).length;
  }
  if (op.fence !== undefined) n += 48;
  if (op.orphaned !== undefined) n += 64 + (op.orphaned.idempotencyKey?.length ?? 0);
  if (op.idem !== undefined) n += op.idem.key.length + 32 + (op.idem.result.row === null ? 0 : canonicalJson(op.idem.result.row.fields).length);
  return n;
}
