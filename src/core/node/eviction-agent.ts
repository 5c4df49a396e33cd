/**
 * The region core's part in evictions (src/core/strong/membership.ts): it proposes evicting a peer
 * unheard for longer than the retention window, and acknowledges every pending eviction once its
 * replica has frozen the region (replica/eviction.ts). One proposal per (kind, region) in flight;
 * a lost one is made again at a later tick. Deterministic: time comes from the replica's clock.
 */
import type { RegionId, VersionVector } from '../clock/version-vector.js';
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
  /** Approximate bytes this replica's logs hold, and the member holding stability back the most. */
  readonly logBytes: number;
  readonly holdingUp: RegionId | null;
  /** This replica's stable vector (what a readmission acknowledgement carries). */
  readonly stable: () => VersionVector;
  /**
   * For this region: the readmission (its `readmit` entry's log index) a snapshot it installed was
   * taken for, once it has its own writes back from its peers (null: no such snapshot, or still recovering).
   */
  readonly installedFor: number | null;
}

export class EvictionAgent {
  readonly #self: RegionId;
  readonly #regions: readonly RegionId[];
  readonly #windowMs: number;
  readonly #bytesMax: number;
  readonly #inFlight = new Set<string>();

  constructor(self: RegionId, regions: readonly RegionId[], window: { readonly ms: number; readonly bytesMax: number }) {
    this.#self = self;
    this.#regions = regions;
    this.#windowMs = window.ms;
    this.#bytesMax = window.bytesMax;
  }

  /** What to propose now: evictions of peers gone past the window, and acknowledgements owed. */
  proposals(m: Membership, c: EvictionConditions): MembershipCommandBody[] {
    const out: MembershipCommandBody[] = [];
    const own = m.eviction(this.#self);
    if (own !== undefined) {
      // An evicted region has no say, except to ask to come back, and then to say it installed a snapshot taken for it.
      if (own.through !== null && own.readmit === null && this.#claim(`readmit:${this.#self}`)) {
        out.push({ t: 'readmit', region: this.#self, by: this.#self, evictionIndex: own.index, wallMs: 0 });
      } else if (own.readmit !== null && !own.readmit.installed && m.readmitJoin(this.#self) !== null && c.installedFor === own.readmit.index && this.#claim(`installed:${this.#self}`)) {
        out.push({ t: 'readmit-ack', region: this.#self, by: this.#self, stable: c.stable(), wallMs: 0 });
      }
      return out;
    }
    for (const region of this.#regions) {
      if (region === this.#self) continue;
      const e = m.eviction(region);
      if (e === undefined) {
        // Unheard past the window; or the logs hold more than the byte bound, and it holds them up most.
        const why = c.unheardMs(region) > this.#windowMs ? 'unheard' : c.logBytes > this.#bytesMax && c.holdingUp === region ? 'log-bytes' : null;
        if (c.current && why !== null && this.#claim(`evict:${region}`)) out.push({ t: 'evict', region, by: this.#self, why, wallMs: 0 });
      } else if (e.through === null && !Object.hasOwn(e.acks, this.#self)) {
        const through = c.frozenAt(region);
        if (through !== undefined && this.#claim(`ack:${region}`)) out.push({ t: 'evict-ack', region, by: this.#self, through, wallMs: 0 });
      } else if (e.readmit !== null && !Object.hasOwn(e.readmit.acks, this.#self) && this.#claim(`readmit-ack:${region}`)) {
        out.push({ t: 'readmit-ack', region, by: this.#self, stable: c.stable(), wallMs: 0 });
      }
    }
    return out;
  }

  /** The log answered the proposal (applied or refused): it may be made again if still needed. */
  answered(c: MembershipCommandBody): void {
    const kind = c.t === 'evict-ack' ? 'ack' : c.t === 'readmit-ack' && c.by === c.region ? 'installed' : c.t;
    this.#inFlight.delete(`${kind}:${c.region}`);
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
  const readmitting = new Map<RegionId, number>();
  for (const e of m.evictions()) {
    if (e.through === null) evicting.push(e.region);
    else if (e.readmit === null) evicted.set(e.region, e.through);
    else readmitting.set(e.region, e.through);
  }
  return { evicting, evicted, readmitting };
}
