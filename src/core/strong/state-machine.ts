/**
 * The strong state machine: what every node applies from the Raft log, in log order. Applying the
 * same entries gives every node the same rows, idempotency records, table policies, write
 * leases and unique claims; it depends on nothing but the entries (no clock, no randomness).
 *
 * State lives in memory and is rebuilt on start from the latest snapshot plus the log (Raft's own
 * durability covers it); snapshots are taken every so many entries so the log stays short.
 */
import { compareKeys } from '../util/key-order.js';
import { ternError, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import { fieldType, type TablePolicy } from '../schema/policy.js';
import { canonicalJson, utf8Length, type JsonScalar, type JsonValue } from '../util/json.js';
import { kindOfChange } from '../crdt/kinds/registry.js';
import { sortedScalars } from '../crdt/kinds/set.js';
import type { ApplyResult, Compare, StrongCommand, StrongRow, Txn, TxnIdem, TxnOp, TxnOutcome } from './types.js';
import { alterProblem } from './table-change.js';
import { LeaseTable, type LeaseCommandBody, type LeaseTableData } from './lease-table.js';
import { Membership, type MembershipData } from './membership.js';
import { AccessTable, type AccessData } from './access-table.js';
import { drainProblem } from './drain-rules.js';
import type { RowView } from '../model/row-view.js';

interface IdemEntry {
  readonly digest: string;
  readonly result: ApplyResult;
  readonly createdMs: number;
}

/** Everything the state machine holds, as plain data (a Raft snapshot's payload). */
export interface StrongSnapshotData {
  readonly index: number;
  readonly wallMs: number;
  readonly rows: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, StrongRow]>]>;
  readonly idem: ReadonlyArray<readonly [string, IdemEntry]>;
  /** Tables created or altered through the log (they override the configuration file). */
  readonly tables: Readonly<Record<string, TablePolicy>>;
  readonly leases: LeaseTableData;
  readonly claims: ReadonlyArray<readonly [string, Claim]>;
  readonly forwarded: ReadonlyArray<readonly [string, { readonly wallMs: number; readonly seqs: ReadonlyArray<readonly [number, number]> }]>;
  /** Evictions from causal stability (absent in snapshots taken before they existed). */
  readonly membership?: MembershipData;
  /** Users and roles (absent in snapshots taken before they existed). */
  readonly access?: AccessData;
}

/** How long forwarded commands are remembered per origin (limits.forwardedRetentionMs says why); src/server/config.ts reads it here. */
export const forwardedRetentionMs = limits.forwardedRetentionMs;
/** Origins remembered at most; the state machine applies it, so it is the same on every node (limits.ts). */
const forwardedOriginsMax = limits.forwardedOriginsMax;

export function claimId(table: string, field: string, value: JsonValue): string {
  return `${table}\u0000${field}\u0000${canonicalJson(value)}`;
}

/** Who holds a unique value, and the log index of the latest claim they made on it. */
export interface Claim {
  readonly key: string;
  readonly index: number;
  readonly value: JsonValue;
}

function holderId(table: string, field: string, key: string): string {
  return `${table}\u0000${field}\u0000${key}`;
}

export function strongRowView(key: string, row: StrongRow | undefined): RowView | null {
  return row === undefined ? null : { key, fields: row.fields, version: String(row.version) };
}

function compareValues(current: JsonValue, op: Compare & { kind: 'field' | 'version' }): boolean {
  const target = op.value;
  if (op.op === '==' || op.op === '!=') {
    const a = Array.isArray(current) && Array.isArray(target) ? canonicalJson(sortedScalars(current as JsonScalar[])) : canonicalJson(current);
    const b = Array.isArray(current) && Array.isArray(target) ? canonicalJson(sortedScalars(target as JsonScalar[])) : canonicalJson(target);
    return (a === b) === (op.op === '==');
  }
  // Ordering compares numbers with numbers and strings with strings; anything else is false.
  if (!((typeof current === 'number' && typeof target === 'number') || (typeof current === 'string' && typeof target === 'string'))) return false;
  switch (op.op) {
    case '<':
      return current < target;
    case '<=':
      return current <= target;
    case '>':
      return current > target;
    default:
      return current >= target;
  }
}

/**
 * A write may not leave a strong row with more than limits.fieldsPerRowMax fields, unless it adds
 * none (as async rows: docs/api.md, "Limits"). Applied in log order, the same on every node.
 */
function tooManyFields(before: Readonly<Record<string, JsonValue>>, op: TxnOp & { kind: 'write' }, after: Readonly<Record<string, JsonValue>>, where: string): TernError | null {
  const count = Object.keys(after).length;
  if (count <= limits.fieldsPerRowMax || count <= Object.keys(before).length) return null;
  const added = Object.keys(op.changes).find((f) => Object.hasOwn(after, f) && !Object.hasOwn(before, f));
  const field = added === undefined ? where : `${where}.${op.changes[added]?.k ?? 'set'}.${added}`;
  return ternError('TOO_LARGE', `${field}: the row would have ${count} fields, more than fieldsPerRowMax (${limits.fieldsPerRowMax}); unset some, or keep wide data in more rows`, { field });
}

