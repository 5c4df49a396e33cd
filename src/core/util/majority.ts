/** How many of `count` members make a majority (Raft's quorum, the clock guard's, readiness's). */
export function majorityOf(count: number): number {
  return Math.floor(count / 2) + 1;
}
