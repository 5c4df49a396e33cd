/**
 * A node's stage, which requests each stage serves, the write guard that refuses guarded rows
 * when the node lacks the rights, and the failover settings' validation: all pure functions of
 * their inputs, so each case is one call and its exact answer.
 */
import { describe, expect, it } from 'vitest';
import { admissionProblem, type Elsewhere } from '../../../src/core/node/admission.js';
import { failoverDefaults, failoverProblem, failoverTableProblem, type FailoverSettings } from '../../../src/core/node/config.js';
import type { RegionRequest } from '../../../src/core/node/messages.js';
import { canRead, canWrite, computeStage, type StageInputs, type StageView } from '../../../src/core/node/stage.js';
import { RegionWriteGuard, type WriteRightsPort } from '../../../src/core/node/write-guard.js';
import type { FenceStamp, Op } from '../../../src/core/model/op.js';
import { LeaseTable, type LeaseCommandBody } from '../../../src/core/strong/lease-table.js';
import type { TablePolicy } from '../../../src/core/schema/policy.js';
import { nodeTables, policy } from './cluster.js';

const tableOf = (name: string): TablePolicy => nodeTables[name] as TablePolicy;

const ok: StageInputs = { storageFull: false, drained: false, restoring: false, evicted: false, clockMeasured: true, clockTrusted: true, lagMs: 20, ownLease: true, readReadyLagMs: 5000, writeReadyLagMs: 1000 };

