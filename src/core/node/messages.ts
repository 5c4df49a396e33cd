/**
 * What a region core takes and gives: client requests for either engine and for the operator,
 * peer messages on three channels (async replication, the strong group, and the core's own clock
 * probes), ticks; and the messages, replies and events of a step.
 */
import type { RegionId } from '../clock/version-vector.js';
import type { TernError } from '../errors.js';
import type { Op } from '../model/op.js';
import type { ClientReply, ClientRequest, PeerMessage } from '../replica/messages.js';
import type { StrongPeerMessage, StrongReply, StrongRequest } from '../strong/messages.js';
import type { CallReply, ClientCall } from './client-call.js';
import type { RegionCoreStatus } from './region-core.js';

export type Stage = 'catching-up' | 'read-ready' | 'write-ready' | 'fenced';
/** Why a node is not write-ready: `starting` (clocks not yet measured), `restore`, `lag`, `lease`, `clock`, `drain`, `storage` (its disk is full), `snapshot` (evicted from stability: it must rejoin from a snapshot). */
export type StageReason = 'starting' | 'restore' | 'lag' | 'lease' | 'clock' | 'drain' | 'storage' | 'snapshot';

/** What a node tells its peers about itself with every clock probe. */
export interface PeerInfo {
  readonly stage: Stage;
  readonly reason: StageReason | null;
  /** Round trips it measured to its peers (for failover order by distance). */
  readonly rttMs: Readonly<Record<RegionId, number>>;
}

/** Clock probes (NTP-style: the answer carries the answerer's clocks) and stage gossip. */
export type ControlMessage =
  | { readonly t: 'ping'; readonly id: number; readonly info: PeerInfo }
  | { readonly t: 'pong'; readonly id: number; readonly wallMs: number; readonly steadyMs: number; readonly info: PeerInfo };

export type NodeMessage =
  | { readonly ch: 'async'; readonly m: PeerMessage }
  | { readonly ch: 'strong'; readonly m: StrongPeerMessage }
  | { readonly ch: 'node'; readonly m: ControlMessage };

/** `force` (drain only): drain even if guarded writes would be left with no region to take them (src/core/strong/drain-rules.ts). */
export type AdminRequest = { readonly kind: 'drain' | 'undrain'; readonly region: unknown; readonly force?: unknown };
/** `changed`: false when the region already was (un)drained; nothing was written to the log then. */
export type AdminReply = { readonly ok: true; readonly kind: 'drain' | 'undrain'; readonly region: RegionId; readonly index: number; readonly changed: boolean } | { readonly ok: false; readonly error: TernError };

/**
 * What the front door (front-door.ts) makes of a client call: the request of the engine that
 * serves it. Front ends send calls; the core's own tests and the simulator may also send these to
 * steer one engine precisely.
 */
export type RegionRequest =
  /** `strongSeen`: the strong log index of the client's session token (a table it names may be on its way). */
  | { readonly api: 'async'; readonly request: ClientRequest; readonly strongSeen?: number }
  | { readonly api: 'strong'; readonly request: StrongRequest }
  | { readonly api: 'admin'; readonly request: AdminRequest };

export type RegionReply = ClientReply | StrongReply | AdminReply;

export type RegionInput =
  | { readonly kind: 'tick' }
  | { readonly kind: 'peer'; readonly from: RegionId; readonly message: NodeMessage }
  /** A client call through the front door, answered in `answers` under its id. */
  | { readonly kind: 'call'; readonly id: number; readonly call: ClientCall }
  /** An engine request, answered in `replies` under its id. */
  | { readonly kind: 'request'; readonly id: number; readonly request: RegionRequest };

export type CallAnswer = { readonly id: number; readonly reply: CallReply<RegionCoreStatus> };

/** Things worth a log line or a metric (the core logs nothing itself). */
export type NodeEvent =
  | { readonly kind: 'stage'; readonly from: Stage; readonly to: Stage; readonly reason: StageReason | null; readonly lagMs: number | null }
  | { readonly kind: 'lease'; readonly slot: RegionId; readonly holder: RegionId | null; readonly epoch: number; readonly what: string }
  | { readonly kind: 'clock'; readonly trusted: boolean; readonly why: string }
  | { readonly kind: 'warn'; readonly message: string; readonly details: Readonly<Record<string, unknown>> };

export interface Envelope {
  readonly to: RegionId;
  readonly message: NodeMessage;
}

export interface RegionOutput {
  /** In the order they may leave; all of it depends only on what is durable. */
  readonly messages: readonly Envelope[];
  readonly replies: ReadonlyArray<{ readonly id: number; readonly reply: RegionReply }>;
  /** The answers to client calls (the same rule: they leave only after what they reflect is durable). */
  readonly answers: readonly CallAnswer[];
  /** Ops this region created (committed) in this step. */
  readonly created: readonly Op[];
  /** Remote ops applied in this step, as (origin, HLC wall ms), for lag histograms. */
  readonly appliedRemote: ReadonlyArray<readonly [RegionId, number]>;
  readonly events: readonly NodeEvent[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stages = new Set(['catching-up', 'read-ready', 'write-ready', 'fenced']);

/** Why a control message from a peer is malformed, or null. */
export function controlMessageProblem(m: unknown): string | null {
  if (!isRecord(m) || (m['t'] !== 'ping' && m['t'] !== 'pong')) return 'unknown control message';
  if (typeof m['id'] !== 'number' || !Number.isSafeInteger(m['id'])) return 'a probe needs an integer id';
  const info = m['info'];
  if (!isRecord(info) || !stages.has(info['stage'] as string) || !isRecord(info['rttMs'])) return 'a probe needs the sender\u2019s stage and round trips';
  if (!Object.values(info['rttMs']).every((v) => typeof v === 'number' && Number.isFinite(v))) return 'round trips must be numbers';
  if (m['t'] === 'pong' && !(typeof m['wallMs'] === 'number' && Number.isFinite(m['wallMs']) && typeof m['steadyMs'] === 'number' && Number.isFinite(m['steadyMs']))) return 'a pong needs the answerer\u2019s clocks';
  return null;
}
