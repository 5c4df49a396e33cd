/**
 * The whole visible and stored state of a replica, canonically encoded: what the convergence
 * check compares across regions ("byte-identical state and identical conflict feed").
 */
import { viewRow } from '../crdt/row.js';
import type { Storage } from '../storage/storage.js';
import { hash64 } from '../util/hash.js';
import { canonicalJson } from '../util/json.js';
import type { ReplicaConfig } from './config.js';
import { maskView } from './unique.js';
import type { ConflictEntry } from '../model/conflict.js';
import type { RowView } from '../model/row-view.js';

export interface ExportedState {
  /** Visible rows per table, in key order. */
  readonly rows: Record<string, RowView[]>;
  /** The conflict feed, sorted by id (feed positions are local and left out). */
  readonly conflicts: ConflictEntry[];
  /** hash64 of the canonical encoding of every stored row, idempotency record and feed entry. */
  readonly digest: string;
}

export function exportState(config: ReplicaConfig, storage: Storage): ExportedState {
  const rows: Record<string, RowView[]> = {};
  const stored: unknown[] = [];
  for (const table of Object.keys(config.tables).sort()) {
    const policy = config.tables[table];
    if (policy === undefined || policy.mode !== 'async') continue;
    const visible: RowView[] = [];
    for (const [key, record] of storage.scanRows(table, { limit: Number.MAX_SAFE_INTEGER })) {
      stored.push([table, key, record]);
      const view = viewRow(key, record.state, policy, config.mergeFunctions);
      if (view !== null) visible.push(maskView(storage, table, policy, view));
    }
    rows[table] = visible;
  }
  const conflicts = storage
    .conflictsAfter(0, Number.MAX_SAFE_INTEGER)
    .map((r) => r.entry)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const idem = storage.idemCreatedBefore(Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER).sort((a, b) => (a.key < b.key ? -1 : 1));
  const digest = hash64(canonicalJson({ rows: stored, idem, conflicts }));
  return { rows, conflicts, digest };
}
