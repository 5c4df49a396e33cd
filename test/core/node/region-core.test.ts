/**
 * Region cores end to end on the deterministic three-region harness: stages from start, write
 * leases under isolation, takeover and handback of home-with-failover rows, a paused leaseholder,
 * a clock out of bound, operator drains and restarts. Every safety claim is checked at every
 * simulated step (no two regions holding one slot), and every acknowledged write is read back
 * in every region once the cluster has converged.
 */
import { describe, expect, it } from 'vitest';
import type { RegionReply } from '../../../src/core/node/messages.js';
import { RegionCluster, regions } from './cluster.js';

const leaseMs = 1500; // the harness's failover settings
const offsetMs = 100;

type Ok = Extract<RegionReply, { ok: true }>;
type Err = Extract<RegionReply, { ok: false }>;
const isOk = (r: RegionReply | undefined): r is Ok => r !== undefined && r.ok;
const errorOf = (r: RegionReply | undefined) => (r !== undefined && !r.ok ? (r as Err).error : undefined);

function ready(options: ConstructorParameters<typeof RegionCluster>[0] = {}): RegionCluster {
  const c = new RegionCluster(options);
  c.until(() => c.allWriteReady(), 5000, 'write-ready');
  return c;
}

/**
 * Checks after every step of every core that no two regions (that are running) say they hold the
 * same slot; returns the violations found and how many instants were checked.
 */
function watchLeases(c: RegionCluster): { violations: string[]; checked: () => number } {
  const violations: string[] = [];
  let checked = 0;
  c.onStep = () => {
    checked++;
    const running = regions.filter((r) => !((c.pausedUntil.get(r) ?? -Infinity) > c.nowMs));
    const held = new Map<string, string[]>();
    for (const r of running) {
      for (const l of c.core(r).status().leases) if (l.heldHere) held.set(l.region, [...(held.get(l.region) ?? []), r]);
    }
    for (const [slot, by] of held) if (by.length > 1) violations.push(`${c.nowMs}: slot ${slot} held by ${by.join(' and ')}`);
  };
  return { violations, checked: () => checked };
}

/** Acknowledged writes, to read back everywhere at the end. */
class Acked {
  readonly rows = new Map<string, Record<string, unknown>>();
  write(c: RegionCluster, region: string, table: string, key: string, set: Record<string, unknown>): RegionReply | undefined {
    const r = c.write(region, table, key, set);
    if (isOk(r)) this.rows.set(`${table}/${key}`, { ...this.rows.get(`${table}/${key}`), ...set });
    return r;
  }
  /** Every acknowledged field, with its value, in every region. */
  expectEverywhere(c: RegionCluster): void {
    for (const [id, fields] of this.rows) {
      const [table = '', key = ''] = id.split('/');
      for (const r of regions) expect(c.read(r, table, key), `${id} in ${r}`).toMatchObject(fields);
    }
  }
}

const strictWrite = (c: RegionCluster, region: string, key: string) => c.write(region, 'strict', key, { x: 1 });
const hlcWallOf = (r: RegionReply | undefined): number => (isOk(r) && r.kind === 'write' && 'result' in r ? Number(r.result.row?.version.split('.')[0]) : NaN);

describe('region core: start', () => {
  it('starts catching up, refuses data requests until ready, and reaches write-ready holding its own slot (epoch 1)', () => {
    const c = new RegionCluster();
    const start = c.nowMs;
    for (const r of regions) expect(c.core(r).stage).toEqual({ stage: 'catching-up', reason: 'starting', lagMs: null });
    expect(errorOf(c.write('a', 'free', 'k', { x: 1 }))).toMatchObject({ code: 'NOT_READY', reason: 'starting' });
    c.until(() => c.allWriteReady(), 5000, 'write-ready');
    expect(c.nowMs - start).toBeLessThan(2000);
    for (const r of regions) {
      const stages = c.events.filter((e) => e.region === r && e.event.kind === 'stage').map((e) => (e.event.kind === 'stage' ? e.event : null));
      expect(stages[0]?.from).toBe('catching-up');
      expect(stages.at(-1)?.to).toBe('write-ready');
      expect(c.lease(r, r)).toMatchObject({ holder: r, epoch: 1, heldHere: true, drained: false, handback: false });
      expect(c.core(r).status().clock).toMatchObject({ trusted: true, measured: true });
    }
    expect(c.write('a', 'strict', 'k', { x: 1 })).toMatchObject({ ok: true });
  });
});