export class StrongState {
  /** The index of the last entry applied. */
  index = 0;
  /**
   * Entries applied that were the regions' own write-lease commands (renewals come every renewMs):
   * index − leaseEntries moves only for what clients and operators asked, and leader no-ops.
   * Counted from this node's start or last snapshot install.
   */
  leaseEntries = 0;
  /** The latest proposer time seen: idempotency records expire by it. */
  wallMs = 0;
  readonly #rows = new Map<string, Map<string, StrongRow>>();
  /** In creation order (wallMs is monotone), so expiry pops from the front. */
  readonly #idem = new Map<string, IdemEntry>();
  readonly #tables = new Map<string, TablePolicy>();
  #tablesView: Readonly<Record<string, TablePolicy>> | null = null;
  readonly leases = new LeaseTable();
  readonly membership: Membership;
  readonly access = new AccessTable();
  readonly #claims = new Map<string, Claim>();
  /** (table, field, key) → the claim ids that key holds: what a release looks through. */
  readonly #held = new Map<string, Set<string>>();
  /** origin → its last activity and seq → when applied (log time), in applying order. */
  readonly #forwarded = new Map<string, { wallMs: number; seqs: Map<number, number> }>();
  readonly #baseTables: Readonly<Record<string, TablePolicy>>;
  readonly #idemRetentionMs: number;

  /** `baseTables` are the configuration file's; the log's table commands override them. */
  constructor(baseTables: Readonly<Record<string, TablePolicy>>, idemRetentionMs: number, regions: readonly string[] = []) {
    this.#baseTables = baseTables;
    this.#idemRetentionMs = idemRetentionMs;
    this.membership = new Membership(regions);
  }