describe('computeStage', () => {
  it('is write-ready with everything in order', () => {
    expect(computeStage(ok)).toEqual({ stage: 'write-ready', reason: null, lagMs: 20 });
  });

  it('an evicted region is catching-up (snapshot), whatever else holds, unless its clock is bad', () => {
    expect(computeStage({ ...ok, evicted: true })).toEqual({ stage: 'catching-up', reason: 'snapshot', lagMs: 20 });
    expect(computeStage({ ...ok, evicted: true, restoring: true, drained: true })).toMatchObject({ reason: 'snapshot' });
    expect(computeStage({ ...ok, evicted: true, clockTrusted: false })).toMatchObject({ stage: 'fenced', reason: 'clock' });
  });

  it('a restored node recovering its own writes is catching-up (restore), whatever else holds, unless its clock is bad', () => {
    expect(computeStage({ ...ok, restoring: true })).toEqual({ stage: 'catching-up', reason: 'restore', lagMs: 20 });
    expect(computeStage({ ...ok, restoring: true, clockMeasured: false })).toMatchObject({ reason: 'restore' });
    expect(computeStage({ ...ok, restoring: true, clockTrusted: false })).toMatchObject({ stage: 'fenced', reason: 'clock' });
  });

  it('takes the first reason that applies: clock > starting > lag > drain > lease', () => {
    // Everything wrong at once (a clock measured and untrusted excludes "not measured").
    const worst = { ...ok, drained: true, clockTrusted: false, lagMs: Infinity, ownLease: false };
    expect(computeStage(worst)).toMatchObject({ stage: 'fenced', reason: 'clock' });
    // Not measured: starting, whatever the trust flag says, the lag, the drain or the lease.
    expect(computeStage({ ...worst, clockMeasured: false })).toMatchObject({ stage: 'catching-up', reason: 'starting' });
    expect(computeStage({ ...worst, clockMeasured: false, clockTrusted: true })).toMatchObject({ stage: 'catching-up', reason: 'starting' });
    // Measured and trusted: the lag decides between catching-up and read-ready, before the drain and the lease.
    const trusted = { ...worst, clockTrusted: true };
    expect(computeStage(trusted)).toMatchObject({ stage: 'catching-up', reason: 'lag' });
    expect(computeStage({ ...trusted, lagMs: 5001 })).toMatchObject({ stage: 'catching-up', reason: 'lag' });
    expect(computeStage({ ...trusted, lagMs: 5000 })).toMatchObject({ stage: 'read-ready', reason: 'lag' });
    expect(computeStage({ ...trusted, lagMs: 1001 })).toMatchObject({ stage: 'read-ready', reason: 'lag' });
    expect(computeStage({ ...trusted, lagMs: 1000 })).toMatchObject({ stage: 'fenced', reason: 'drain' });
    expect(computeStage({ ...trusted, lagMs: 1000, drained: false })).toMatchObject({ stage: 'fenced', reason: 'lease' });
    expect(computeStage({ ...trusted, lagMs: 1000, drained: false, ownLease: true })).toMatchObject({ stage: 'write-ready', reason: null });
    // A drain only takes rights away: a drained region whose clock is bad or unmeasured refuses
    // writes for that (fenced (drain) would serve multi-writer writes carrying its clock; the
    // region world's clock-guard checker caught it once drains joined the faults).
    expect(computeStage({ ...ok, drained: true, clockMeasured: false })).toMatchObject({ stage: 'catching-up', reason: 'starting' });
    expect(computeStage({ ...ok, drained: true, clockTrusted: false })).toMatchObject({ stage: 'fenced', reason: 'clock' });
    expect(computeStage({ ...ok, drained: true })).toMatchObject({ stage: 'fenced', reason: 'drain' });
  });

  it('a full disk comes first: fenced (storage), whatever else holds (the core was reopened and knows nothing yet)', () => {
    expect(computeStage({ ...ok, storageFull: true })).toEqual({ stage: 'fenced', reason: 'storage', lagMs: null });
    const worst = { ...ok, storageFull: true, drained: true, restoring: true, clockMeasured: false, clockTrusted: false, lagMs: Infinity, ownLease: false };
    expect(computeStage(worst)).toEqual({ stage: 'fenced', reason: 'storage', lagMs: null });
    expect(computeStage({ ...worst, clockMeasured: true })).toMatchObject({ stage: 'fenced', reason: 'storage' });
  });

  it('reports the lag rounded and never negative, and null when a peer’s freshness is unknown', () => {
    expect(computeStage({ ...ok, lagMs: 12.6 }).lagMs).toBe(13);
    expect(computeStage({ ...ok, lagMs: -40 }).lagMs).toBe(0);
    expect(computeStage({ ...ok, lagMs: Infinity })).toEqual({ stage: 'catching-up', reason: 'lag', lagMs: null });
    // NaN is not "caught up" either.
    expect(computeStage({ ...ok, lagMs: NaN })).toMatchObject({ stage: 'catching-up', reason: 'lag', lagMs: null });
  });

  it('canWrite and canRead follow the stage: a node fenced for its lease or a drain still writes its unguarded rows', () => {
    const v = (stage: StageView['stage'], reason: StageView['reason']): StageView => ({ stage, reason, lagMs: 0 });
    expect([canRead(v('catching-up', 'starting')), canWrite(v('catching-up', 'starting'))]).toEqual([false, false]);
    expect([canRead(v('read-ready', 'lag')), canWrite(v('read-ready', 'lag'))]).toEqual([true, false]);
    expect([canRead(v('fenced', 'lease')), canWrite(v('fenced', 'lease'))]).toEqual([true, true]);
    expect([canRead(v('fenced', 'drain')), canWrite(v('fenced', 'drain'))]).toEqual([true, true]);
    expect([canRead(v('fenced', 'clock')), canWrite(v('fenced', 'clock'))]).toEqual([true, false]);
    expect([canRead(v('fenced', 'storage')), canWrite(v('fenced', 'storage'))]).toEqual([true, false]);
    expect([canRead(v('write-ready', null)), canWrite(v('write-ready', null))]).toEqual([true, true]);
  });
});