describe('region core: isolation', () => {
  it('an isolated region answers FENCED for strict and homed writes within leaseMs + offset, and keeps taking whenIsolated: accept writes', () => {
    const c = ready();
    const acked = new Acked();
    const isolatedAt = c.nowMs;
    c.isolate('a');
    let fencedAt: number | null = null;
    let strict: RegionReply | undefined;
    let homed: RegionReply | undefined;
    for (let i = 0; fencedAt === null && c.nowMs - isolatedAt <= 3000; i++) {
      strict = acked.write(c, 'a', 'strict', `s${i}`, { x: i });
      homed = acked.write(c, 'a', 'homed', `h${i}`, { home: 'a', x: i });
      if (!isOk(strict) && !isOk(homed)) fencedAt = c.nowMs;
      else c.run(10);
    }
    expect(fencedAt).not.toBeNull();
    expect((fencedAt as number) - isolatedAt).toBeLessThanOrEqual(leaseMs + offsetMs);
    // It wrote until its lease ran out (the last renewal was before the cut), not an instant longer.
    expect(acked.rows.size).toBeGreaterThan(0);
    for (const r of [strict, homed]) expect(errorOf(r)).toMatchObject({ code: 'FENCED', reason: 'lease', regions: [] });
    expect(c.core('a').stage).toMatchObject({ stage: 'fenced', reason: 'lease' });
    // Multi-writer rows that accept when isolated: still written, here and on the other side.
    expect(acked.write(c, 'a', 'free', 'f-a', { x: 1 })).toMatchObject({ ok: true });
    expect(acked.write(c, 'b', 'free', 'f-b', { x: 1 })).toMatchObject({ ok: true });
    // And reads are served (fenced for the lease is not catching up).
    expect(c.read('a', 'free', 'f-a')).toEqual({ x: 1 });
    // It stays fenced while cut off.
    c.run(2000);
    expect(errorOf(strictWrite(c, 'a', 'late'))).toMatchObject({ code: 'FENCED' });
    c.heal();
    c.until(() => c.allWriteReady(), 5000, 'write-ready after heal');
    c.run(500);
    acked.expectEverywhere(c);
  });

  it('a home table written from a region other than the row’s home: WRONG_REGION naming the home', () => {
    const c = ready();
    expect(errorOf(c.write('a', 'homed', 'h', { home: 'b', x: 1 }))).toMatchObject({ code: 'WRONG_REGION', home: 'b' });
    expect(c.write('b', 'homed', 'h', { home: 'b', x: 1 })).toMatchObject({ ok: true });
    c.run(200);
    // Once the row exists its home is known everywhere: a write that does not name it is sent home too.
    expect(errorOf(c.write('c', 'homed', 'h', { x: 2 }))).toMatchObject({ code: 'WRONG_REGION', home: 'b' });
    expect(c.read('c', 'homed', 'h')).toEqual({ home: 'b', x: 1 });
  });
});

