/**
 * The replica's inputs and outputs. The replica is a state machine: the shell (or the simulator)
 * hands it a batch of inputs with the current time, and gets back what to send and what to
 * answer. Order of effects: the replica's storage transaction commits inside `step`; messages and
 * replies are returned only after it did (persist, then speak).
 */
import type { RegionId, VersionVector } from '../clock/version-vector.js';
import type { TernError } from '../errors.js';
import type { ConflictEntry } from '../model/conflict.js';
import type { Op } from '../model/op.js';
import type { RowView, WriteResult } from '../model/row-view.js';

/** A heartbeat: at physical time `wallMs` on its origin's clock, the origin's log ended at `seq`. */
export interface Beat {
  readonly seq: number;
  readonly wallMs: number;
}

export type PeerMessage =
  /** Ops in causal order per origin (pushed on write, or answering a sync). */
  | { readonly t: 'ops'; readonly ops: readonly Op[] }
  /**
   * Periodic exchange: the sender's applied vector (which doubles as its stability report), the
   * latest reports it knows from other regions and the latest heartbeat of every origin, relayed
   * so a region reachable only through another still contributes.
   */
  | {
      readonly t: 'sync';
      readonly vector: VersionVector;
      /** The sender was restored from a backup: send it its own ops beyond vector[sender] (recovery.ts). */
      readonly recovering?: true;
      readonly reports: Readonly<Record<RegionId, VersionVector>>;
      readonly beats: Readonly<Record<RegionId, Beat>>;
    }
  /** The receiver needs ops of `origin` this sender has collected (through `through`): it can only come back through a fresh restore (recovery.ts). */
  | { readonly t: 'gone'; readonly origin: RegionId; readonly through: number };

export type ClientRequest =
  | {
      readonly kind: 'write';
      readonly table: string;
      readonly key: string;
      /** The PATCH body ({set, unset, incr, add, remove}); validated by the replica. */
      readonly body: unknown;
      /** 'PATCH' (default) or 'PUT' (the body is {fields}); part of the idempotency digest. */
      readonly method?: 'PATCH' | 'PUT';
      readonly idempotencyKey?: string;
      readonly session?: string;
    }
  | { readonly kind: 'delete'; readonly table: string; readonly key: string; readonly idempotencyKey?: string; readonly session?: string }
  | {
      readonly kind: 'read';
      readonly table: string;
      readonly key: string;
      readonly consistency?: string;
      readonly maxStalenessMs?: unknown;
      readonly session?: string;
    }
  | {
      readonly kind: 'scan';
      readonly table: string;
      readonly prefix?: string;
      readonly after?: string;
      readonly limit?: unknown;
      readonly consistency?: string;
      readonly maxStalenessMs?: unknown;
      readonly session?: string;
    }
  | { readonly kind: 'conflicts'; readonly table?: string; readonly after?: unknown; readonly limit?: unknown };

export type ClientReply =
  | { readonly ok: true; readonly kind: 'write'; readonly result: WriteResult; readonly replayed: boolean; readonly token: string }
  | { readonly ok: true; readonly kind: 'read'; readonly row: RowView | null; readonly vector: VersionVector; readonly token: string }
  | { readonly ok: true; readonly kind: 'scan'; readonly rows: readonly RowView[]; readonly next: string | null; readonly token: string }
  | { readonly ok: true; readonly kind: 'conflicts'; readonly conflicts: readonly ConflictEntry[]; readonly next: number }
  | { readonly ok: false; readonly error: TernError };

export type Input =
  | { readonly kind: 'tick' }
  | { readonly kind: 'peer'; readonly from: RegionId; readonly message: PeerMessage }
  | { readonly kind: 'request'; readonly id: number; readonly request: ClientRequest };

export interface Output {
  readonly messages: Array<{ readonly to: RegionId; readonly message: PeerMessage }>;
  readonly replies: Array<{ readonly id: number; readonly reply: ClientReply }>;
  /** Ops this replica created (committed) in this step, for observers such as the simulator. */
  readonly created: Op[];
  /** Remote ops applied in this step, as (origin, HLC wall ms), when config.reportRemoteApplies. */
  readonly appliedRemote: Array<readonly [RegionId, number]>;
}
