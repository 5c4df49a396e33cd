/**
 * What clients see of rows and writes: the shared vocabulary of the async replica, the strong
 * group and the API.
 */
import type { Dot } from '../clock/version-vector.js';
import type { JsonValue } from '../util/json.js';

/** A row as clients see it. `fields` holds only fields with content. */
export interface RowView {
  readonly key: string;
  readonly fields: Readonly<Record<string, JsonValue>>;
  /** Text form of the highest HLC applied to the row (changes whenever the row does). */
  readonly version: string;
}

/** What a successful write answers (and what an idempotency record stores). */
export interface WriteResult {
  readonly dot: Dot;
  /** The row after the write; null after a delete or when the write left no visible row. */
  readonly row: RowView | null;
}