describe('region core: failover of home-with-failover rows', () => {
  it('a failover region takes the isolated home’s rows over, the home takes them back on heal, and every acknowledged write survives', () => {
    const c = ready();
    const watch = watchLeases(c);
    const acked = new Acked();
    expect(acked.write(c, 'a', 'failover', 'f1', { home: 'a', a0: 1 })).toMatchObject({ ok: true });
    c.run(300); // f1 (and its home) reaches b and c

    const isolatedAt = c.nowMs;
    c.isolate('a');
    // a writes its rows until its lease runs out.
    let a = 0;
    while (isOk(acked.write(c, 'a', 'failover', 'f1', { [`a${++a}`]: 1 }))) c.run(10);
    const aStoppedAt = c.nowMs;
    expect(aStoppedAt - isolatedAt).toBeLessThanOrEqual(leaseMs + offsetMs);

    c.until(() => c.lease('b', 'a')?.heldHere === true, 5000, 'takeover by b');
    const takenAt = c.nowMs;
    // b could not have been granted a's slot before a stopped writing.
    expect(takenAt).toBeGreaterThan(aStoppedAt);
    expect(c.lease('b', 'a')).toMatchObject({ holder: 'b', epoch: 2 });
    expect(c.events).toContainEqual(expect.objectContaining({ region: 'b', event: { kind: 'lease', slot: 'a', holder: 'b', epoch: 2, what: 'taken over by b' } }));
    expect(acked.write(c, 'b', 'failover', 'f1', { b1: 1 })).toMatchObject({ ok: true });
    expect(acked.write(c, 'b', 'failover', 'f2', { home: 'a', b2: 1 })).toMatchObject({ ok: true });
    // c learns of the takeover and sends writes of a's rows to b.
    c.until(() => c.lease('c', 'a')?.holder === 'b', 1000, 'c sees the takeover');
    expect(errorOf(c.write('c', 'failover', 'f1', { c1: 1 }))).toMatchObject({ code: 'WRONG_REGION', home: 'b' });
    // a, still cut off, knows nothing of it and stays fenced.
    expect(errorOf(c.write('a', 'failover', 'f1', { late: 1 }))).toMatchObject({ code: 'FENCED', reason: 'lease' });

    c.heal();
    c.until(() => c.lease('a', 'a')?.heldHere === true, 5000, 'a takes its slot back');
    expect(c.lease('a', 'a')).toMatchObject({ holder: 'a', epoch: 3, handback: false });
    const back = c.events.filter((e) => e.region === 'a' && e.event.kind === 'lease' && e.event.slot === 'a' && e.at > takenAt).map((e) => e.event.kind === 'lease' && e.event.what);
    expect(back).toEqual(expect.arrayContaining(['handback asked', 'released', 'held by its region']));
    expect(acked.write(c, 'a', 'failover', 'f1', { a9: 1 })).toMatchObject({ ok: true });
    c.until(() => c.lease('b', 'a')?.holder === 'a', 1000, 'b sees a back');
    expect(errorOf(c.write('b', 'failover', 'f1', { b9: 1 }))).toMatchObject({ code: 'WRONG_REGION', home: 'a' });

    c.until(() => c.allWriteReady(), 5000, 'write-ready');
    c.run(1000);
    acked.expectEverywhere(c);
    // No region applied any of those writes as nothing (a fenced write): each was made under its epoch.
    for (const r of regions) expect(c.core(r).metrics.fencedWrites, r).toBe(0);
    expect(watch.checked()).toBeGreaterThan(1000);
    expect(watch.violations).toEqual([]);
  });

  it('a paused leaseholder that wakes after its rows were taken over refuses guarded writes until it holds its slot again', () => {
    const c = ready();
    const watch = watchLeases(c);
    c.write('a', 'failover', 'f1', { home: 'a' });
    c.run(300);
    c.pausedUntil.set('a', Infinity); // SIGSTOP
    c.run(3000);
    expect(c.lease('b', 'a')).toMatchObject({ holder: 'b', epoch: 2, heldHere: true });
    // SIGCONT: the first thing a does is take a write. Its own table still names it (it has heard
    // nothing), but by its own clock its lease ran out while it slept.
    c.pausedUntil.delete('a');
    expect(errorOf(strictWrite(c, 'a', 'wake'))).toMatchObject({ code: 'FENCED', reason: 'lease' });
    expect(errorOf(c.write('a', 'failover', 'f1', { wake: 1 }))).toMatchObject({ code: 'FENCED' });
    let accepted = 0;
    for (let t = 0; t < 3000 && accepted === 0; t += 10) {
      c.run(10);
      const r = strictWrite(c, 'a', `w${t}`);
      if (isOk(r)) {
        accepted++;
        // Only once it held its own slot again, under a new epoch (b had it in between).
        expect(c.lease('a', 'a')).toMatchObject({ holder: 'a', epoch: 3, heldHere: true });
      } else expect(errorOf(r)?.code).toMatch(/FENCED|NOT_READY/);
    }
    expect(accepted).toBe(1);
    expect(watch.violations).toEqual([]);
  });

  it('a leaseholder paused just past its lease refuses guarded writes on waking, until its renewal commits', () => {
    const run = (knobs?: { ignoreLeaseTime: true }) => {
      const c = ready(knobs === undefined ? {} : { knobs });
      // Pause right after a renewal, for longer than the lease less the offset but shorter than
      // what b waits (lease + offset from when it applied the renewal): nobody takes a's slot.
      const asked = c.core('a').strong.state.leases.slot('a').askedMonoMs;
      c.until(() => c.core('a').strong.state.leases.slot('a').askedMonoMs !== asked, 2000, 'a renewal');
      const heldFor = c.lease('a', 'a')?.heldForMs ?? 0;
      c.pausedUntil.set('a', Infinity);
      c.run(heldFor + 60);
      c.pausedUntil.delete('a');
      return { c, atWake: strictWrite(c, 'a', 'wake'), askedBefore: c.core('a').strong.state.leases.slot('a').askedMonoMs };
    };
    const { c, atWake, askedBefore } = run();
    expect(errorOf(atWake)).toMatchObject({ code: 'FENCED', reason: 'lease' });
    c.until(() => isOk(strictWrite(c, 'a', `w${c.nowMs}`)), 2000, 'a writes again');
    const slot = c.core('a').strong.state.leases.slot('a');
    expect(slot.askedMonoMs).toBeGreaterThan(askedBefore); // a renewal, asked after waking
    expect(slot.holder).toBe('a');
    expect(c.events.some((e) => e.event.kind === 'lease' && e.event.slot === 'a' && e.event.holder !== 'a')).toBe(false);
    // With the lease's time ignored (a deliberately broken node), the same wake-up write is taken:
    // the refusal above is the lease clock's doing, not news from the others.
    expect(run({ ignoreLeaseTime: true }).atWake).toMatchObject({ ok: true });
  });
});

