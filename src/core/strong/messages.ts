/**
 * The strong node's inputs and outputs: client requests for strong tables, transactions and
 * metadata, the replies, and what nodes of the strong group say to each other (Raft messages, and
 * requests forwarded from a follower to the leader).
 */
import type { MembershipCommandBody } from './membership.js';
import type { AccessChange } from './access-table.js';
import type { RegionId } from '../clock/version-vector.js';
import type { TernError } from '../errors.js';
import type { Message } from '../raft/types.js';
import type { TablePolicy } from '../schema/policy.js';
import type { StrongSnapshotData } from './state-machine.js';
import type { StrongCommand, TxnOutcome } from './types.js';
import type { LeaseCommandBody, LeaseOp, LeaseSlot } from './lease-table.js';
import type { RowView } from '../model/row-view.js';

export type RaftMessage = Message<StrongCommand, StrongSnapshotData>;

export type StrongPeerMessage =
  | { readonly t: 'raft'; readonly m: RaftMessage }
  /** Follower → leader: propose this for me; answer with where it went in the log. */
  | { readonly t: 'fwd'; readonly id: number; readonly command: StrongCommand }
  /** Leader → follower: your command is at (index, term), or was not proposed (`leader`: who leads, if known). */
  | { readonly t: 'fwd-ack'; readonly id: number; readonly index: number; readonly term: number }
  | { readonly t: 'fwd-refused'; readonly id: number; readonly leader: RegionId | null }
  /** Follower → leader: give me a linearizable read point. */
  | { readonly t: 'fwd-read'; readonly id: number }
  /** Leader → follower: serve your read once you have applied `index` (null: I am not the leader). */
  | { readonly t: 'read-index'; readonly id: number; readonly index: number | null; readonly leader: RegionId | null };

/** Session tokens carry the strong log index the client has seen (see session-token.ts). */
export type StrongRequest =
  | { readonly kind: 'txn'; readonly body: unknown; readonly idempotencyKey?: string; readonly session?: number }
  | {
      readonly kind: 'write';
      readonly table: string;
      readonly key: string;
      readonly body: unknown;
      readonly method?: 'PATCH' | 'PUT';
      readonly idempotencyKey?: string;
      readonly session?: number;
    }
  | { readonly kind: 'delete'; readonly table: string; readonly key: string; readonly idempotencyKey?: string; readonly session?: number }
  | { readonly kind: 'read'; readonly table: string; readonly key: string; readonly consistency?: string; readonly maxStalenessMs?: unknown; readonly session?: number }
  | {
      readonly kind: 'scan';
      readonly table: string;
      readonly prefix?: string;
      readonly after?: string;
      readonly limit?: unknown;
      readonly consistency?: string;
      readonly maxStalenessMs?: unknown;
      readonly session?: number;
    }
  | { readonly kind: 'put-table'; readonly table: string; readonly body: unknown }
  /** From the region core, never from a client: lease, takeover, drain and handback commands. */
  | { readonly kind: 'lease'; readonly command: LeaseCommandBody }
  | { readonly kind: 'claim'; readonly table: string; readonly field: string; readonly value: unknown; readonly key: string }
  | { readonly kind: 'release'; readonly table: string; readonly field: string; readonly key: string; readonly keep: unknown; readonly upTo: number }
  /** The region core's own evictions and their acknowledgements (membership.ts). */
  | { readonly kind: 'membership'; readonly command: MembershipCommandBody }
  /** Users and roles, from the front door (access-table.ts; `wallMs` is set when proposed). */
  | { readonly kind: 'access'; readonly command: AccessChange };