const async = (request: Extract<RegionRequest, { api: 'async' }>['request']): RegionRequest => ({ api: 'async', request });
const strong = (request: Extract<RegionRequest, { api: 'strong' }>['request']): RegionRequest => ({ api: 'strong', request });
const requests = {
  read: async({ kind: 'read', table: 'free', key: 'k' }),
  scan: async({ kind: 'scan', table: 'free' }),
  conflicts: async({ kind: 'conflicts' }),
  bounded: async({ kind: 'read', table: 'free', key: 'k', consistency: 'bounded', maxStalenessMs: 100 }),
  boundedScan: async({ kind: 'scan', table: 'free', consistency: 'bounded', maxStalenessMs: 100 }),
  strongRead: strong({ kind: 'read', table: 'accounts', key: 'k' }),
  strongEventual: strong({ kind: 'read', table: 'accounts', key: 'k', consistency: 'eventual' }),
  strongSession: strong({ kind: 'read', table: 'accounts', key: 'k', consistency: 'session', session: 7 }),
  strongCausalScan: strong({ kind: 'scan', table: 'accounts', consistency: 'causal', session: 9 }),
  strongBounded: strong({ kind: 'read', table: 'accounts', key: 'k', consistency: 'bounded', maxStalenessMs: 100 }),
  sessionRead: async({ kind: 'read', table: 'free', key: 'k', consistency: 'session', session: 't1' }),
  write: async({ kind: 'write', table: 'free', key: 'k', body: { set: { x: 1 } } }),
  delete: async({ kind: 'delete', table: 'free', key: 'k' }),
  strongWrite: strong({ kind: 'write', table: 'accounts', key: 'k', body: { incr: { balance: 1 } } }),
  txn: strong({ kind: 'txn', body: {} }),
  putTable: strong({ kind: 'put-table', table: 'n', body: { mode: 'async' } }),
  admin: { api: 'admin', request: { kind: 'drain', region: 'a' } } as RegionRequest,
  claim: strong({ kind: 'claim', table: 'u', field: 'email', value: 'x', key: 'k' }),
  lease: strong({ kind: 'lease', command: { t: 'lease', op: 'drain', slot: 'a', wallMs: 0 } }),
} as const;
type Name = keyof typeof requests;
const reads: Name[] = ['read', 'scan', 'conflicts', 'bounded', 'boundedScan', 'strongRead', 'strongEventual', 'strongSession', 'strongCausalScan', 'strongBounded', 'sessionRead'];
const writes: Name[] = ['write', 'delete', 'strongWrite', 'txn'];
const always: Name[] = ['admin', 'claim', 'lease'];
const elsewhere: Elsewhere = { readers: ['b', 'c'], writers: ['c'] };
const view = (stage: StageView['stage'], reason: StageView['reason'], lagMs: number | null = 0): StageView => ({ stage, reason, lagMs });
const problem = (v: StageView, name: Name, strongApplied?: number) => admissionProblem('a', requests[name], v, elsewhere, strongApplied);

describe('admissionProblem', () => {
  it('write-ready serves everything', () => {
    for (const name of Object.keys(requests) as Name[]) expect(problem(view('write-ready', null), name), name).toBeNull();
  });

  it('catching-up refuses every data request with NOT_READY (the reason, and where to go instead); serves table changes and the core’s own requests', () => {
    const v = view('catching-up', 'lag', 6000);
    for (const name of reads) expect(problem(v, name), name).toMatchObject({ code: 'NOT_READY', reason: 'lag', regions: ['b', 'c'] });
    for (const name of writes) expect(problem(v, name), name).toMatchObject({ code: 'NOT_READY', reason: 'lag', regions: ['c'] });
    expect(problem(v, 'read')?.message).toContain('catching-up (lag, 6000 ms behind)');
    expect(problem(view('catching-up', 'starting', null), 'write')).toMatchObject({ code: 'NOT_READY', reason: 'starting' });
    for (const name of [...always, 'putTable'] as Name[]) expect(problem(v, name), name).toBeNull();
  });

  it('read-ready serves reads and refuses writes with NOT_READY', () => {
    const v = view('read-ready', 'lag', 2000);
    for (const name of reads) expect(problem(v, name), name).toBeNull();
    for (const name of writes) expect(problem(v, name), name).toMatchObject({ code: 'NOT_READY', reason: 'lag', regions: ['c'] });
    for (const name of always) expect(problem(v, name), name).toBeNull();
  });

  it('fenced for the lease or a drain lets every request through (the write guard refuses the guarded rows)', () => {
    for (const reason of ['lease', 'drain'] as const) {
      for (const name of Object.keys(requests) as Name[]) expect(problem(view('fenced', reason), name), `${reason} ${name}`).toBeNull();
    }
  });

  it('fenced for the clock serves plain reads; refuses writes, table changes and bounded reads with FENCED (reason clock), naming where to go', () => {
    const v = view('fenced', 'clock');
    for (const name of ['read', 'scan', 'conflicts', 'strongRead', 'strongEventual', 'strongSession', 'strongCausalScan', 'sessionRead'] as Name[]) expect(problem(v, name), name).toBeNull();
    for (const name of [...writes, 'putTable'] as Name[]) expect(problem(v, name), name).toMatchObject({ code: 'FENCED', reason: 'clock', regions: ['c'] });
    for (const name of ['bounded', 'boundedScan', 'strongBounded'] as Name[]) expect(problem(v, name), name).toMatchObject({ code: 'FENCED', reason: 'clock', regions: ['b', 'c'] });
    for (const name of always) expect(problem(v, name), name).toBeNull();
  });

  it('fenced for its storage (a full disk) serves reads of its own data; refuses writes and table changes with 507 (reason storage), naming the writers elsewhere', () => {
    const v = view('fenced', 'storage', null);
    for (const name of ['read', 'scan', 'conflicts', 'sessionRead', 'strongEventual'] as Name[]) expect(problem(v, name, 10), name).toBeNull();
    for (const name of [...writes, 'putTable'] as Name[]) {
      const e = problem(v, name, 10);
      expect(e, name).toMatchObject({ code: 'INSUFFICIENT_STORAGE', reason: 'storage', regions: ['c'] });
      expect(e?.mayHaveCommitted, name).toBeUndefined();
    }
    expect(problem(v, 'write')?.message).toMatch(/disk is full: it takes no writes until space is freed .* returns to service by itself then; retry in c$/);
    // What needs a word from its peers, which it does not hear meanwhile: bounded reads, strong
    // reads (a read point from the leader), and strong session reads ahead of what it applied.
    for (const name of ['bounded', 'boundedScan', 'strongBounded', 'strongRead'] as Name[]) expect(problem(v, name, 10), name).toMatchObject({ code: 'INSUFFICIENT_STORAGE', reason: 'storage', regions: ['b', 'c'] });
    expect(problem(v, 'strongSession', 7)).toBeNull();
    expect(problem(v, 'strongSession', 6)).toMatchObject({ code: 'INSUFFICIENT_STORAGE', regions: ['b', 'c'] });
    expect(problem(v, 'strongCausalScan', 9)).toBeNull();
    expect(problem(v, 'strongCausalScan', 8)?.code).toBe('INSUFFICIENT_STORAGE');
    // Operator requests and the core's own requests go on.
    for (const name of always) expect(problem(v, name), name).toBeNull();
    // A strong session read ahead of this region waits for the group in any other stage.
    expect(problem(view('fenced', 'lease'), 'strongSession', 0)).toBeNull();
  });

  it('with nowhere else to go, the message says so and regions is empty', () => {
    const e = admissionProblem('a', requests.write, view('read-ready', 'lag'), { readers: [], writers: [] });
    expect(e).toMatchObject({ code: 'NOT_READY', regions: [] });
    expect(e?.message).toContain('another region');
  });
});

