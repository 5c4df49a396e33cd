/**
 * Milliseconds since the epoch that never step: the wall clock read once, advanced by the
 * monotonic clock from then on.
 *
 * The strong group measures leases on it. A lease is "the leader's time at which it sent a
 * heartbeat, plus a minimum election timeout, minus the maximum clock offset": with the wall
 * clock, a step backwards (an NTP correction) would freeze the leader's time and stretch its lease
 * in real time by the size of the step. The monotonic clock only ever runs at a (slewed) rate, so
 * what is left to assume is that rates differ by far less than the margin.
 */
export function steadyWallClock(): () => number {
  const wall0 = Date.now();
  const mono0 = performance.now();
  return () => wall0 + (performance.now() - mono0);
}
