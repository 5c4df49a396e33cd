/**
 * The time a node's core is given for one step: two readings, because they serve two purposes.
 *
 * - `wallMs`: the physical (wall) clock, milliseconds since the epoch. It is what other regions can
 *   compare with their own: HLC timestamps, heartbeats, stamps on strong-log commands. It may step
 *   (an NTP correction, an operator's `date -s`), forward or back.
 * - `monoMs`: a monotonic clock with an arbitrary origin per boot. It never steps, so everything
 *   measured as elapsed time rests on it: election timeouts, Raft leases, request deadlines, write
 *   leases. Only its rate matters, and rates differ between machines by far less than the margins.
 *
 * Tests and tools that have one clock pass a number: both readings are then that number.
 */
export interface NodeTime {
  readonly wallMs: number;
  readonly monoMs: number;
}

export function nodeTime(t: number | NodeTime): NodeTime {
  return typeof t === 'number' ? { wallMs: t, monoMs: t } : t;
}
