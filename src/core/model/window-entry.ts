/**
 * An entry of a conflict window (src/core/replica/window.ts decides them): one recent op on a row
 * or on a unique value, as storage keeps it beside the row.
 */
import type { Hlc } from '../clock/hlc.js';
import type { Dot, VersionVector } from '../clock/version-vector.js';
import type { LoserWrite } from './conflict.js';

export interface WindowEntry {
  readonly dot: Dot;
  readonly hlc: Hlc;
  readonly deps: VersionVector;
  /** Identity shared with copies of one idempotent write (which never conflict with each other); absent: only itself. */
  readonly id?: string;
  /** Row windows: true for a delete. */
  readonly del: boolean;
  /** Row windows: the lww and merge fields the write set or unset. */
  readonly fields: readonly string[];
  /** Claim windows: the row that claimed the value. */
  readonly rowKey?: string;
  /** The lease epoch of a guarded op (copied into its conflict-feed references). */
  readonly epoch?: number;
  /**
   * What the op wrote, for its conflict-feed reference when it loses: row windows the whole op
   * (`patch` or `delete`), claim windows the claimed value. Absent in entries stored before
   * losers carried it: the loser's `wrote` is then unknown (left out).
   */
  readonly wrote?: LoserWrite;
  /**
   * Row windows, only when `wrote` is truncated: what the op wrote to each of `fields` (a
   * write-write loser shows its own field, which may fit where the whole patch did not).
   */
  readonly fieldWrote?: Readonly<Record<string, LoserWrite>>;
  /** Decided: causally stable and its maximal concurrent sets computed. */
  readonly done: boolean;
  /** Per scope, the maximal elements of the relevant ops concurrent with this one (when done). */
  readonly maxes: Readonly<Record<string, readonly Dot[]>> | null;
}
