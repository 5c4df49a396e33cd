/**
 * The clock guard on its own: probes and answers built by hand, with symmetric delays so the
 * NTP-style estimate is exact, and the verdicts (measured, trusted) after each. Then the knob that
 * switches the guard off, and the guard inside a region core (a clock that drifts, not steps).
 */
import { describe, expect, it } from 'vitest';
import { ClockGuard, type ClockReading } from '../../../src/core/node/clock-guard.js';
import type { ControlMessage, PeerInfo } from '../../../src/core/node/messages.js';
import { RegionCluster, regions } from './cluster.js';

const info: PeerInfo = { stage: 'write-ready', reason: null, rttMs: {} };
const bound = 100;

/**
 * A node `self` among `all`, at real time `now` with its own wall offset; peers answer with their
 * offsets from this node's clocks (wall, and steady unless given). One-way delay `oneWayMs` each way.
 */
class Probe {
  readonly guard: ClockGuard;
  now = 50_000;
  /** This node's wall clock minus real time; its monotonic clock reads real time minus 40 000. */
  ownWallMs = 0;
  oneWayMs = 20;
  constructor(
    readonly self: string,
    all: readonly string[],
    alwaysTrust = false,
  ) {
    this.guard = new ClockGuard(self, all, bound, 500, alwaysTrust);
  }

  reading(): ClockReading {
    return { wallMs: this.now + this.ownWallMs, steadyMs: this.now + this.ownWallMs, monoMs: this.now - 40_000 };
  }

  /** One probe round: the pings due now, answered by the peers in `offsets` (others stay silent). */
  round(offsets: Record<string, number | { wall: number; steady: number }>): void {
    this.guard.observe(this.reading());
    const pings = this.guard.tick(this.reading(), info);
    this.now += 2 * this.oneWayMs;
    for (const { to, message } of pings) {
      const o = offsets[to];
      if (o === undefined || message.t !== 'ping') continue;
      const { wall, steady } = typeof o === 'number' ? { wall: o, steady: o } : o;
      // The peer read its clocks half way through the round trip.
      const at = this.now - this.oneWayMs;
      const ours = at + this.ownWallMs;
      const pong: Extract<ControlMessage, { t: 'pong' }> = { t: 'pong', id: message.id, wallMs: ours + wall, steadyMs: ours + steady, info };
      this.guard.onPong(to, pong, this.reading());
    }
    this.guard.observe(this.reading());
    this.now += 500; // the next round is due
  }
}