/** `index`: the strong log position the answer reflects (for the session token). */
export type StrongReply =
  | { readonly ok: true; readonly kind: 'txn'; readonly outcome: TxnOutcome; readonly replayed: boolean; readonly index: number }
  | { readonly ok: true; readonly kind: 'write'; readonly row: RowView | null; readonly replayed: boolean; readonly index: number }
  | { readonly ok: true; readonly kind: 'read'; readonly row: RowView | null; readonly index: number }
  | { readonly ok: true; readonly kind: 'scan'; readonly rows: readonly RowView[]; readonly next: string | null; readonly index: number }
  | { readonly ok: true; readonly kind: 'table'; readonly table: string; readonly policy: TablePolicy; readonly index: number }
  | { readonly ok: true; readonly kind: 'lease'; readonly op: LeaseOp; readonly granted: boolean; readonly slot: RegionId; readonly lease: LeaseSlot; readonly index: number }
  | { readonly ok: true; readonly kind: 'claim'; readonly granted: boolean; readonly holder: string | null; readonly index: number }
  | { readonly ok: true; readonly kind: 'release'; readonly released: number; readonly index: number }
  | { readonly ok: true; readonly kind: 'membership'; readonly changed: boolean; readonly why: string | null; readonly index: number }
  | { readonly ok: true; readonly kind: 'access'; readonly changed: boolean; readonly index: number }
  | { readonly ok: false; readonly error: TernError };

export type StrongInput =
  | { readonly kind: 'tick' }
  | { readonly kind: 'peer'; readonly from: RegionId; readonly message: StrongPeerMessage }
  | { readonly kind: 'request'; readonly id: number; readonly request: StrongRequest };

export interface StrongOutput {
  /** Peer messages, in the order they may leave (everything here is already durable). */
  readonly messages: ReadonlyArray<{ readonly to: RegionId; readonly message: StrongPeerMessage }>;
  readonly replies: Array<{ readonly id: number; readonly reply: StrongReply }>;
  /** Set when a table was created or altered by the log: the async replica must learn it. */
  readonly tablesChanged: boolean;
}

const peerTypes = new Set(['raft', 'fwd', 'fwd-ack', 'fwd-refused', 'fwd-read', 'read-index']);
const raftTypes = new Set(['pre-vote', 'pre-vote-resp', 'vote', 'vote-resp', 'append', 'append-resp', 'snapshot', 'snapshot-chunk', 'snapshot-ack', 'timeout-now']);

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The shape a strong peer message must have before the node touches it. Peers passed the cluster
 * handshake, so this guards against bugs and version skew, not against forgery: a message that
 * fails is dropped (and counted by the transport), never half-applied.
 */
export function strongMessageProblem(m: unknown): string | null {
  if (typeof m !== 'object' || m === null) return 'not an object';
  const o = m as Record<string, unknown>;
  if (typeof o['t'] !== 'string' || !peerTypes.has(o['t'])) return `unknown type ${String(o['t'])}`;
  if (o['t'] !== 'raft') return isInt(o['id']) ? null : 'id must be an integer';
  const r = o['m'];
  if (typeof r !== 'object' || r === null) return 'raft message missing';
  const rm = r as Record<string, unknown>;
  if (typeof rm['type'] !== 'string' || !raftTypes.has(rm['type'])) return `unknown raft message type ${String(rm['type'])}`;
  if (typeof rm['from'] !== 'string' || typeof rm['to'] !== 'string' || !isInt(rm['term'])) return 'raft message needs from, to and term';
  if (rm['type'] === 'append') {
    if (!isInt(rm['prevIndex']) || !isInt(rm['prevTerm']) || !isInt(rm['commit']) || !Array.isArray(rm['entries'])) return 'append needs prevIndex, prevTerm, commit and entries';
    for (const e of rm['entries'] as unknown[]) {
      if (typeof e !== 'object' || e === null || !isInt((e as Record<string, unknown>)['index']) || !isInt((e as Record<string, unknown>)['term'])) return 'append entries need index and term';
    }
  }
  if (rm['type'] === 'snapshot-chunk') {
    if (!isInt(rm['index']) || !isInt(rm['snapTerm']) || !isInt(rm['offset']) || !isInt(rm['total']) || !isInt(rm['round'])) return 'snapshot-chunk needs index, snapTerm, offset, total and round';
    if (!(rm['data'] instanceof Uint8Array) || !Array.isArray(rm['voters']) || (rm['offset'] as number) + rm['data'].length > (rm['total'] as number)) return 'snapshot-chunk needs data within total, and voters';
  }
  if (rm['type'] === 'snapshot-ack' && (!isInt(rm['index']) || !isInt(rm['received']))) return 'snapshot-ack needs index and received';
  return null;
}
