/**
 * Anti-entropy between peers. New local ops are pushed to every peer at once; every
 * syncIntervalMs each replica sends every peer its applied vector with the latest reports and
 * heartbeats it knows; a peer answers with the ops the vector shows missing, from every origin's
 * log (relay), so a region reachable only through another still converges. Ops sent recently are
 * not sent again until resendAfterMs passes without the peer's vector showing them.
 */
import { noteClaim } from './recovery.js';
import { get, mergeVectors, type RegionId, type VersionVector } from '../clock/version-vector.js';
import type { PeerLink, ReplicaContext } from './context.js';
import { approxOpBytes, type Op } from '../model/op.js';
import { OpsMessage, splitOps } from './ops-batches.js';

/**
 * Periodic work runs on the raw physical clock: if it jumped back, start the period over rather
 * than wait for time to catch up with the glitch.
 */
export function due(physicalMs: number, lastMs: number, intervalMs: number): boolean {
  return physicalMs - lastMs >= intervalMs || physicalMs < lastMs;
}

/** How long a peer's vector for an origin must stall before we relay that origin's ops. */
function relayAfterMs(ctx: ReplicaContext): number {
  return 4 * ctx.config.syncIntervalMs;
}

export function newPeerLink(): PeerLink {
  return { sentThrough: new Map(), windowStartMs: new Map(), vector: {}, progressAtMs: new Map(), relaying: new Set(), heardAtMs: -Infinity, recoverFrom: null };
}

function linkTo(ctx: ReplicaContext, peer: RegionId): PeerLink {
  let link = ctx.peers.get(peer);
  if (link === undefined) ctx.peers.set(peer, (link = newPeerLink()));
  return link;
}

/** Records ops of `origin` through `lastSeq` as sent to the peer behind `link`. */
function noteSent(ctx: ReplicaContext, link: PeerLink, origin: RegionId, lastSeq: number): void {
  const sent = link.sentThrough.get(origin) ?? 0;
  if (sent <= get(link.vector, origin)) link.windowStartMs.set(origin, ctx.physicalMs);
  link.sentThrough.set(origin, Math.max(sent, lastSeq));
}

function peersOf(ctx: ReplicaContext): RegionId[] {
  return ctx.config.regions.filter((r) => r !== ctx.config.region);
}

/** Sends this step's new local ops to every peer. */
export function flushPushed(ctx: ReplicaContext): void {
  if (ctx.pushed.length === 0) return;
  const self = ctx.config.region;
  const last = ctx.pushed[ctx.pushed.length - 1] as Op;
  // Cut here, once, within the message budget: the transport sends each as one frame (ops-batches.ts).
  const batches = splitOps(ctx.pushed);
  for (const peer of peersOf(ctx)) {
    for (const ops of batches) ctx.out.messages.push({ to: peer, message: { t: 'ops', ops } });
    noteSent(ctx, linkTo(ctx, peer), self, last.dot.seq);
    ctx.metrics.opsSent += ctx.pushed.length;
  }
  ctx.pushed = [];
}

/** On tick: every syncIntervalMs, tell every peer where we are. */
export function maybeSendSyncs(ctx: ReplicaContext): void {
  if (!due(ctx.physicalMs, ctx.lastSyncMs, ctx.config.syncIntervalMs)) return;
  ctx.lastSyncMs = ctx.physicalMs;
  // Our own heartbeat: every write we acknowledged before physical time wallMs is in our log up
  // to seq. Its time is the physical clock (within the max offset of real time, which readers
  // rely on), and strictly increasing: after the clock steps back we send none until it passes
  // the last one, else one time would name two log positions. After a forward glitch beyond the
  // max offset, peers refuse the glitched heartbeats and then get none until real time catches
  // up: their bounded reads answer STALE meanwhile, never stale data. A clock the region core
  // does not trust vouches for nothing.
  // A restored replica vouches for no time until it holds every write of its own (recovery.ts):
  // its old self may have acknowledged writes past where it stands.
  if (ctx.clockTrusted && ctx.recovery === null && ctx.physicalMs > ctx.lastBeatMs) {
    ctx.lastBeatMs = ctx.physicalMs;
    ctx.freshness.beat(ctx.config.region, { seq: get(ctx.applied, ctx.config.region), wallMs: ctx.physicalMs }, ctx.applied);
  }
  const message = { t: 'sync', vector: ctx.applied, ...(ctx.recovery !== null ? { recovering: true as const } : {}), reports: ctx.stability.latest(), beats: ctx.freshness.latestBeats() } as const;
  for (const peer of peersOf(ctx)) {
    ctx.out.messages.push({ to: peer, message });
    ctx.metrics.syncsSent++;
  }
}

