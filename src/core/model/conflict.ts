/**
 * Conflict feed entries: every resolved conflict, with the same id in every region.
 */
import type { Dot } from '../clock/version-vector.js';
import { hash64 } from '../util/hash.js';

/** A reference to one op inside a conflict entry. */
export interface OpRef {
  readonly region: string;
  readonly seq: number;
  readonly hlc: string;
  /** The row key, for insert-insert conflicts (the rows differ). */
  readonly key?: string;
  /** The write lease epoch a guarded op was written under (home-with-failover collisions show both sides'). */
  readonly epoch?: number;
}

/**
 * `fenced-write`: a guarded op whose writer no longer held the slot's epoch at the strong-log
 * position it was written at; it is applied as nothing everywhere, and listed as the loser.
 */
export type ConflictKind = 'write-write' | 'delete-update' | 'insert-insert' | 'fenced-write';

/**
 * One resolved conflict. The id is a function of (kind, table, key, field, winner) only, so every
 * region computes the same id; `losers` accumulates as pairs are decided and ends identical
 * everywhere (docs/internals/replication.md, "Conflicts").
 */
export interface ConflictEntry {
  readonly id: string;
  readonly table: string;
  readonly key: string;
  /** The field, for write-write and insert-insert; null for delete-update and fenced-write. */
  readonly field: string | null;
  readonly kind: ConflictKind;
  /** 'lww', 'merge:<name>', 'delete-wins', 'update-wins', 'first-writer-wins' or 'fencing'. */
  readonly rule: string;
  readonly winner: OpRef;
  /** Sorted by (region, seq); at most limits.conflictLosersMax are listed. */
  readonly losers: readonly OpRef[];
  /** How many losers there are in all (can exceed losers.length). */
  readonly loserCount: number;
  /** Regions of the winner and losers, sorted. */
  readonly regions: readonly string[];
}

/** The conflict feed id: a function of what was decided, so every region computes the same one. */
export function conflictId(kind: ConflictKind, table: string, key: string, field: string | null, winner: Dot): string {
  return hash64([kind, table, key, field ?? '', winner.origin, String(winner.seq)].join('\u0000'));
}

