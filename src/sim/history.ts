/**
 * What a simulation records, for the checkers (src/sim/check). Workloads and faults produce it;
 * checkers only read it. The same shapes can be written as JSON lines by real-process tests.
 *
 * Jepsen's model: every client call is an `invoke`, then exactly one of `ok` (it
 * happened), `fail` (it certainly did not) or `info` (unknown: a timeout, a crash). An `info`
 * write may take effect at any later time, or never.
 */
import type { Dot, RegionId, VersionVector } from '../core/clock/version-vector.js';
import type { ErrorCode } from '../core/errors.js';
import type { TablePolicy } from '../core/schema/policy.js';
import type { Hlc } from '../core/clock/hlc.js';
import type { MergeRegistry } from '../core/crdt/merge-registry.js';
import type { ConflictEntry, PatchBody } from '../core/model/conflict.js';
import type { Consistency } from '../core/model/consistency.js';
import type { Op } from '../core/model/op.js';
import type { RowView } from '../core/model/row-view.js';

/** The body of a PATCH, as the client sent it (the core's PatchBody, which conflict losers also carry). */
export type WriteBody = PatchBody;

export type ClientCall =
  | { readonly f: 'write'; readonly table: string; readonly key: string; readonly body: WriteBody; readonly idempotencyKey?: string }
  | { readonly f: 'delete'; readonly table: string; readonly key: string; readonly idempotencyKey?: string }
  | {
      readonly f: 'read';
      readonly table: string;
      readonly key: string;
      readonly consistency: Consistency;
      readonly maxStalenessMs?: number;
    };

export interface WriteAck {
  readonly kind: 'write';
  /** The op that carries the write (for a replayed idempotent answer: the original op). */
  readonly dot: Dot;
  readonly row: RowView | null;
  /** The session token returned, decoded. */
  readonly token: VersionVector;
}

export interface ReadAck {
  readonly kind: 'read';
  readonly row: RowView | null;
  /** The replica's applied vector when it served the read: the read saw exactly the ops ≤ vector. */
  readonly vector: VersionVector;
  readonly token: VersionVector;
}

export type HistoryEvent =
  | {
      readonly type: 'invoke';
      readonly id: number;
      /** The client (a logical process with its own session). */
      readonly process: number;
      readonly region: RegionId;
      /** Simulated real time (not any node's skewed clock), in ms. */
      readonly timeMs: number;
      readonly call: ClientCall;
      /** The session token the client sent, decoded (empty vector when none). */
      readonly session: VersionVector;
      /** For a retry with the same idempotency key: the id of the first attempt. */
      readonly retryOf?: number;
    }
  | { readonly type: 'ok'; readonly id: number; readonly timeMs: number; readonly result: WriteAck | ReadAck }
  | { readonly type: 'fail'; readonly id: number; readonly timeMs: number; readonly code: ErrorCode }
  | { readonly type: 'info'; readonly id: number; readonly timeMs: number; readonly reason: string };

/** One region's state at the end of a run, after the heal phase. */
export interface FinalRegionState {
  readonly region: RegionId;
  readonly vector: VersionVector;
  /** Every visible row of every table, in key order: table → rows. */
  readonly rows: Readonly<Record<string, readonly RowView[]>>;
  /** The conflict feed, sorted by id. */
  readonly conflicts: readonly ConflictEntry[];
  /** Canonical encoding of the replica's whole stored state (rows with their CRDT metadata). */
  readonly stateDigest: string;
}

/** Clock facts the bounded-staleness checker needs. */
export interface ClockFacts {
  readonly maxClockOffsetMs: number;
  /** Simulated times at which any two nodes' clocks differed by more than maxClockOffsetMs. */
  readonly offsetExceeded: readonly { readonly fromMs: number; readonly toMs: number }[];
}

/** Everything a run produced, handed to every checker. */
export interface RunRecord {
  readonly regions: readonly RegionId[];
  readonly tables: Readonly<Record<string, TablePolicy>>;
  readonly mergeFunctions: MergeRegistry;
  readonly history: readonly HistoryEvent[];
  /** Every op any region committed (from the replicas' outputs), each once, in commit order. */
  readonly ledger: readonly Op[];
  /** One entry per region; empty if the heal phase did not finish. */
  readonly finals: readonly FinalRegionState[];
  readonly clocks: ClockFacts;
  /** Per region, its clock's latest HLC after every step, in order, across crashes (for the monotonicity checker). */
  readonly hlcTrace: Readonly<Record<RegionId, readonly Hlc[]>>;
}

export interface Verdict {
  readonly checker: string;
  readonly ok: boolean;
  /** How many things the checker examined (so a vacuous pass is visible). */
  readonly checked: number;
  /** The first few violations, each one line that says what and where. */
  readonly violations: readonly string[];
}
