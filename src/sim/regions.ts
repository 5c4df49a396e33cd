/**
 * The simulated regions: their names and the WAN's round trips between them (the demo's, then a
 * spread that grows with the distance between indexes), so every run of a size has one topology.
 */
const regionNames = ['us-east', 'eu-west', 'ap-south', 'sa-east', 'af-south', 'ap-east', 'us-west', 'eu-north'];
const demoRttMs: Record<string, number> = { 'us-east/eu-west': 80, 'us-east/ap-south': 190, 'eu-west/ap-south': 120 };

export function regionName(i: number): string {
  return regionNames[i] ?? `r${i}`;
}

export function rttMatrix(names: readonly string[]): number[][] {
  return names.map((a, i) =>
    names.map((b, j) => {
      if (i === j) return 0;
      return demoRttMs[`${a}/${b}`] ?? demoRttMs[`${b}/${a}`] ?? 60 + 35 * Math.abs(i - j);
    }),
  );
}
