/**
 * The clock guard (docs/internals/failover.md): each node measures its clock offset to every peer
 * from probe round trips, NTP-style: a peer answers a ping with its clocks' readings, and with the
 * round trip `rtt` measured on our monotonic clock, the peer's clock read `their` when ours read
 * about `ours − rtt/2`, give or take rtt/2. Both of a node's cross-node clocks are measured: the
 * wall clock (HLC timestamps, heartbeats) and the steady clock (stamps on strong-log commands).
 *
 * A node is trusted when the regions within `maxClockOffsetMs` of it (itself included) are a
 * majority; a node whose offset from a majority is beyond the bound is the odd one out. Until a
 * majority is measured it is not trusted either: a node does not become write-ready on a clock it
 * has not compared with anyone. A step of its own wall clock against its monotonic clock (an NTP
 * correction, `date -s`) forgets every measurement at once, so a clock that jumps is distrusted
 * immediately, not one probe later. Measurements do not expire: a region cut off from the others
 * keeps the offsets it last measured (clocks drift slowly), and its multi-writer tables keep
 * taking writes.
 */
import type { RegionId } from '../clock/version-vector.js';
import type { ControlMessage, PeerInfo } from './messages.js';
import { majorityOf } from '../util/majority.js';
import { limits } from '../limits.js';

export interface ClockReading {
  readonly wallMs: number;
  readonly steadyMs: number;
  readonly monoMs: number;
}

interface Sample {
  readonly wallOffsetMs: number;
  readonly steadyOffsetMs: number;
  readonly rttMs: number;
}

export interface PeerOffset {
  /** The peer's wall clock minus ours (positive: the peer is ahead), and the same for steady clocks. */
  readonly wallMs: number;
  readonly steadyMs: number;
  readonly rttMs: number;
}

/** Samples kept per peer; the estimate is the latest with a round trip close to the best. */
const samplesPerPeerMax = limits.clockSamplesPerPeerMax;
/** Probes in flight at most (older ones are forgotten: their answers were lost). */
const pingsInFlightMax = limits.clockPingsInFlightMax;
/** While some peer is unmeasured, probe at least this often. */
const eagerProbeMs = 100;

export class ClockGuard {
  readonly #self: RegionId;
  readonly #peers: readonly RegionId[];
  readonly #quorum: number;
  readonly #maxOffsetMs: number;
  readonly #probeMs: number;
  readonly #alwaysTrust: boolean;
  readonly #samples = new Map<RegionId, Sample[]>();
  /** The shortest round trip seen to each peer since start (the path's floor). */
  readonly #rttFloorMs = new Map<RegionId, number>();
  readonly #pings = new Map<number, { readonly peer: RegionId; readonly monoMs: number }>();
  #nextId = 1;
  #lastProbeMs = -Infinity;
  /** Wall minus monotonic at the previous step: a change beyond `#stepMs` is a step of the wall clock. */
  #lastDelta: number | null = null;
  readonly #stepMs: number;
  /** Why the last measurements were forgotten, for the log. */
  lastForgetReason: string | null = null;

  constructor(self: RegionId, regions: readonly RegionId[], maxOffsetMs: number, probeMs: number, alwaysTrust = false) {
    this.#self = self;
    this.#peers = regions.filter((r) => r !== self);
    this.#quorum = majorityOf(regions.length);
    this.#maxOffsetMs = maxOffsetMs;
    this.#probeMs = probeMs;
    this.#alwaysTrust = alwaysTrust;
    this.#stepMs = Math.max(5, maxOffsetMs / 4);
  }

  /** Our own clocks at a step; a step of the wall clock against the monotonic one forgets every measurement. */
  observe(r: ClockReading): void {
    const delta = r.wallMs - r.monoMs;
    if (this.#lastDelta !== null && Math.abs(delta - this.#lastDelta) > this.#stepMs) {
      this.lastForgetReason = `the wall clock stepped by ${Math.round(delta - this.#lastDelta)} ms`;
      this.#samples.clear();
      this.#pings.clear();
      this.#lastProbeMs = -Infinity;
    }
    this.#lastDelta = delta;
  }