/** Handles a peer's sync: record what it reports, then send what it is missing. */
export function receiveSync(
  ctx: ReplicaContext,
  from: RegionId,
  message: { vector: VersionVector; recovering?: true; reports: Readonly<Record<RegionId, VersionVector>>; beats: Readonly<Record<RegionId, { seq: number; wallMs: number }>> },
): void {
  const link = linkTo(ctx, from);
  // A restored peer's word on its own writes is the truth (it lost some); ours, if restored, needs every peer's.
  link.recoverFrom = message.recovering === true ? get(message.vector, from) : null;
  noteClaim(ctx, from, message.vector);
  for (const [origin, seq] of Object.entries(message.vector)) {
    if (seq > get(link.vector, origin)) link.progressAtMs.set(origin, ctx.physicalMs);
  }
  // A peer's vector only grows, except when its store was replaced (a restore, or a snapshot
  // installed for a readmission): then it recovers, and its word is the truth for every origin. It
  // may hold less of a third region than its old self had applied (the simulator found a region
  // that had applied another evicted region's orphans, then installed a member's snapshot without
  // them); merged, the old vector would say it has them, and they would never be sent again.
  link.vector = message.recovering === true ? { ...message.vector } : mergeVectors(link.vector, message.vector);
  link.heardAtMs = ctx.nowMs;
  ctx.stability.report(from, message.vector, ctx.applied);
  for (const [region, v] of Object.entries(message.reports)) {
    if (region !== ctx.config.region && region !== from) ctx.stability.report(region, v, ctx.applied);
  }
  for (const [origin, beat] of Object.entries(message.beats)) {
    if (origin === ctx.config.region) continue;
    // A heartbeat from a clock further ahead than the max offset would vouch for a future that
    // has not happened; refuse it, as the HLC refuses such timestamps.
    if (beat.wallMs > ctx.nowMs + ctx.config.maxClockOffsetMs) {
      ctx.metrics.beatsRefused++;
      continue;
    }
    ctx.freshness.beat(origin, beat, ctx.applied);
  }
  sendMissing(ctx, from, link);
}

function sendMissing(ctx: ReplicaContext, to: RegionId, link: PeerLink): void {
  // One message of every origin's missing ops, filled within the message budget (ops-batches.ts).
  const message = new OpsMessage();
  const now = ctx.physicalMs;
  const origins = ctx.config.knobs?.disableRelay ? [ctx.config.region] : ctx.config.regions;
  for (const origin of origins) {
    // A peer's own ops go back to it only when it was restored and lacks some (recovery.ts).
    if (origin === to && link.recoverFrom === null) continue;
    const have = get(ctx.applied, origin);
    const theirs = origin === to ? (link.recoverFrom as number) : get(link.vector, origin);
    if (have <= theirs) {
      link.relaying.delete(origin);
      continue;
    }
    // Relay another origin's ops only once the peer has stopped getting them directly (its
    // vector for that origin stalled); then keep relaying until it has caught up.
    if (origin !== ctx.config.region && origin !== to && !link.relaying.has(origin)) {
      if (now - (link.progressAtMs.get(origin) ?? -Infinity) < relayAfterMs(ctx)) continue;
      link.relaying.add(origin);
    }
    // Ops in flight are not sent again, unless the peer has made no progress on this origin for
    // resendAfterMs since the window opened: then something was lost (or refused), resend it.
    const sent = link.sentThrough.get(origin) ?? 0;
    const lastProgress = Math.max(link.progressAtMs.get(origin) ?? -Infinity, link.windowStartMs.get(origin) ?? -Infinity);
    const inFlight = sent > theirs && now - lastProgress < ctx.config.resendAfterMs;
    const from = inFlight ? sent : theirs;
    if (from >= have) continue;
    if (from < ctx.storage.trimmedThrough(origin)) {
      // The peer needs ops every region had acknowledged applying; it must have lost state.
      // It can only come back through a snapshot (docs/internals/replication.md).
      ctx.metrics.peerBehindLog++;
      ctx.out.messages.push({ to, message: { t: 'gone', origin, through: ctx.storage.trimmedThrough(origin) } });
      continue;
    }
    if (message.full) break;
    let last: Op | null = null;
    for (const op of ctx.storage.readOps(origin, from, message.room)) {
      const size = approxOpBytes(op);
      if (!message.fits(size)) break;
      message.add(op, size);
      last = op;
    }
    if (last === null) continue;
    if (!inFlight) link.windowStartMs.set(origin, now);
    noteSent(ctx, link, origin, last.dot.seq);
  }
  if (message.ops.length > 0) {
    ctx.out.messages.push({ to, message: { t: 'ops', ops: message.ops } });
    ctx.metrics.opsSent += message.ops.length;
  }
}
