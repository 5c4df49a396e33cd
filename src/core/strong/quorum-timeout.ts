/**
 * The 504 QUORUM_TIMEOUT a strong request answers after `requestTimeoutMs`, saying truthfully
 * whether it may still commit: `mayHaveCommitted: false` only when that is certain.
 */
import { ternError, type TernError } from '../errors.js';
import type { StrongContext } from './context.js';

export function quorumTimeout(ctx: StrongContext, proposed: boolean, what: string): TernError {
  ctx.counters.quorumTimeouts++;
  const leader = ctx.raft.leader;
  const where = leader === null ? 'no leader is known' : `the leader is ${leader}`;
  const ms = ctx.config.requestTimeoutMs;
  const extra = leader !== null ? { leader } : {};
  if (what === 'read') {
    return ternError('QUORUM_TIMEOUT', `this strong read could not be confirmed by a quorum within ${ms} ms (${where}); retry, or read with consistency=bounded`, { mayHaveCommitted: false, ...extra });
  }
  return proposed
    ? ternError('QUORUM_TIMEOUT', `${what} did not reach a quorum within ${ms} ms (${where}); it may still commit: retry with the same Idempotency-Key to learn the outcome safely`, { mayHaveCommitted: true, ...extra })
    : ternError('QUORUM_TIMEOUT', `${what} could not reach the strong group's leader within ${ms} ms (${where}); it was not committed: retrying is safe`, { mayHaveCommitted: false, ...extra });
}
