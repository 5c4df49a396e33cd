/**
 * The simulated network between regions: per-link one-way latency (half the round trip), jitter,
 * loss, duplication, reordering and partitions. It decides when (and whether) a message arrives;
 * the world schedules the delivery.
 */
import type { Prng } from './prng.js';

export interface LinkFaults {
  lossRate: number;
  duplicateRate: number;
  /** Extra random delay in [0, jitterMs]. */
  jitterMs: number;
  /** When false, each directed link delivers in send order (as TCP does). */
  reorder: boolean;
}

export const noLinkFaults: LinkFaults = { lossRate: 0, duplicateRate: 0, jitterMs: 2, reorder: false };

export class SimNetwork {
  readonly #n: number;
  readonly #oneWayMs: number[][];
  readonly #cut: boolean[][];
  readonly #lastArrival: number[][];
  faults: LinkFaults = { ...noLinkFaults };

  constructor(rttMs: number[][]) {
    this.#n = rttMs.length;
    this.#oneWayMs = rttMs.map((row) => row.map((r) => r / 2));
    this.#cut = rttMs.map((row) => row.map(() => false));
    this.#lastArrival = rttMs.map((row) => row.map(() => 0));
  }

  /** Arrival times of a message sent now from a to b: none if lost or cut, two if duplicated. */
  send(a: number, b: number, nowMs: number, rng: Prng): number[] {
    if (this.isCut(a, b)) return [];
    const f = this.faults;
    if (f.lossRate > 0 && rng.chance(f.lossRate)) return [];
    const base = (this.#oneWayMs[a]?.[b] ?? 0) + rng.float() * f.jitterMs;
    let at = nowMs + base;
    const row = this.#lastArrival[a] as number[];
    if (!f.reorder) at = Math.max(at, row[b] ?? 0);
    row[b] = Math.max(row[b] ?? 0, at);
    const out = [at];
    if (f.duplicateRate > 0 && rng.chance(f.duplicateRate)) out.push(at + rng.float() * 50);
    return out;
  }

  isCut(a: number, b: number): boolean {
    return this.#cut[a]?.[b] === true;
  }

  /** Cuts every link between the groups (regions not listed keep their links). */
  partition(groups: readonly (readonly number[])[]): void {
    for (let gi = 0; gi < groups.length; gi++) {
      for (let gj = 0; gj < groups.length; gj++) {
        if (gi === gj) continue;
        for (const a of groups[gi] as number[]) for (const b of groups[gj] as number[]) (this.#cut[a] as boolean[])[b] = true;
      }
    }
  }

  /** Cuts the link between a and b both ways. */
  cutLink(a: number, b: number): void {
    (this.#cut[a] as boolean[])[b] = true;
    (this.#cut[b] as boolean[])[a] = true;
  }

  heal(): void {
    for (let a = 0; a < this.#n; a++) for (let b = 0; b < this.#n; b++) (this.#cut[a] as boolean[])[b] = false;
  }

  describeCuts(): string {
    const cuts: string[] = [];
    for (let a = 0; a < this.#n; a++) for (let b = a + 1; b < this.#n; b++) if (this.isCut(a, b)) cuts.push(`${a}-${b}`);
    return cuts.join(',');
  }
}
