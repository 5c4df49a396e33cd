/**
 * The two clock readings a region core takes (src/core/clock/node-time.ts): the wall clock, which
 * may step (NTP, an operator), and a monotonic clock, which never does. Leases, election timeouts
 * and deadlines rest on the monotonic one; the wall clock is what regions compare (HLCs, stamps),
 * and the clock guard watches it against the monotonic one and against the peers'.
 */
import type { NodeTime } from '../core/clock/node-time.js';

export function nodeClock(): () => NodeTime {
  return () => ({ wallMs: Date.now(), monoMs: performance.now() });
}