describe('region core: the clock guard', () => {
  it('a region whose wall clock is off by more than maxClockOffsetMs is fenced for the clock, refuses writes, and is write-ready again once the offset is gone', () => {
    const c = ready();
    c.wallOffsetMs.set('c', 5 * offsetMs);
    const others: string[] = [];
    c.until(
      () => {
        others.push(...['a', 'b'].map((r) => c.core(r).stage.stage));
        return c.core('c').stage.reason === 'clock';
      },
      2000,
      'fenced for the clock',
    );
    expect(c.core('c').stage.stage).toBe('fenced');
    expect(c.core('c').status().clock).toMatchObject({ trusted: false, measured: true });
    // The others, within the bound of each other, stayed write-ready.
    expect(new Set(others)).toEqual(new Set(['write-ready']));
    const fenced = { code: 'FENCED', reason: 'clock', regions: ['a', 'b'] };
    expect(errorOf(c.write('c', 'free', 'k', { x: 1 }))).toMatchObject(fenced);
    expect(errorOf(strictWrite(c, 'c', 'k'))).toMatchObject(fenced);
    expect(errorOf(c.await(c.submit('c', { api: 'strong', request: { kind: 'write', table: 'accounts', key: 'k', body: { incr: { balance: 1 } } } })))).toMatchObject(fenced);
    expect(errorOf(c.await(c.submit('c', { api: 'strong', request: { kind: 'put-table', table: 'n', body: { mode: 'async' } } })))).toMatchObject(fenced);
    expect(errorOf(c.await(c.submit('c', { api: 'async', request: { kind: 'read', table: 'free', key: 'k', consistency: 'bounded', maxStalenessMs: 1000 } })))).toMatchObject(fenced);
    // Plain reads are still served.
    expect(c.await(c.submit('c', { api: 'async', request: { kind: 'read', table: 'free', key: 'k' } }))).toMatchObject({ ok: true, kind: 'read' });
    expect(c.lease('c', 'c')?.heldHere).toBe(false);

    c.wallOffsetMs.set('c', 0);
    c.until(() => c.core('c').stage.stage === 'write-ready', 3000, 'write-ready again');
    expect(c.core('c').status().clock.trusted).toBe(true);
    expect(c.write('c', 'free', 'k', { x: 1 })).toMatchObject({ ok: true });
    expect(strictWrite(c, 'c', 'k')).toMatchObject({ ok: true });
    const clock = c.events.filter((e) => e.region === 'c' && e.event.kind === 'clock').map((e) => e.event.kind === 'clock' && e.event.trusted);
    expect(clock).toEqual([true, false, true]);
  });

  // Regression (found by this test, fixed in begin()): the trust verdict was refreshed only by
  // #updateStage() at the end of commit(), so the turn in which the guard first sees a step of the
  // wall clock (and forgets every measurement) still admits requests with the old stage and runs
  // the replica with `#trusted` true and replicaMs(true), the stepped wall clock: a write in that
  // turn is taken and stamped with a clock 500 ms ahead of every other region.
  it('a write taken in the very turn the wall clock steps is not stamped with the stepped clock', () => {
    const c = ready();
    c.run(500);
    c.wallOffsetMs.set('c', 5 * offsetMs);
    const r = c.write('c', 'free', 'k', { x: 1 }); // the first input c sees with its clock stepped
    expect(!isOk(r) || hlcWallOf(r) <= c.nowMs + offsetMs).toBe(true);
  });

  // Regression (fixed in begin(), `this.#clock.advance(t, this.#trusted)` after the guard's look),
  // with src/core/node/node-clock.ts advance()): the same stale verdict makes NodeClock anchor "the
  // last trusted reading" to the stepped wall clock. node-clock.ts says a clock far ahead "does not
  // move the replica's deadlines, staleness or collection", yet while fenced for the clock the
  // replica runs as far ahead as the step: the lag the stage reports jumps by 2 s though nothing
  // is behind.
  it('while fenced for a clock that stepped ahead, the replica’s time (and the lag) does not jump with it', () => {
    const c = ready();
    c.run(500);
    const before = c.core('c').stage.lagMs ?? 0;
    c.wallOffsetMs.set('c', 20 * offsetMs);
    c.until(() => c.core('c').stage.reason === 'clock', 2000, 'fenced for the clock');
    expect(before).toBeLessThan(200);
    expect(c.core('c').stage.lagMs ?? Infinity).toBeLessThan(before + 200);
  });
});