describe('the write guard (what fenced for the lease still refuses)', () => {
  const acquire = (slot: string, by: string, basedOn: number): LeaseCommandBody => ({ t: 'lease', op: 'acquire', slot, by, basedOn, boot: `${by}.1`, monoMs: 0, wallMs: 0 });

  function guardOf(options: { holds?: readonly string[]; index?: number; table?: LeaseTable; fenceByLatestEpoch?: boolean; able?: readonly string[]; expected?: { region: string; inMs: number } | null } = {}) {
    const table = options.table ?? new LeaseTable();
    const port: WriteRightsPort = {
      self: 'a',
      regions: ['a', 'b', 'c'],
      table: () => table,
      strongIndex: () => options.index ?? 10,
      holds: (slot, s) => ((options.holds ?? []).includes(slot) ? { slot, epoch: s.epoch } : null),
      fencedReason: () => 'lease',
      ableRegions: (slot) => (options.able !== undefined ? options.able : slot === 'a' ? ['b'] : []),
      expectedTaker: () => options.expected ?? null,
      fenceByLatestEpoch: options.fenceByLatestEpoch ?? false,
    };
    return { guard: new RegionWriteGuard(port), table };
  }

  it('multi-writer tables that accept when isolated never need rights (no fence stamp)', () => {
    const { guard } = guardOf();
    expect(guard.check('free', 'k', tableOf('free'), null)).toEqual({ ok: true, fence: null });
  });

  it('guarded rows without the lease: 503 FENCED with the reason and who can take the write; with it, a fence stamp', () => {
    const { guard, table } = guardOf();
    table.apply(3, acquire('a', 'a', 0));
    for (const [t, home] of [
      ['strict', null],
      ['homed', 'a'],
      ['failover', 'a'],
    ] as const) {
      const r = guard.check(t, 'k', tableOf(t), home);
      expect(r, t).toMatchObject({ ok: false, error: { code: 'FENCED', reason: 'lease', regions: ['b'] } });
    }
    const held = guardOf({ holds: ['a'], index: 12, table });
    expect(held.guard.check('strict', 'k', tableOf('strict'), null)).toEqual({ ok: true, fence: { slot: 'a', epoch: 1, at: 12 } });
  });

  it('with no region able to take the write now, FENCED names the one expected to take it over and when (and says when none is)', () => {
    const table = new LeaseTable();
    table.apply(3, acquire('a', 'a', 0));
    const soon = guardOf({ table, able: [], expected: { region: 'b', inMs: 1600 } }).guard.check('failover', 'k', tableOf('failover'), 'a');
    expect(soon).toMatchObject({ ok: false, error: { code: 'FENCED', regions: [], expected: { region: 'b', inMs: 1600 } } });
    if (soon.ok) throw new Error('expected a refusal');
    expect(soon.error.message).toContain('b is expected to take it in about 1.6 s');
    const none = guardOf({ table, able: [], expected: null }).guard.check('failover', 'k', tableOf('failover'), 'a');
    if (none.ok) throw new Error('expected a refusal');
    expect(none.error.expected).toBeUndefined();
    expect(none.error.message).toContain('no region can take it right now');
  });

  it('a row homed elsewhere is WRONG_REGION naming whoever writes it now', () => {
    const table = new LeaseTable();
    const { guard } = guardOf({ table, holds: ['a', 'b'] });
    // A home table: the home, whoever holds its slot; an unknown home is named too.
    table.apply(1, acquire('b', 'a', 0));
    expect(guard.check('homed', 'k', tableOf('homed'), 'b')).toMatchObject({ ok: false, error: { code: 'WRONG_REGION', home: 'b' } });
    expect(guard.check('homed', 'k', tableOf('homed'), 'zz')).toMatchObject({ ok: false, error: { code: 'WRONG_REGION', home: 'zz' } });
    // Home-with-failover: this region writes b's rows while it holds b's slot...
    expect(guard.check('failover', 'k', tableOf('failover'), 'b')).toEqual({ ok: true, fence: { slot: 'b', epoch: 1, at: 10 } });
    // ...c writes them while c holds it, b when b holds it or nobody does.
    table.apply(2, acquire('b', 'c', 1));
    expect(guard.check('failover', 'k', tableOf('failover'), 'b')).toMatchObject({ ok: false, error: { code: 'WRONG_REGION', home: 'c' } });
    table.apply(3, acquire('b', 'b', 2));
    expect(guard.check('failover', 'k', tableOf('failover'), 'b')).toMatchObject({ ok: false, error: { code: 'WRONG_REGION', home: 'b' } });
    expect(guard.check('failover', 'k', tableOf('failover'), 'c')).toMatchObject({ ok: false, error: { code: 'WRONG_REGION', home: 'c' } });
  });

  it('a remote guarded op waits for the strong log to reach its stamp, and applies only if its writer held that epoch there', () => {
    const table = new LeaseTable();
    table.apply(2, acquire('b', 'b', 0));
    table.apply(8, acquire('b', 'c', 2));
    const { guard } = guardOf({ table, index: 10 });
    const op = (origin: string, epoch: number, at: number) => ({ dot: { origin, seq: 1 }, fence: { slot: 'b', epoch, at } }) as unknown as Op & { readonly fence: FenceStamp };
    expect(guard.verdict(op('b', 1, 11))).toBe('wait');
    expect(guard.verdict(op('b', 1, 5))).toBe('apply');
    expect(guard.verdict(op('b', 1, 8))).toBe('fenced'); // c held it from 8 on
    expect(guard.verdict(op('c', 2, 9))).toBe('apply');
    expect(guard.verdict(op('c', 1, 9))).toBe('fenced'); // right holder, wrong epoch
    expect(guard.holderAt('b', 9)).toEqual({ holder: 'c', epoch: 2 });
    // The deliberately wrong knob judges by the latest epoch instead, refusing b's legitimate op.
    const wrong = guardOf({ table, index: 10, fenceByLatestEpoch: true });
    expect(wrong.guard.verdict(op('b', 1, 5))).toBe('fenced');
  });
});

