/**
 * The region core's part in evictions (src/core/strong/membership.ts): it proposes evicting a peer
 * unheard for longer than the retention window, and acknowledges every pending eviction once its
 * replica has frozen the region (replica/eviction.ts). One proposal per (kind, region) in flight;
 * a lost one is made again at a later tick. Deterministic: time comes from the replica's clock.
 */
import type { RegionId } from '../clock/version-vector.js';
import type { MembershipCommandBody } from '../strong/membership.js';
import type { Membership } from '../strong/membership.js';
import type { MembershipView } from '../replica/eviction.js';

export interface EvictionConditions {
  /** This region has current data (it is not catching up): only then does it judge others gone. */
  readonly current: boolean;
  /** How long a peer has gone unheard by this replica (since start at most). */
  readonly unheardMs: (region: RegionId) => number;
  /** How far this replica held a region's ops when it froze them (undefined: not frozen yet). */
  readonly frozenAt: (region: RegionId) => number | undefined;
}

export class EvictionAgent {
  readonly #self: RegionId;
  readonly #regions: readonly RegionId[];
  readonly #windowMs: number;
  readonly #inFlight = new Set<string>();

  constructor(self: RegionId, regions: readonly RegionId[], windowMs: number) {
    this.#self = self;
    this.#regions = regions;
    this.#windowMs = windowMs;
  }

  /** What to propose now: evictions of peers gone past the window, and acknowledgements owed. */
  proposals(m: Membership, c: EvictionConditions): MembershipCommandBody[] {
    const out: MembershipCommandBody[] = [];
    if (m.eviction(this.#self) !== undefined) return out; // an evicted region has no say
    for (const region of this.#regions) {
      if (region === this.#self) continue;
      const e = m.eviction(region);
      if (e === undefined) {
        if (c.current && c.unheardMs(region) > this.#windowMs && this.#claim(`evict:${region}`)) out.push({ t: 'evict', region, by: this.#self, wallMs: 0 });
      } else if (e.through === null && !Object.hasOwn(e.acks, this.#self)) {
        const through = c.frozenAt(region);
        if (through !== undefined && this.#claim(`ack:${region}`)) out.push({ t: 'evict-ack', region, by: this.#self, through, wallMs: 0 });
      }
    }
    return out;
  }

  /** The log answered the proposal (applied or refused): it may be made again if still needed. */
  answered(c: MembershipCommandBody): void {
    this.#inFlight.delete(`${c.t === 'evict' ? 'evict' : 'ack'}:${c.region}`);
  }

  #claim(key: string): boolean {
    if (this.#inFlight.has(key)) return false;
    this.#inFlight.add(key);
    return true;
  }
}

/** The replica's view of the log's evictions. */
export function membershipView(m: Membership): MembershipView {
  const evicting: RegionId[] = [];
  const evicted = new Map<RegionId, number>();
  for (const e of m.evictions()) {
    if (e.through === null) evicting.push(e.region);
    else evicted.set(e.region, e.through);
  }
  return { evicting, evicted };
}