  /** Every table's effective policy: the configuration's, overridden by the log. */
  tables(): Readonly<Record<string, TablePolicy>> {
    // Asked on every request (routing, validation): built once per change of the tables.
    if (this.#tablesView === null) {
      const out: Record<string, TablePolicy> = { ...this.#baseTables };
      for (const [name, p] of this.#tables) out[name] = p;
      this.#tablesView = Object.freeze(out);
    }
    return this.#tablesView;
  }

  policy(table: string): TablePolicy | undefined {
    return this.#tables.get(table) ?? (Object.hasOwn(this.#baseTables, table) ? this.#baseTables[table] : undefined);
  }

  get(table: string, key: string): StrongRow | undefined {
    return this.#rows.get(table)?.get(key);
  }

  /** Rows of `table` in key order after `after` and with `prefix`, at most `limit`. */
  scan(table: string, options: { prefix?: string; after?: string; limit: number }): Array<readonly [string, StrongRow]> {
    const rows = this.#rows.get(table);
    if (rows === undefined) return [];
    const keys = [...rows.keys()].filter((k) => (options.prefix === undefined || k.startsWith(options.prefix)) && (options.after === undefined || compareKeys(k, options.after) > 0));
    keys.sort(compareKeys);
    return keys.slice(0, options.limit).map((k) => [k, rows.get(k) as StrongRow] as const);
  }

  claimHolder(table: string, field: string, value: JsonValue): string | undefined {
    return this.#claims.get(claimId(table, field, value))?.key;
  }

  #setClaim(table: string, field: string, c: Claim): void {
    this.#claims.set(claimId(table, field, c.value), c);
    const h = holderId(table, field, c.key);
    let set = this.#held.get(h);
    if (set === undefined) this.#held.set(h, (set = new Set()));
    set.add(claimId(table, field, c.value));
  }

  rowCount(): number {
    let n = 0;
    for (const rows of this.#rows.values()) n += rows.size;
    return n;
  }

  /** Applies the entry at `index` (null data: a leader's no-op). */
  apply(index: number, command: StrongCommand | null): ApplyResult | null {
    if (index <= this.index) return null; // already in the state (a replay after restart)
    this.index = index;
    if (command === null) return null;
    this.wallMs = Math.max(this.wallMs, command.wallMs);
    this.#expireIdem();
    if (command.from !== undefined && !this.#firstCopy(command.from.origin, command.from.seq)) return null;
    switch (command.t) {
      case 'txn':
        return this.#applyTxn(index, command.txn, command.idem);
      case 'table': {
        const problem = alterProblem(command.table, this.policy(command.table), command.policy);
        if (problem !== null) return { ok: false, error: problem };
        this.#tables.set(command.table, command.policy);
        this.#tablesView = null;
        return { ok: true, kind: 'table', table: command.table, policy: command.policy };
      }
      case 'lease': {
        // Drains and undrains are the operator's, not the regions' own lease traffic.
        if (command.op === 'drain' || command.op === 'undrain') {
          const refused = command.op === 'drain' ? this.#unsafeDrain(command) : null;
          if (refused !== null) return { ok: false, error: refused };
        } else this.leaseEntries++;
        const { granted, slot } = this.leases.apply(index, command);
        return { ok: true, kind: 'lease', op: command.op, granted, slot: command.slot, lease: slot };
      }
      case 'evict':
      case 'evict-ack':
      case 'readmit':
      case 'readmit-ack':
        return { ok: true, kind: 'membership', ...this.membership.apply(index, command) };
      case 'access': {
        const r = this.access.apply(index, command);
        return 'code' in r ? { ok: false, error: r } : { ok: true, kind: 'access', changed: r.changed };
      }
      case 'claim': {
        const holder = this.#claims.get(claimId(command.table, command.field, command.value));
        if (holder !== undefined && holder.key !== command.key) return { ok: true, kind: 'claim', granted: false, holder: holder.key };
        // A claim by the holder again moves its index on: releases fenced below it leave it be.
        this.#setClaim(command.table, command.field, { key: command.key, index, value: command.value });
        return { ok: true, kind: 'claim', granted: true, holder: command.key };
      }
      case 'release': {
        const h = holderId(command.table, command.field, command.key);
        const ids = this.#held.get(h);
        const keep = command.keep === null ? null : claimId(command.table, command.field, command.keep);
        let released = 0;
        for (const id of ids ?? []) {
          const c = this.#claims.get(id);
          if (id === keep || c === undefined || c.index > command.upTo) continue;
          this.#claims.delete(id);
          ids?.delete(id);
          released++;
        }
        if (ids?.size === 0) this.#held.delete(h);
        return { ok: true, kind: 'release', released };
      }
    }
  }

  /**
   * Why a drain may not be applied at this log position: it would leave guarded rows with no region
   * to write them (src/core/strong/drain-rules.ts), against the drained flags as they stand here.
   */
  #unsafeDrain(c: Extract<LeaseCommandBody, { op: 'drain' }>): TernError | null {
    if (c.force === true || c.scope === undefined || this.leases.slot(c.slot).drained) return null;
    return drainProblem(c.slot, this.tables(), c.scope, this.leases.drainedOf(c.scope.regions));
  }

  /** True the first time (origin, seq) is applied; false for a copy. */
  #firstCopy(origin: string, seq: number): boolean {
    let o = this.#forwarded.get(origin);
    if (o === undefined) {
      if (this.#forwarded.size >= forwardedOriginsMax) {
        let oldest: string | null = null;
        let oldestMs = Infinity;
        for (const [name, x] of this.#forwarded) {
          if (x.wallMs >= oldestMs) continue;
          oldest = name;
          oldestMs = x.wallMs;
        }
        if (oldest !== null) this.#forwarded.delete(oldest);
      }
      this.#forwarded.set(origin, (o = { wallMs: this.wallMs, seqs: new Map() }));
    }
    o.wallMs = this.wallMs;
    // Forget what is older than the retention (in applying order, so from the front).
    for (const [s, at] of o.seqs) {
      if (at >= this.wallMs - forwardedRetentionMs) break;
      o.seqs.delete(s);
    }
    if (o.seqs.has(seq)) return false;
    o.seqs.set(seq, this.wallMs);
    return true;
  }

  #expireIdem(): void {
    const before = this.wallMs - this.#idemRetentionMs;
    for (const [key, e] of this.#idem) {
      if (e.createdMs >= before) break;
      this.#idem.delete(key);
    }
  }