  /** Probes due now, one per peer. */
  tick(r: ClockReading, info: PeerInfo): Array<{ to: RegionId; message: ControlMessage }> {
    const every = this.#samples.size < this.#peers.length ? Math.min(this.#probeMs, eagerProbeMs) : this.#probeMs;
    if (r.monoMs - this.#lastProbeMs < every) return [];
    this.#lastProbeMs = r.monoMs;
    const out: Array<{ to: RegionId; message: ControlMessage }> = [];
    for (const peer of this.#peers) {
      const id = this.#nextId++;
      this.#pings.set(id, { peer, monoMs: r.monoMs });
      out.push({ to: peer, message: { t: 'ping', id, info } });
    }
    while (this.#pings.size > pingsInFlightMax) this.#pings.delete(this.#pings.keys().next().value as number);
    return out;
  }

  /** The answer to a peer's probe: our clocks now. */
  answer(id: number, r: ClockReading, info: PeerInfo): ControlMessage {
    return { t: 'pong', id, wallMs: r.wallMs, steadyMs: r.steadyMs, info };
  }

  /** A peer answered one of our probes. */
  onPong(from: RegionId, m: Extract<ControlMessage, { t: 'pong' }>, r: ClockReading): void {
    const ping = this.#pings.get(m.id);
    if (ping === undefined || ping.peer !== from) return;
    this.#pings.delete(m.id);
    const rttMs = Math.max(0, r.monoMs - ping.monoMs);
    // The peer read its clock somewhere within the round trip, but not in the first or last half of
    // the path's shortest round trip (each way takes at least that): the estimate is good to
    // ±(rtt − floor)/2. A sample less certain than the bound itself cannot say whether the peer is
    // within it. Such samples are late answers: a peer that was paused answers its queued probes
    // at once, all with its current clock, and one of them once passed for "within" (seed 992 of
    // the region world). The floor is kept across steps of our wall clock: round trips are
    // measured on the monotonic one.
    const floorMs = Math.min(rttMs, this.#rttFloorMs.get(from) ?? Infinity);
    this.#rttFloorMs.set(from, floorMs);
    if ((rttMs - floorMs) / 2 > this.#maxOffsetMs) return;
    const sample: Sample = { wallOffsetMs: m.wallMs - (r.wallMs - rttMs / 2), steadyOffsetMs: m.steadyMs - (r.steadyMs - rttMs / 2), rttMs };
    let list = this.#samples.get(from);
    if (list === undefined) this.#samples.set(from, (list = []));
    list.push(sample);
    if (list.length > samplesPerPeerMax) list.shift();
  }

  /** The current estimate of a peer's offset, or null when it has not been measured. */
  offset(peer: RegionId): PeerOffset | null {
    const list = this.#samples.get(peer);
    if (list === undefined || list.length === 0) return null;
    const best = Math.min(...list.map((s) => s.rttMs));
    // The latest sample whose round trip is close to the best one: fresh, and not one that sat in a queue.
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i] as Sample;
      if (s.rttMs <= 1.5 * best + 2) return { wallMs: s.wallOffsetMs, steadyMs: s.steadyOffsetMs, rttMs: best };
    }
    return null;
  }

  #within(peer: RegionId): boolean {
    const o = this.offset(peer);
    return o !== null && Math.abs(o.wallMs) <= this.#maxOffsetMs && Math.abs(o.steadyMs) <= this.#maxOffsetMs;
  }

  /** A majority of regions (this one included) has been measured at all. */
  measured(): boolean {
    return this.#alwaysTrust || 1 + this.#peers.filter((p) => this.offset(p) !== null).length >= this.#quorum;
  }

  /** A majority of regions (this one included) is within the bound of this node's clocks. */
  trusted(): boolean {
    return this.#alwaysTrust || 1 + this.#peers.filter((p) => this.#within(p)).length >= this.#quorum;
  }

  offsets(): Record<RegionId, PeerOffset | null> {
    const out: Record<RegionId, PeerOffset | null> = {};
    for (const p of this.#peers) out[p] = this.offset(p);
    return out;
  }

  /** Round trips measured to each peer (for failover order by distance). */
  rtts(): Record<RegionId, number> {
    const out: Record<RegionId, number> = {};
    for (const p of this.#peers) {
      const o = this.offset(p);
      if (o !== null) out[p] = o.rttMs;
    }
    return out;
  }

  get self(): RegionId {
    return this.#self;
  }

  /** Probes awaiting their answer (at most limits.clockPingsInFlightMax). */
  get pingsInFlight(): number {
    return this.#pings.size;
  }

  /** Samples kept for `peer` (at most limits.clockSamplesPerPeerMax). */
  samplesOf(peer: RegionId): number {
    return this.#samples.get(peer)?.length ?? 0;
  }
}