describe('clock guard: measuring', () => {
  it('probes every peer, and estimates each one’s offset and round trip from its answer', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    const pings = p.guard.tick(p.reading(), info);
    expect(pings.map((x) => [x.to, x.message.t])).toEqual([
      ['b', 'ping'],
      ['c', 'ping'],
    ]);
    p.now += 100; // unanswered: probed again 100 ms later
    p.round({ b: 30, c: -70 });
    expect(p.guard.offsets()).toEqual({ b: { wallMs: 30, steadyMs: 30, rttMs: 40 }, c: { wallMs: -70, steadyMs: -70, rttMs: 40 } });
    expect(p.guard.rtts()).toEqual({ b: 40, c: 40 });
  });

  it('is not trusted before it has measured anyone: a node does not trust a clock it has not compared', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    expect(p.guard.measured()).toBe(false);
    expect(p.guard.trusted()).toBe(false);
    p.round({}); // nobody answers
    expect(p.guard.measured()).toBe(false);
    expect(p.guard.trusted()).toBe(false);
  });

  it('is trusted once a majority of regions (itself included) is measured within the bound', () => {
    // Five regions: a majority is three, so itself and two peers.
    const p = new Probe('a', ['a', 'b', 'c', 'd', 'e']);
    p.round({ b: 10 });
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([false, false]);
    p.round({ c: -bound }); // exactly at the bound is within it
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, true]);
    // With three regions, one peer is enough.
    const q = new Probe('a', ['a', 'b', 'c']);
    q.round({ c: 99 });
    expect([q.guard.measured(), q.guard.trusted()]).toEqual([true, true]);
  });

  it('a peer beyond the bound does not count; when it is what the majority hangs on, the node is untrusted (but measured)', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    p.round({ b: bound + 1 });
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, false]);
    // The other peer within the bound makes a majority again: b is the odd one out, not a.
    p.round({ b: bound + 1, c: 0 });
    expect(p.guard.trusted()).toBe(true);
    // Both peers beyond the bound: this node is the odd one out.
    p.round({ b: bound + 1, c: -(bound + 50) });
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, false]);
  });

  it('the steady clock is held to the bound too, not only the wall clock', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    p.round({ b: { wall: 0, steady: bound + 30 }, c: { wall: 0, steady: -(bound + 30) } });
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, false]);
  });

  it('estimates from the latest answer whose round trip is close to the best: one that sat in a queue does not count', () => {
    const p = new Probe('a', ['a', 'b']);
    p.round({ b: 10 });
    p.oneWayMs = 400; // a slow answer: its offset estimate is only good to ±400 ms
    p.round({ b: 300 });
    expect(p.guard.offset('b')).toEqual({ wallMs: 10, steadyMs: 10, rttMs: 40 });
    expect(p.guard.trusted()).toBe(true);
    p.oneWayMs = 21; // close to the best: this one is used
    p.round({ b: 50 });
    expect(p.guard.offset('b')).toMatchObject({ wallMs: 50, rttMs: 40 });
  });

  it('a late answer (a peer that was paused answers a queued probe with its current clock) is not a measurement', () => {
    // Seed 992 of the region world: us-east stepped +333 ms and forgot its samples; eu-west, paused,
    // woke and answered a probe 500 ms old. Read as if taken half way through the round trip, its
    // clock looked 83 ms off, within the bound, and us-east trusted a clock 333 ms off.
    const p = new Probe('a', ['a', 'b', 'c']);
    p.round({ b: 0, c: 0 });
    p.ownWallMs = 333;
    p.guard.observe(p.reading());
    const pings = p.guard.tick(p.reading(), info);
    p.now += 500;
    const ping = pings.find((x) => x.to === 'b')?.message;
    if (ping?.t !== 'ping') throw new Error('no ping to b');
    // b's clock reads real time now; ours reads 333 ms ahead of it.
    p.guard.onPong('b', { t: 'pong', id: ping.id, wallMs: p.now, steadyMs: p.now, info }, p.reading());
    expect(p.guard.offset('b')).toBeNull();
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([false, false]);
  });

  it('ignores an answer to a probe it did not send to that peer, and answers probes with its own clocks', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    const pings = p.guard.tick(p.reading(), info);
    const toB = pings.find((x) => x.to === 'b')?.message as Extract<ControlMessage, { t: 'ping' }>;
    // c answers b's probe; and someone answers a probe never sent.
    p.guard.onPong('c', { t: 'pong', id: toB.id, wallMs: p.now, steadyMs: p.now, info }, p.reading());
    p.guard.onPong('b', { t: 'pong', id: 999, wallMs: p.now, steadyMs: p.now, info }, p.reading());
    expect(p.guard.offsets()).toEqual({ b: null, c: null });
    expect(p.guard.answer(7, { wallMs: 1, steadyMs: 2, monoMs: 3 }, info)).toEqual({ t: 'pong', id: 7, wallMs: 1, steadyMs: 2, info });
  });

  it('probes eagerly while a peer is unmeasured, then at the probe interval', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    const at = (ms: number): ClockReading => ({ wallMs: ms, steadyMs: ms, monoMs: ms });
    expect(p.guard.tick(at(1000), info)).toHaveLength(2);
    expect(p.guard.tick(at(1099), info)).toHaveLength(0);
    expect(p.guard.tick(at(1100), info)).toHaveLength(2); // 100 ms: eager
    // Both answer: from now on every 500 ms.
    const pings = p.guard.tick(at(1200), info);
    for (const { to, message } of pings) p.guard.onPong(to, { t: 'pong', id: message.id, wallMs: 1210, steadyMs: 1210, info }, at(1220));
    expect(p.guard.tick(at(1300), info)).toHaveLength(0);
    expect(p.guard.tick(at(1699), info)).toHaveLength(0);
    expect(p.guard.tick(at(1700), info)).toHaveLength(2);
  });

  it('measurements do not expire: a node cut off keeps its verdict', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    p.round({ b: 0, c: 0 });
    for (let i = 0; i < 100; i++) p.round({}); // 50 s without an answer
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, true]);
  });
});