  #applyTxn(index: number, txn: Txn, idem: TxnIdem | null): ApplyResult {
    if (idem !== null) {
      const record = this.#idem.get(idem.key);
      if (record !== undefined) {
        if (record.digest !== idem.digest) {
          return { ok: false, error: ternError('IDEMPOTENCY_MISMATCH', `Idempotency-Key ${idem.key} was used with another request body; use a new key for a new request`) };
        }
        return record.result.ok && record.result.kind === 'txn' ? { ...record.result, replayed: true } : record.result;
      }
    }
    const result = this.#executeTxn(index, txn);
    if (idem !== null) this.#idem.set(idem.key, { digest: idem.digest, result, createdMs: this.wallMs });
    return result;
  }

  /** Evaluates the compares, runs the branch on a working copy, and commits it only if every op succeeded. */
  #executeTxn(index: number, txn: Txn): ApplyResult {
    const succeeded = txn.compare.every((c) => this.#holds(c));
    const branch = succeeded ? txn.success : txn.failure;
    const name = succeeded ? 'success' : 'failure';
    const staged = new Map<string, StrongRow | null>();
    const read = (table: string, key: string): StrongRow | undefined => {
      const id = `${table}\u0000${key}`;
      return staged.has(id) ? (staged.get(id) ?? undefined) : this.get(table, key);
    };
    const results: Array<RowView | null> = [];
    for (const [i, op] of branch.entries()) {
      const id = `${op.table}\u0000${op.key}`;
      if (op.kind === 'get') {
        results.push(strongRowView(op.key, read(op.table, op.key)));
      } else if (op.kind === 'delete') {
        staged.set(id, null);
        results.push(null);
      } else {
        const next = this.#write(read(op.table, op.key), op, index, `${name}[${i}]`);
        if ('code' in next) return { ok: false, error: next };
        staged.set(id, next);
        results.push(strongRowView(op.key, next));
      }
    }
    for (const [id, row] of staged) {
      const [table, key] = id.split('\u0000') as [string, string];
      let rows = this.#rows.get(table);
      if (row === null) {
        rows?.delete(key);
        continue;
      }
      if (rows === undefined) this.#rows.set(table, (rows = new Map()));
      rows.set(key, row);
    }
    const outcome: TxnOutcome = { succeeded, results, index };
    return { ok: true, kind: 'txn', outcome, replayed: false };
  }

  #holds(c: Compare): boolean {
    const row = this.get(c.table, c.key);
    switch (c.kind) {
      case 'exists':
        return row !== undefined;
      case 'missing':
        return row === undefined;
      case 'version':
        return compareValues(row?.version ?? 0, c);
      case 'field':
        return compareValues(row !== undefined && Object.hasOwn(row.fields, c.field) ? (row.fields[c.field] as JsonValue) : null, c);
    }
  }

  /** One write op on a row, in order; an error (overflow, size) refuses the whole transaction. */
  #write(row: StrongRow | undefined, op: TxnOp & { kind: 'write' }, index: number, where: string): StrongRow | TernError {
    const policy = this.policy(op.table) as TablePolicy;
    const fields: Record<string, JsonValue> = { ...(row?.fields ?? {}) };
    for (const [f, change] of Object.entries(op.changes)) {
      // Strong rows hold plain values: an unset drops the field whatever its kind.
      if (change.k === 'unset') {
        delete fields[f];
        continue;
      }
      const current = Object.hasOwn(fields, f) ? fields[f] : undefined;
      const next = kindOfChange(fieldType(policy, f), change).applyPlain(current, change, `${where}.${change.k}.${f}`, f);
      if (!next.ok) return next.error;
      if (next.value === undefined) delete fields[f];
      else fields[f] = next.value;
    }
    const sorted: Record<string, JsonValue> = {};
    for (const name of Object.keys(fields).sort()) sorted[name] = fields[name] as JsonValue;
    const wide = tooManyFields(row?.fields ?? {}, op, sorted, where);
    if (wide !== null) return wide;
    if (utf8Length(canonicalJson(sorted)) > limits.rowBytesMax) return ternError('TOO_LARGE', `${where}: the row would exceed ${limits.rowBytesMax} bytes`, { field: where });
    return { fields: sorted, version: index };
  }

  snapshot(): StrongSnapshotData {
    return {
      index: this.index,
      wallMs: this.wallMs,
      rows: [...this.#rows.entries()].map(([t, rows]) => [t, [...rows.entries()]] as const),
      idem: [...this.#idem.entries()],
      tables: Object.fromEntries(this.#tables),
      leases: this.leases.snapshot(),
      claims: [...this.#claims.entries()],
      forwarded: [...this.#forwarded.entries()].map(([origin, o]) => [origin, { wallMs: o.wallMs, seqs: [...o.seqs.entries()] }] as const),
      membership: this.membership.snapshot(),
      access: this.access.snapshot(),
    };
  }

  restore(data: StrongSnapshotData): void {
    this.index = data.index;
    this.wallMs = data.wallMs;
    this.#rows.clear();
    for (const [t, rows] of data.rows) this.#rows.set(t, new Map(rows));
    this.#idem.clear();
    for (const [k, e] of data.idem) this.#idem.set(k, e);
    this.#tables.clear();
    for (const [t, p] of Object.entries(data.tables)) this.#tables.set(t, p);
    this.#tablesView = null;
    this.leases.restore(data.leases);
    this.#claims.clear();
    this.#held.clear();
    for (const [id, c] of data.claims) {
      const [table = '', field = ''] = id.split('\u0000');
      this.#setClaim(table, field, c);
    }
    this.#forwarded.clear();
    for (const [origin, o] of data.forwarded) this.#forwarded.set(origin, { wallMs: o.wallMs, seqs: new Map(o.seqs) });
    this.membership.restore(data.membership);
    this.access.restore(data.access);
  }
}
