/**
 * What a region core knows of its peers: when it last heard from each (any channel), and what each
 * said of itself with its last clock probe (stage, round trips). Soft state: a restart starts over.
 */
import type { RegionId } from '../clock/version-vector.js';
import type { PeerInfo } from './messages.js';

export interface PeerView {
  readonly region: RegionId;
  readonly reachable: boolean;
  readonly heardAgoMs: number | null;
  readonly info: PeerInfo | null;
}

export class PeerBook {
  readonly #peers: readonly RegionId[];
  readonly #withinMs: number;
  readonly #heard = new Map<RegionId, number>();
  readonly #info = new Map<RegionId, PeerInfo>();

  constructor(self: RegionId, regions: readonly RegionId[], reachableWithinMs: number) {
    this.#peers = regions.filter((r) => r !== self);
    this.#withinMs = reachableWithinMs;
  }

  heard(region: RegionId, monoMs: number): void {
    if (this.#peers.includes(region)) this.#heard.set(region, monoMs);
  }

  told(region: RegionId, info: PeerInfo): void {
    if (this.#peers.includes(region)) this.#info.set(region, info);
  }

  reachable(region: RegionId, monoMs: number): boolean {
    const at = this.#heard.get(region);
    return at !== undefined && monoMs - at <= this.#withinMs;
  }

  info(region: RegionId): PeerInfo | null {
    return this.#info.get(region) ?? null;
  }

  /** Reachable and saying it is write-ready. */
  healthy(region: RegionId, monoMs: number): boolean {
    return this.reachable(region, monoMs) && this.#info.get(region)?.stage === 'write-ready';
  }

  /** Reachable peers that serve reads, and writes, by what they last said. */
  serving(monoMs: number): { readers: RegionId[]; writers: RegionId[] } {
    const readers: RegionId[] = [];
    const writers: RegionId[] = [];
    for (const r of this.#peers) {
      const i = this.#info.get(r);
      if (i === undefined || !this.reachable(r, monoMs)) continue;
      if (i.stage === 'write-ready') writers.push(r);
      if (i.stage === 'write-ready' || i.stage === 'read-ready' || (i.stage === 'fenced' && i.reason !== 'clock')) readers.push(r);
    }
    return { readers, writers };
  }

  views(monoMs: number): PeerView[] {
    return this.#peers.map((region) => {
      const at = this.#heard.get(region);
      return { region, reachable: this.reachable(region, monoMs), heardAgoMs: at === undefined ? null : Math.max(0, monoMs - at), info: this.#info.get(region) ?? null };
    });
  }

  get peers(): readonly RegionId[] {
    return this.#peers;
  }
}