describe('clock guard: steps of its own clock', () => {
  it('a step of the wall clock against the monotonic one forgets every measurement at once, and says why', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    p.round({ b: 0, c: 0 });
    expect(p.guard.trusted()).toBe(true);
    p.ownWallMs = 500;
    p.guard.observe(p.reading());
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([false, false]);
    expect(p.guard.offsets()).toEqual({ b: null, c: null });
    expect(p.guard.lastForgetReason).toBe('the wall clock stepped by 500 ms');
    // It probes again at once, not an interval later.
    expect(p.guard.tick(p.reading(), info)).toHaveLength(2);
  });

  it('a step back is a step too; a change within max(5, bound / 4) is not (slewing, timer jitter)', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    p.round({ b: 0, c: 0 });
    p.ownWallMs = bound / 4; // 25 ms: at the threshold, kept
    p.guard.observe(p.reading());
    expect(p.guard.trusted()).toBe(true);
    p.ownWallMs = bound / 4 - 30; // -5: 30 ms back from the last reading
    p.guard.observe(p.reading());
    expect(p.guard.measured()).toBe(false);
    expect(p.guard.lastForgetReason).toBe('the wall clock stepped by -30 ms');
  });

  it('a clock stepped beyond the bound is measured untrusted, and trusted again once it is back in the bound', () => {
    const p = new Probe('a', ['a', 'b', 'c']);
    p.round({ b: 0, c: 0 });
    p.ownWallMs = 300; // peers now read 300 ms behind us
    p.round({ b: -300, c: -300 });
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, false]);
    p.ownWallMs = 0;
    p.round({ b: 0, c: 0 });
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, true]);
  });
});

describe('clock guard: the noClockGuard knob', () => {
  it('trusts whatever the offsets, and before anything was measured', () => {
    const p = new Probe('a', ['a', 'b', 'c'], true);
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, true]);
    p.round({ b: 10_000, c: -10_000 });
    expect([p.guard.measured(), p.guard.trusted()]).toEqual([true, true]);
    // It still measures (status shows the offsets).
    expect(p.guard.offset('b')).toMatchObject({ wallMs: 10_000 });
  });

  it('in a region core: a region whose clock is far off stays write-ready and keeps taking writes', () => {
    const c = new RegionCluster({ knobs: { noClockGuard: true } });
    c.until(() => c.allWriteReady(), 10_000, 'write-ready');
    // Five times the bound (and within writeReadyLagMs, so the stage has no other reason to move).
    c.wallOffsetMs.set('c', 500);
    c.run(1000);
    expect(c.core('c').stage.stage).toBe('write-ready');
    expect(c.core('c').status().clock).toMatchObject({ trusted: true, measured: true });
    expect(c.write('c', 'strict', 'k', { x: 1 })).toMatchObject({ ok: true });
  });
});

describe('clock guard in a region core', () => {
  it('a wall clock that drifts beyond the bound without stepping is fenced for the clock once measured so, and trusted again once back', () => {
    const c = new RegionCluster();
    c.until(() => c.allWriteReady(), 10_000, 'write-ready');
    // 2 ms per 10 ms tick: below the step threshold, so no forgetting; only the probes see it.
    const stages = new Set<string>();
    for (let off = 0; off <= 300; off += 2) {
      c.wallOffsetMs.set('c', off);
      c.run(10);
      stages.add(`${c.core('c').stage.stage}/${c.core('c').stage.reason}`);
    }
    c.until(() => c.core('c').stage.reason === 'clock', 2000, 'fenced for the clock');
    // It went straight from write-ready to fenced: the drift was never taken for a step.
    expect(stages.has('catching-up/starting')).toBe(false);
    expect(c.core('c').status().clock).toMatchObject({ trusted: false, measured: true });
    // The others are within the bound of each other: they are trusted, c is the odd one out.
    for (const r of ['a', 'b']) expect(c.core(r).stage.stage).toBe('write-ready');
    expect(c.events.some((e) => e.region === 'c' && e.event.kind === 'clock' && !e.event.trusted && e.event.why.includes('beyond'))).toBe(true);
    for (let off = 300; off >= 0; off -= 2) {
      c.wallOffsetMs.set('c', off);
      c.run(10);
    }
    c.until(() => c.allWriteReady(), 3000, 'write-ready again');
    expect(regions.every((r) => c.core(r).status().clock.trusted)).toBe(true);
  });
});