describe('region core: drain', () => {
  it('an operator drain fences the region (drain) and its slot is taken at once; undrain gives it back', () => {
    const c = ready();
    const watch = watchLeases(c);
    c.write('b', 'failover', 'fb', { home: 'b' });
    c.run(300);
    expect(c.admin('a', 'drain', 'b')).toMatchObject({ ok: true, kind: 'drain', region: 'b' });
    c.until(() => c.lease('b', 'b')?.holder === 'a', 2000, 'b’s slot taken');
    expect(c.core('b').stage).toMatchObject({ stage: 'fenced', reason: 'drain' });
    expect(c.lease('b', 'b')).toMatchObject({ holder: 'a', epoch: 2, drained: true, heldHere: false });
    c.until(() => c.lease('a', 'b')?.heldHere === true, 1000, 'a holds b’s slot');
    // b still takes unguarded writes; its guarded rows go to whoever holds its slot.
    expect(c.write('b', 'free', 'k', { x: 1 })).toMatchObject({ ok: true });
    expect(errorOf(strictWrite(c, 'b', 'k'))).toMatchObject({ code: 'FENCED', reason: 'drain', regions: expect.arrayContaining(['a']) });
    expect(c.write('a', 'failover', 'fb', { byA: 1 })).toMatchObject({ ok: true });
    // Home (no failover) rows of b are written nowhere while b is drained.
    expect(errorOf(c.write('a', 'homed', 'hb', { home: 'b' }))).toMatchObject({ code: 'WRONG_REGION', home: 'b' });
    expect(errorOf(c.write('b', 'homed', 'hb', { home: 'b' }))).toMatchObject({ code: 'FENCED', reason: 'drain' });

    expect(c.admin('c', 'undrain', 'b')).toMatchObject({ ok: true, kind: 'undrain', region: 'b' });
    c.until(() => c.allWriteReady() && c.lease('b', 'b')?.heldHere === true, 3000, 'b back');
    expect(c.lease('b', 'b')).toMatchObject({ holder: 'b', epoch: 3, drained: false });
    expect(strictWrite(c, 'b', 'k')).toMatchObject({ ok: true });
    expect(watch.violations).toEqual([]);
  });

  it('a drain of a region that is not in the cluster is BAD_REQUEST naming the field region, and changes nothing', () => {
    const c = ready();
    const slots = () => regions.map((r) => ({ ...c.lease('a', r), heldForMs: null, expiresAtMs: null }));
    const before = slots();
    for (const target of ['zz', 7, undefined, '']) {
      const r = c.admin('a', 'drain', target);
      expect(errorOf(r), String(target)).toMatchObject({ code: 'BAD_REQUEST', field: 'region' });
    }
    expect(errorOf(c.admin('b', 'undrain', 'zz'))).toMatchObject({ code: 'BAD_REQUEST', field: 'region' });
    c.run(1000);
    expect(slots()).toEqual(before);
    expect(c.allWriteReady()).toBe(true);
    expect(c.events.some((e) => e.event.kind === 'lease' && e.event.what === 'drained')).toBe(false);
  });

  // Regression (fixed in lease-agent.ts #forOther, which renewed a takeover whatever its own slot said, and
  // holds() checks `drained` only for the region's own slot): a drained region gives up its own
  // slot, but keeps, renews and writes under a takeover of another region's slot. admission.ts
  // documents "fenced (lease, drain): served, except guarded rows: 503 FENCED"; here a region fenced
  // for a drain goes on taking guarded writes of the rows it took over, and the next candidate (c)
  // can never take them while it renews.
  it('a drained region gives up the rows it had taken over, so the next failover region takes them', () => {
    const c = ready();
    c.write('a', 'failover', 'f1', { home: 'a' });
    c.run(300);
    c.isolate('a');
    c.until(() => c.lease('c', 'a')?.holder === 'b', 5000, 'takeover by b');
    expect(c.admin('c', 'drain', 'b')).toMatchObject({ ok: true });
    c.until(() => c.core('b').stage.reason === 'drain', 1000, 'b drained');
    c.run(3000);
    expect(c.write('b', 'failover', 'f1', { byB: 1 })).toMatchObject({ ok: false, error: { code: 'WRONG_REGION' } });
    expect(c.lease('c', 'a')).toMatchObject({ holder: 'c' });
  });
});