describe('failover settings', () => {
  const cluster = { regions: ['a', 'b', 'c'], raftElectionMs: 300, maxClockOffsetMs: 100, tickMs: 10 };
  // renewMs + 2 × electionMs + offset = 300 + 600 + 100.
  const good: FailoverSettings = { ...failoverDefaults, leaseMs: 1000, renewMs: 300, failoverOrder: { a: ['b', 'c'] } };
  const fieldOf = (f: Partial<FailoverSettings>, where?: string) => {
    const e = failoverProblem({ ...good, ...f }, cluster, where);
    return e === null ? null : { code: e.code, field: e.field };
  };

  it('accepts consistent settings (the defaults with the floor met exactly)', () => {
    expect(failoverProblem(good, cluster)).toBeNull();
    expect(failoverProblem({ ...failoverDefaults, failoverOrder: {} }, { ...cluster, raftElectionMs: 1000 })).toBeNull();
  });

  it('refuses a lease too short for a renewal to survive an election (renewMs + 2 × raftElectionMs + maxClockOffsetMs)', () => {
    expect(fieldOf({ leaseMs: 999 })).toEqual({ code: 'BAD_REQUEST', field: 'settings.leaseMs' });
    expect(failoverProblem({ ...good, leaseMs: 999 }, cluster)?.message).toContain('300 + 2 × 300 + 100 = 1000 ms');
    // Each term of the floor counts.
    expect(failoverProblem(good, { ...cluster, maxClockOffsetMs: 101 })?.field).toBe('settings.leaseMs');
    expect(failoverProblem(good, { ...cluster, raftElectionMs: 301 })?.field).toBe('settings.leaseMs');
    expect(fieldOf({ renewMs: 301 })).toEqual({ code: 'BAD_REQUEST', field: 'settings.leaseMs' });
  });

  it('refuses readReadyLagMs below writeReadyLagMs (a region that may write may read); equal is fine', () => {
    expect(fieldOf({ readReadyLagMs: 999, writeReadyLagMs: 1000 })).toEqual({ code: 'BAD_REQUEST', field: 'settings.readReadyLagMs' });
    expect(fieldOf({ readReadyLagMs: 1000, writeReadyLagMs: 1000 })).toBeNull();
  });

  it('refuses durations that are not positive integers, and renewals more often than the tick', () => {
    for (const name of ['leaseMs', 'renewMs', 'readReadyLagMs', 'writeReadyLagMs', 'clockProbeMs', 'reachableWithinMs'] as const) {
      for (const v of [0, -1, 1.5, NaN]) expect(fieldOf({ [name]: v }), `${name} ${v}`).toEqual({ code: 'BAD_REQUEST', field: `settings.${name}` });
    }
    expect(fieldOf({ renewMs: 9 })).toEqual({ code: 'BAD_REQUEST', field: 'settings.renewMs' });
  });

  it('refuses a failover order with an unknown home, an empty list, an unknown region, the home itself or a region twice', () => {
    expect(fieldOf({ failoverOrder: { zz: ['a'] } })).toEqual({ code: 'BAD_REQUEST', field: 'settings.failoverOrder.zz' });
    expect(fieldOf({ failoverOrder: { a: [] } })).toEqual({ code: 'BAD_REQUEST', field: 'settings.failoverOrder.a' });
    expect(fieldOf({ failoverOrder: { a: ['b', 'zz'] } })).toEqual({ code: 'BAD_REQUEST', field: 'settings.failoverOrder.a[1]' });
    expect(fieldOf({ failoverOrder: { a: ['a'] } })).toEqual({ code: 'BAD_REQUEST', field: 'settings.failoverOrder.a[0]' });
    expect(fieldOf({ failoverOrder: { b: ['c', 'a', 'c'] } })).toEqual({ code: 'BAD_REQUEST', field: 'settings.failoverOrder.b[2]' });
    expect(failoverProblem({ ...good, failoverOrder: { a: ['a'] } }, cluster)?.message).toContain('cannot take over its own rows');
    expect(failoverProblem({ ...good, failoverOrder: { b: ['c', 'c'] } }, cluster)?.message).toContain('listed twice');
    // The prefix names where the settings came from.
    expect(fieldOf({ failoverOrder: { a: [] } }, 'config.failover')).toEqual({ code: 'BAD_REQUEST', field: 'config.failover.failoverOrder.a' });
  });

  it('a home-with-failover table needs a second region; other ownerships do not care', () => {
    const failover = policy({ mode: 'async', ownership: 'home-with-failover', home: { field: 'home' } });
    expect(failoverTableProblem('t', failover, ['a'])).toMatchObject({ code: 'BAD_REQUEST', field: 'tables.t.ownership' });
    expect(failoverTableProblem('t', failover, ['a'], 'schema.t')?.field).toBe('schema.t.ownership');
    expect(failoverTableProblem('t', failover, ['a', 'b'])).toBeNull();
    expect(failoverTableProblem('t', tableOf('homed'), ['a'])).toBeNull();
    expect(failoverTableProblem('t', tableOf('free'), ['a'])).toBeNull();
  });
});
