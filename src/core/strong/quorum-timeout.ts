/**
 * The 504 QUORUM_TIMEOUT a strong request answers after `requestTimeoutMs`, saying truthfully
 * whether it may still commit: `mayHaveCommitted: false` only when that is certain.
 */
import { ternError, type TernError } from '../errors.js';
import type { StrongContext } from './context.js';

/**
 * `retry`: what a client may do with a write that may still commit. `keyed`: it carried an
 * Idempotency-Key, so retrying with it learns the outcome. `unkeyed`: a retry could apply it twice.
 * `idempotent`: applying it twice changes nothing (a table change, a drain).
 */
export function quorumTimeout(ctx: StrongContext, proposed: boolean, what: string, retry: 'keyed' | 'unkeyed' | 'idempotent' = 'keyed'): TernError {
  ctx.counters.quorumTimeouts++;
  const leader = ctx.raft.leader;
  const where = leader === null ? 'no leader is known' : `the leader is ${leader}`;
  const ms = ctx.config.requestTimeoutMs;
  const extra = leader !== null ? { leader } : {};
  if (what === 'read') {
    return ternError('QUORUM_TIMEOUT', `this strong read could not be confirmed by a quorum within ${ms} ms (${where}); retry, or read with consistency=bounded`, { mayHaveCommitted: false, ...extra });
  }
  const advice = {
    keyed: 'retry with the same Idempotency-Key to learn the outcome safely',
    unkeyed: 'it carried no Idempotency-Key, so a retry could apply it twice: read the row to learn the outcome, and send writes with an Idempotency-Key so retries are safe',
    idempotent: 'retrying is safe (applying it twice changes nothing)',
  }[retry];
  return proposed
    ? ternError('QUORUM_TIMEOUT', `${what} did not reach a quorum within ${ms} ms (${where}); it may still commit: ${advice}`, { mayHaveCommitted: true, ...extra })
    : ternError('QUORUM_TIMEOUT', `${what} could not reach the strong group's leader within ${ms} ms (${where}); it was not committed: retrying is safe`, { mayHaveCommitted: false, ...extra });
}
