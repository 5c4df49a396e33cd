/**
 * Session tokens on requests: parse them, decide whether the replica has applied what a token
 * requires, park requests that must wait, and answer SESSION_UNAVAILABLE when the wait runs out.
 */
import { decodeSessionToken, dominates, encodeSessionToken, mergeVectors, type VersionVector } from '../clock/version-vector.js';
import { badRequest, ternError, type Result, ok, fail } from '../errors.js';
import { limits } from '../limits.js';
import type { ReplicaContext } from './context.js';
import type { ClientRequest } from './messages.js';

export function parseSession(ctx: ReplicaContext, token: string | undefined): Result<VersionVector> {
  if (token === undefined || token === '') return ok({});
  const decoded = decodeSessionToken(token);
  if (!decoded.ok) return fail(badRequest('session', `malformed session token: ${decoded.reason}`));
  for (const region of Object.keys(decoded.vector)) {
    if (!ctx.config.regions.includes(region)) return fail(badRequest('session', `the token names region ${region}, which is not in this cluster`));
  }
  // A position of this region's own beyond what it ever wrote cannot come from an answer: waiting
  // for it would only time out. (Positions of other regions may be on their way; those wait.)
  const own = decoded.vector[ctx.config.region] ?? 0;
  const written = ctx.applied[ctx.config.region] ?? 0;
  if (own > written) return fail(badRequest('session', `the token names write ${own} of ${ctx.config.region}, which has written ${written}: send the Tern-Session header of an answer unchanged`));
  return ok(decoded.vector);
}

export function satisfied(ctx: ReplicaContext, needs: VersionVector): boolean {
  return dominates(ctx.applied, needs);
}

/** The token to answer with: what the client had, joined with everything this replica applied. */
export function tokenFor(ctx: ReplicaContext, needs: VersionVector): string {
  return encodeSessionToken(mergeVectors(needs, ctx.applied));
}

/** Parks a request until its token is satisfied, or answers OVERLOADED when too many wait. */
export function park(ctx: ReplicaContext, id: number, request: ClientRequest, needs: VersionVector): void {
  if (ctx.parked.length >= limits.parkedRequestsMax) {
    ctx.out.replies.push({ id, reply: { ok: false, error: ternError('OVERLOADED', `more than ${limits.parkedRequestsMax} requests are waiting for session tokens; retry with backoff`) } });
    return;
  }
  ctx.metrics.sessionWaits++;
  ctx.parked.push({ id, request, needs, deadlineMs: ctx.nowMs + ctx.config.sessionWaitMs });
}

/** Releases parked requests: those now satisfied are handled, those past their deadline refused. */
export function releaseParked(ctx: ReplicaContext, handle: (id: number, request: ClientRequest) => void): void {
  if (ctx.parked.length === 0) return;
  const waiting = ctx.parked;
  ctx.parked = [];
  for (const p of waiting) {
    if (satisfied(ctx, p.needs)) handle(p.id, p.request);
    else if (ctx.nowMs >= p.deadlineMs) {
      ctx.metrics.sessionUnavailable++;
      ctx.out.replies.push({
        id: p.id,
        reply: {
          ok: false,
          error: ternError('SESSION_UNAVAILABLE', `region ${ctx.config.region} has not yet applied what the session token requires; retry, or read in the region that served the session`),
        },
      });
    } else ctx.parked.push(p);
  }
}
