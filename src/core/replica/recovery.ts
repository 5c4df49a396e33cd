/**
 * A replica restored from a backup (docs/operations.md, "Replacing a lost machine"). Its peers
 * may hold writes of its own that the backup lacks: the old machine made them after the copy was
 * taken, or the copy came from another region that had not received them yet. Writing again from
 * the backup's sequence number would give new writes the numbers of old ones. So a restored
 * replica writes nothing until every peer has told it how far it holds this region's writes
 * (syncs flagged `recovering` make peers send them back), and it has applied them all.
 *
 * If a peer cannot send ops it needs because every region had already applied them and they were
 * collected (a backup older than the peers' logs), the peer says so (`gone`), and the replica
 * stays unrecovered: it must be restored again from a fresh backup.
 */
import { get, type RegionId } from '../clock/version-vector.js';
import type { ReplicaContext } from './context.js';

/** The storage meta entry `terndb restore` writes; present (not null) until recovery completes. */
export const restoreMetaKey = 'restore';

export interface Recovery {
  /** Per peer, how far it holds this region's own writes (as it last said). */
  readonly claims: Map<RegionId, number>;
  /** Per origin, ops this replica needs that a peer has collected: recovery cannot complete. */
  readonly gone: Map<RegionId, { readonly through: number; readonly peer: RegionId }>;
}

export interface RecoveryStatus {
  /** Peers that have not yet said how far they hold this region's writes. */
  readonly waitingFor: readonly RegionId[];
  /** This region's writes a peer holds that this replica has not applied yet. */
  readonly ownOpsBehind: number;
  /** Origins whose ops this replica needs were already collected by a peer: restore from a fresh backup. */
  readonly gone: Readonly<Record<RegionId, { through: number; peer: RegionId }>>;
}

export function newRecovery(): Recovery {
  return { claims: new Map(), gone: new Map() };
}

/** A peer's sync said how far it holds our own writes. */
export function noteClaim(ctx: ReplicaContext, from: RegionId, vector: Readonly<Record<RegionId, number>>): void {
  ctx.recovery?.claims.set(from, get(vector, ctx.config.region));
}

/** A peer cannot send ops of `origin` from where we are: they were collected. */
export function noteGone(ctx: ReplicaContext, from: RegionId, origin: RegionId, through: number): void {
  ctx.metrics.opsGone++;
  if (ctx.recovery === null || get(ctx.applied, origin) >= through) return;
  ctx.recovery.gone.set(origin, { through, peer: from });
}

/** Ends recovery once every peer was heard and their writes of ours are applied (persisted with the step). */
export function maybeRecovered(ctx: ReplicaContext): void {
  const r = ctx.recovery;
  if (r === null || r.gone.size > 0) return;
  const peers = ctx.config.regions.filter((x) => x !== ctx.config.region);
  if (!peers.every((p) => r.claims.has(p))) return;
  const own = get(ctx.applied, ctx.config.region);
  if ([...r.claims.values()].some((c) => c > own)) return;
  ctx.recovery = null;
  ctx.storage.putMeta(restoreMetaKey, null);
}

export function recoveryStatus(ctx: ReplicaContext): RecoveryStatus | null {
  const r = ctx.recovery;
  if (r === null) return null;
  const own = get(ctx.applied, ctx.config.region);
  return {
    waitingFor: ctx.config.regions.filter((x) => x !== ctx.config.region && !r.claims.has(x)),
    ownOpsBehind: Math.max(0, ...[...r.claims.values()].map((c) => c - own)),
    gone: Object.fromEntries(r.gone),
  };
}