describe('region core: restart', () => {
  it('a restarted region passes through catching-up before it is write-ready again, with its data', () => {
    const c = ready();
    expect(c.write('b', 'free', 'k', { x: 1 })).toMatchObject({ ok: true });
    expect(strictWrite(c, 'b', 's')).toMatchObject({ ok: true });
    c.run(300);
    c.restart('b');
    expect(c.core('b').stage).toMatchObject({ stage: 'catching-up', reason: 'starting' });
    expect(errorOf(c.write('b', 'free', 'k2', { x: 1 }))).toMatchObject({ code: 'NOT_READY', reason: 'starting' });
    const seen: string[] = [];
    c.onStep = (r) => {
      if (r !== 'b') return;
      const s = c.core('b').stage.stage;
      if (seen.at(-1) !== s) seen.push(s);
    };
    c.until(() => c.core('b').stage.stage === 'write-ready', 5000, 'b write-ready');
    expect(seen[0]).toBe('catching-up');
    expect(seen.indexOf('write-ready')).toBeGreaterThan(0);
    // The new boot does not trust the old boot's grant: it asked again (same holder, same epoch).
    expect(c.lease('b', 'b')).toMatchObject({ holder: 'b', epoch: 1, heldHere: true });
    expect(c.read('b', 'free', 'k')).toEqual({ x: 1 });
    expect(c.read('b', 'strict', 's')).toEqual({ x: 1 });
    expect(strictWrite(c, 'b', 's2')).toMatchObject({ ok: true });
  });
});

describe('region core: hints', () => {
  // Regression (fixed: #ableRegions now takes the table's policy; it was chosen per slot, via WriteRightsPort.ableRegions in
  // write-guard.ts, which is not given the table's policy): the regions a FENCED answer names
  // are chosen per slot, not per table. While b holds a's slot (a back from isolation, before the
  // handback), a write of a `home` row of a at a is FENCED naming b, and b answers WRONG_REGION
  // naming a: a client following the hints goes back and forth. For ownership 'home' only the home
  // can write (regions should be []); for multi-writer tables any write-ready region can.
  it('a FENCED answer for a home row names no region that would refuse it as WRONG_REGION', () => {
    const c = ready();
    c.write('a', 'homed', 'h1', { home: 'a' });
    c.run(300);
    c.isolate('a');
    c.until(() => c.lease('c', 'a')?.holder === 'b', 5000, 'takeover by b');
    c.heal();
    c.until(() => c.lease('a', 'a')?.holder === 'b' && c.core('a').status().peers.every((p) => p.reachable), 2000, 'a hears of the takeover');
    const fenced = errorOf(c.write('a', 'homed', 'h1', { x: 1 }));
    expect(fenced).toMatchObject({ code: 'FENCED' });
    // Only the home writes home rows: no region to send the client to (b would answer WRONG_REGION).
    expect(fenced?.regions).toEqual([]);
    for (const r of fenced?.regions ?? []) expect(errorOf(c.write(r, 'homed', 'h1', { x: 1 }))?.code).not.toBe('WRONG_REGION');
  });
});
