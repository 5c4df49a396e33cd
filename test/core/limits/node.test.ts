/**
 * The region core's bounds (src/core/limits.ts, "the region core"), each reached: the unique gate's
 * pending releases (with a small value in the test configuration: the real one is 100,000), and the
 * clock guard's probes and samples (their real values, which are small).
 */
import { describe, expect, it } from 'vitest';
import { ClockGuard, type ClockReading } from '../../../src/core/node/clock-guard.js';
import type { ControlMessage, PeerInfo } from '../../../src/core/node/messages.js';
import { UniqueGate } from '../../../src/core/node/unique-gate.js';
import { limits } from '../../../src/core/limits.js';
import type { StrongRequest } from '../../../src/core/strong/messages.js';
import { policy } from '../node/cluster.js';

describe('unique gate: pending releases (limits.uniqueReleasesPendingMax)', () => {
  const users = policy({ mode: 'async', fields: { email: 'lww' }, unique: [{ field: 'email', enforce: 'strong' }] });

  function gate(pendingMax?: number) {
    const asked: StrongRequest[] = [];
    const warnings: Array<{ message: string; details: Readonly<Record<string, unknown>> }> = [];
    let fresh: number | null = null;
    const g = new UniqueGate(
      {
        tables: () => ({ users }),
        strongIndex: () => 0,
        freshAsOfMs: () => fresh,
        row: () => null,
        askStrong(req, done) {
          asked.push(req);
          done({ ok: true, kind: 'release', released: 1, index: 1 });
        },
        write: (_req, done) => done({ ok: true, kind: 'write', result: { dot: { origin: 'a', seq: 1 }, row: null }, replayed: false, token: 't' }),
        warn: (message, details) => void warnings.push({ message, details }),
        maxClockOffsetMs: 100,
        claimValidityMs: 2000,
      },
      ...(pendingMax === undefined ? [] : [pendingMax]),
    );
    g.setTime({ wallMs: 10_000, monoMs: 0 });
    return { g, asked, warnings, setFresh: (ms: number) => (fresh = ms) };
  }

  it('holds no more than the bound: the oldest is dropped and logged, its value stays claimed (a leak)', () => {
    const { g, asked, warnings, setFresh } = gate(3);
    const replies: boolean[] = [];
    for (let i = 0; i < 5; i++) g.submit({ kind: 'delete', table: 'users', key: `k${i}` }, (r) => replies.push(r.ok));
    // Every delete itself succeeded: the bound costs only the release.
    expect(replies).toEqual([true, true, true, true, true]);
    expect(g.pendingReleases).toBe(3);
    expect(warnings.map((w) => w.details['key'])).toEqual(['k0', 'k1']);
    expect(warnings[0]?.message).toMatch(/too many unique-value releases pending/);
    setFresh(1e12);
    g.tick();
    // Only what was held is released.
    expect(asked.map((r) => (r.kind === 'release' ? r.key : '?'))).toEqual(['k2', 'k3', 'k4']);
    expect(g.pendingReleases).toBe(0);
  });
});

describe('clock guard: probes in flight and samples per peer', () => {
  const info: PeerInfo = { stage: 'write-ready', reason: null, rttMs: {} };
  const reading = (ms: number): ClockReading => ({ wallMs: ms, steadyMs: ms, monoMs: ms });

  it(`forgets the oldest unanswered probes past limits.clockPingsInFlightMax (${limits.clockPingsInFlightMax}); their late answers are ignored`, () => {
    const guard = new ClockGuard('a', ['a', 'b', 'c'], 100, 500);
    const pings: Array<{ to: string; message: ControlMessage }> = [];
    let now = 0;
    while (pings.length < limits.clockPingsInFlightMax + 10) {
      pings.push(...guard.tick(reading(now), info));
      now += 500;
      expect(guard.pingsInFlight).toBeLessThanOrEqual(limits.clockPingsInFlightMax);
    }
    expect(guard.pingsInFlight).toBe(limits.clockPingsInFlightMax);
    const answer = (p: { to: string; message: ControlMessage }): void => {
      if (p.message.t !== 'ping') throw new Error('not a ping');
      guard.onPong(p.to, { t: 'pong', id: p.message.id, wallMs: now, steadyMs: now, info }, reading(now));
    };
    // The first probe to b was forgotten: its answer measures nothing.
    answer(pings.find((p) => p.to === 'b') as { to: string; message: ControlMessage });
    expect(guard.offset('b')).toBeNull();
    // The latest one is still awaited, and counts.
    answer([...pings].reverse().find((p) => p.to === 'b') as { to: string; message: ControlMessage });
    expect(guard.offset('b')).not.toBeNull();
  });

  it(`keeps at most limits.clockSamplesPerPeerMax (${limits.clockSamplesPerPeerMax}) samples per peer, dropping the oldest`, () => {
    const guard = new ClockGuard('a', ['a', 'b', 'c'], 100, 500);
    let now = 0;
    /** One probe to b, answered after `rttMs`, b's clock `offsetMs` ahead. */
    const sample = (rttMs: number, offsetMs: number): void => {
      const ping = guard.tick(reading(now), info).find((p) => p.to === 'b');
      if (ping === undefined || ping.message.t !== 'ping') throw new Error('no probe to b');
      const theirs = now + rttMs / 2 + offsetMs;
      now += rttMs;
      guard.onPong('b', { t: 'pong', id: ping.message.id, wallMs: theirs, steadyMs: theirs, info }, reading(now));
      now += 500;
    };
    // The first sample has the best round trip, so it is the estimate while it is kept.
    sample(0, 7);
    for (let i = 0; i < limits.clockSamplesPerPeerMax - 1; i++) sample(40, 30);
    expect(guard.samplesOf('b')).toBe(limits.clockSamplesPerPeerMax);
    expect(guard.offset('b')?.wallMs).toBe(7);
    // One more pushes it out: the estimate now comes from the samples kept.
    sample(40, 30);
    expect(guard.samplesOf('b')).toBe(limits.clockSamplesPerPeerMax);
    expect(guard.offset('b')?.wallMs).toBe(30);
  });
});
