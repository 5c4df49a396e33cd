/** Terse builders of region-world facts (src/sim/region/record.ts) for the region checkers' tests. */
import type { GuardedAck, LeaseGrant, RegionFacts, ServedRequest, StageMark } from '../../../src/sim/region/record.js';
import { AP, EU, US } from './fixtures.js';

export function facts(f: Partial<RegionFacts> = {}): RegionFacts {
  return { regions: [US, EU, AP], maxClockOffsetMs: 100, clockProbeMs: 200, clockGraceMs: 600, guardedAcks: [], grants: [], served: [], stages: [], clockJumps: [], created: [], afflictions: [], settleMs: 1000, faultsEndMs: 100_000, leaseHistory: {}, ...f };
}

let seq = 0;
export function ack(region: string, slot: string, epoch: number, timeMs: number): GuardedAck {
  seq++;
  return { region, slot, epoch, at: 1, timeMs, table: 'failover', key: `f${seq}`, dot: { origin: region, seq } };
}

export function grant(slot: string, epoch: number, holder: string, firstAppliedMs: number): LeaseGrant {
  return { slot, epoch, holder, firstAppliedMs };
}

export function served(region: string, access: ServedRequest['access'], stage: string, reason: string | null, admittedMs = 10): ServedRequest {
  return { region, access, what: `async ${access === 'write' ? 'write' : 'read'} t/k`, stage, reason, admittedMs, okMs: admittedMs + 1 };
}

export function mark(region: string, timeMs: number, stage: string, reason: string | null = null): StageMark {
  return { region, timeMs, stage, reason };
}
