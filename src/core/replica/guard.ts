/**
 * The replica's port to write rights (docs/internals/failover.md). The replica knows rows; whether
 * this region may write a row right now (its write lease, a takeover of the row's home) is the
 * region core's to say, and so is whether another region's guarded op was written with rights it
 * held. Without a region core (unit tests, benchmarks) `homeOnlyGuard` applies: a homed row is
 * written in its home region, and nothing is fenced.
 */
import type { RegionId } from '../clock/version-vector.js';
import { ternError, type TernError } from '../errors.js';
import type { FenceStamp, Op } from '../model/op.js';
import type { TablePolicy } from '../schema/policy.js';

export type GuardCheck = { readonly ok: true; readonly fence: FenceStamp | null } | { readonly ok: false; readonly error: TernError };

/** What to do with a remote guarded op: apply it, wait (our strong log is behind its position), or apply it as nothing. */
export type GuardVerdict = 'apply' | 'wait' | 'fenced';

export interface WriteGuard {
  /** May this region write a row of `table` whose home is `home` (null: none)? With the fence stamp to carry. */
  check(table: string, key: string, policy: TablePolicy, home: RegionId | null): GuardCheck;
  /** For a remote op that carries a fence stamp. */
  verdict(op: Op & { readonly fence: FenceStamp }): GuardVerdict;
  /** Who held the op's slot where it was written (for the fenced-write feed entry). */
  holderAt(slot: RegionId, at: number): { holder: RegionId | null; epoch: number } | null;
}

export function wrongRegion(table: string, key: string, home: RegionId): TernError {
  return ternError('WRONG_REGION', `row ${key} of ${table} is homed in ${home}; send the write there`, { home });
}

export function homeOnlyGuard(self: RegionId): WriteGuard {
  return {
    check: (table, key, _policy, home) => (home !== null && home !== self ? { ok: false, error: wrongRegion(table, key, home) } : { ok: true, fence: null }),
    verdict: () => 'apply',
    holderAt: () => null,
  };
}
