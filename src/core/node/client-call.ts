/**
 * The one request a front end (the HTTP API, the simulator, a future Redis or gRPC port) hands a
 * region, and the one reply it gets back. A call names what the client wants, not which engine
 * serves it: the region core routes it by the table's mode (front-door.ts), splits the session
 * token for the engine and joins it back into the reply. Fields a client typed (bodies, query
 * values) stay `unknown` here: the engines validate them and name the field at fault.
 */
import type { TernError } from '../errors.js';
import type { ConflictEntry } from '../model/conflict.js';
import type { RowView } from '../model/row-view.js';
import type { TablePolicy } from '../schema/policy.js';
import type { Credential } from '../strong/access-table.js';
import type { JsonValue } from '../util/json.js';

/**
 * Who is calling. Every caller is anonymous until authentication exists; the slot is here so that
 * it arrives as a field of the call, checked where the call is routed, and no front end needs to
 * learn a second request type for it.
 */
export interface Caller {
  /** The authenticated user; null for an anonymous caller. */
  readonly user: string | null;
}

export type CallBody =
  /** A row; `consistency` and `maxStalenessMs` as in the API (strong tables default to strong reads). */
  | { readonly kind: 'get'; readonly table: string; readonly key: string; readonly consistency?: unknown; readonly maxStalenessMs?: unknown }
  /** `patch`: the body is {set, unset, incr, add, remove}; `put`: {fields}, replacing the row. */
  | { readonly kind: 'patch' | 'put'; readonly table: string; readonly key: string; readonly body: unknown; readonly idempotencyKey?: unknown }
  | { readonly kind: 'delete'; readonly table: string; readonly key: string; readonly idempotencyKey?: unknown }
  | {
      readonly kind: 'scan';
      readonly table: string;
      readonly prefix?: unknown;
      readonly after?: unknown;
      readonly limit?: unknown;
      readonly consistency?: unknown;
      readonly maxStalenessMs?: unknown;
    }
  /** A transaction over strong tables ({compare, success, failure}). */
  | { readonly kind: 'txn'; readonly body: unknown; readonly idempotencyKey?: unknown }
  /** Create or change a table's policy (through the strong log). */
  | { readonly kind: 'put-table'; readonly table: string; readonly body: unknown }
  /** An operator's drain or undrain of a region's write lease (through the strong log). */
  | { readonly kind: 'drain' | 'undrain'; readonly region: unknown; readonly force?: unknown }
  /** The conflict feed: resolutions after position `after`, of one table or all. */
  | { readonly kind: 'conflicts'; readonly table?: unknown; readonly after?: unknown; readonly limit?: unknown }
  /** Where this region stands (stage, positions, leases, clocks). */
  | { readonly kind: 'status' }
  /**
   * Creates or replaces a user with these roles (cluster admin). `credential`: the salt and hash of
   * its new token's secret (the front end made the token and shows it once); absent, the user's
   * roles change and its token stays.
   */
  | { readonly kind: 'put-user'; readonly name: unknown; readonly roles: unknown; readonly credential?: Credential }
  | { readonly kind: 'delete-user'; readonly name: unknown }
  /** Creates or replaces a role: body {grants: {"<table>" or "*": ["read" | "write" | "admin"]}, clusterAdmin?: boolean}. */
  | { readonly kind: 'put-role'; readonly name: unknown; readonly body: unknown }
  /** Who the caller is, as this region sees it. */
  | { readonly kind: 'whoami' };

/**
 * A call: its body, the client's whole session token (both engines' parts; row calls, scans,
 * transactions and table changes read it, and their replies carry it forward), and the caller.
 */
export type ClientCall = CallBody & { readonly session?: string; readonly caller?: Caller };

/** What a write answers when it left no visible row (a PUT of no fields). */
export interface EmptyRow {
  readonly key: string;
  readonly fields: Readonly<Record<string, JsonValue>>;
  readonly version: null;
}

export type CallResult<Status> =
  | { readonly kind: 'row'; readonly row: RowView | EmptyRow }
  | { readonly kind: 'rows'; readonly rows: readonly RowView[]; readonly next: string | null }
  | { readonly kind: 'deleted'; readonly key: string }
  | { readonly kind: 'txn'; readonly succeeded: boolean; readonly results: ReadonlyArray<RowView | null> }
  | { readonly kind: 'table'; readonly table: string; readonly policy: TablePolicy }
  /** `changed`: false when the region already was (un)drained (nothing was written). */
  | { readonly kind: 'drain' | 'undrain'; readonly region: string; readonly changed: boolean; readonly index: number }
  | { readonly kind: 'conflicts'; readonly conflicts: readonly ConflictEntry[]; readonly next: number }
  | { readonly kind: 'status'; readonly status: Status }
  /** `changed`: false when a delete found nothing to delete. */
  | { readonly kind: 'user' | 'role'; readonly name: string; readonly changed: boolean; readonly index: number }
  | { readonly kind: 'whoami'; readonly user: string | null; readonly roles: readonly string[]; readonly clusterAdmin: boolean };

/**
 * One reply. `session`: the token to send next time (the request's, moved forward by what this
 * answer reflects); absent when the call does not read it (the reply then changes nothing of the
 * client's session). `replayed`: answered from an idempotency record of a strong table (the API
 * says so in a header; an async table's replay answers the stored result and says nothing).
 * A row read that found nothing is the error NOT_FOUND, with the session moved forward all the same.
 */
export type CallReply<Status = unknown> =
  | { readonly ok: true; readonly result: CallResult<Status>; readonly session?: string; readonly replayed: boolean }
  | { readonly ok: false; readonly error: TernError; readonly session?: string };
