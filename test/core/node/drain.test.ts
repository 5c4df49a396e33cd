/**
 * Drain is safe to call (src/core/strong/drain-rules.ts): a drain that would leave guarded writes
 * with no region to take them is refused (409 DRAIN_UNSAFE) at the node and again when the log
 * applies it, unless forced; repeats change nothing (and, at the leader, write nothing); identical
 * requests in flight coalesce; a region's drain waits a lease after its last change (429
 * TOO_SOON). The rule itself, as a pure function; the cluster cases on the deterministic
 * three-region harness; the HTTP side through the API in front of one of its cores.
 */
import { describe, expect, it } from 'vitest';
import { errorRegistry } from '../../../src/core/errors.js';
import { drainProblem, drainTooSoon, strandedByDrain, strandedRows, type DrainScope } from '../../../src/core/strong/drain-rules.js';
import type { AdminReply, AdminRequest, RegionReply } from '../../../src/core/node/messages.js';
import type { CallReply } from '../../../src/core/node/client-call.js';
import type { TablePolicy } from '../../../src/core/schema/policy.js';
import { buildApi, type ApiNode } from '../../../src/server/http-api.js';
import type { NodeMetrics } from '../../../src/server/metrics.js';
import type { NodeStatus } from '../../../src/server/region-node.js';
import { policy, RegionCluster, regions } from './cluster.js';

const leaseMs = 1500; // the harness's failover settings

type Err = Extract<RegionReply, { ok: false }>;
const errorOf = (r: RegionReply | undefined) => (r !== undefined && !r.ok ? (r as Err).error : undefined);
const guarded = ['failover', 'homed', 'strict']; // the harness's tables with guarded writes, by name

/** Write-ready, with the strong group settled under its preferred leader, a (whose no-op is an entry too). */
function ready(): RegionCluster {
  const c = new RegionCluster();
  c.until(() => c.allWriteReady() && c.core('a').status().raft.role === 'leader', 5000, 'write-ready under leader a');
  c.run(300);
  return c;
}

const drainReq = (region: string, force?: boolean): AdminRequest => ({ kind: 'drain', region, ...(force !== undefined ? { force } : {}) });
const drain = (c: RegionCluster, at: string, region: string, force?: boolean) => c.await(c.submit(at, { api: 'admin', request: drainReq(region, force) }));
/** Entries a region applied that clients and operators asked for (not the regions' own lease traffic). */
const requested = (c: RegionCluster, at = 'a') => {
  const raft = c.core(at).status().raft;
  return raft.appliedIndex - raft.leaseEntries;
};
const strictWrite = (c: RegionCluster, region: string, key: string) => c.write(region, 'strict', key, { x: 1 });
const drainedFlags = (c: RegionCluster, at: string) => regions.map((r) => c.lease(at, r)?.drained);

describe('drain rules (pure)', () => {
  const tables: Record<string, TablePolicy> = {
    free: policy({ mode: 'async' }),
    strict: policy({ mode: 'async', whenIsolated: 'reject' }),
    homedA: policy({ mode: 'async', ownership: 'home', home: { region: 'a' } }),
    homedByField: policy({ mode: 'async', ownership: 'home', home: { field: 'home' } }),
    failoverA: policy({ mode: 'async', ownership: 'home-with-failover', home: { region: 'a' } }),
    failoverByField: policy({ mode: 'async', ownership: 'home-with-failover', home: { field: 'home' } }),
    accounts: policy({ mode: 'strong' }),
  };
  const scope: DrainScope = { regions, failoverOrder: {} };
  const only = (names: string[]) => Object.fromEntries(names.map((n) => [n, tables[n] as TablePolicy]));
  const set = (...r: string[]) => new Set(r);

  it('unguarded tables (whenIsolated: accept, strong) never stop a drain, even of the last region', () => {
    expect(strandedByDrain('c', only(['free', 'accounts']), scope, set('a', 'b'))).toEqual([]);
  });

  it('multi-writer whenIsolated: reject needs one undrained region', () => {
    const t = only(['strict']);
    expect(strandedByDrain('b', t, scope, set('a'))).toEqual([]);
    expect(strandedByDrain('c', t, scope, set('a', 'b'))).toEqual([{ table: 'strict', home: null }]);
  });

  it('home: {region} is stranded by a drain of its home, of nothing else', () => {
    const t = only(['homedA']);
    expect(strandedByDrain('a', t, scope, set())).toEqual([{ table: 'homedA', home: 'a' }]);
    expect(strandedByDrain('b', t, scope, set('c'))).toEqual([]);
  });

  it('home: {field} needs one undrained region (rows homed in a drained region wait for it: home rows never fail over)', () => {
    const t = only(['homedByField']);
    expect(strandedByDrain('a', t, scope, set())).toEqual([]);
    expect(strandedByDrain('b', t, scope, set('a'))).toEqual([]);
    expect(strandedByDrain('c', t, scope, set('a', 'b'))).toEqual([{ table: 'homedByField', home: null }]);
  });

  it('home-with-failover: a drained home needs an undrained region of its failover order, else of any other region', () => {
    // Without a configured order, any other region takes over.
    expect(strandedByDrain('a', only(['failoverA']), scope, set('b'))).toEqual([]);
    expect(strandedByDrain('c', only(['failoverA']), scope, set('a', 'b'))).toEqual([{ table: 'failoverA', home: 'a' }]);
    // A home that is not drained needs nobody else.
    expect(strandedByDrain('c', only(['failoverA']), scope, set('b'))).toEqual([]);
    // With a configured order, only the regions it lists count: c is up but may not take a's rows.
    const ordered: DrainScope = { regions, failoverOrder: { a: ['b'] } };
    expect(strandedByDrain('a', only(['failoverA']), ordered, set('b'))).toEqual([{ table: 'failoverA', home: 'a' }]);
    expect(strandedByDrain('b', only(['failoverA']), ordered, set('a'))).toEqual([{ table: 'failoverA', home: 'a' }]);
    expect(strandedByDrain('c', only(['failoverA']), ordered, set('a'))).toEqual([]);
    // Homed by a field: every region is a home, each with its own order.
    expect(strandedByDrain('b', only(['failoverByField']), ordered, set('c'))).toEqual([]);
    expect(strandedByDrain('b', only(['failoverByField']), ordered, set('a'))).toEqual([{ table: 'failoverByField', home: 'a' }]);
    expect(strandedByDrain('c', only(['failoverByField']), scope, set('a', 'b'))).toEqual(['a', 'b', 'c'].map((home) => ({ table: 'failoverByField', home })));
  });

  it('rows stranded before the drain (by a forced one) do not make an unrelated drain unsafe', () => {
    const t = only(['homedA', 'strict']);
    expect(strandedRows(t, scope, set('a'))).toEqual([{ table: 'homedA', home: 'a' }]);
    expect(strandedByDrain('b', t, scope, set('a'))).toEqual([]);
    expect(strandedByDrain('c', t, scope, set('a', 'b'))).toEqual([{ table: 'strict', home: null }]);
  });

  it('the answer: 409 DRAIN_UNSAFE (not retryable) naming the tables, the rows and force; 429 TOO_SOON (retryable) saying when to retry', () => {
    expect(drainProblem('a', tables, scope, set())).toMatchObject({ code: 'DRAIN_UNSAFE', tables: ['homedA'] });
    const e = drainProblem('c', tables, scope, set('a', 'b'));
    expect(e).toMatchObject({ code: 'DRAIN_UNSAFE', tables: ['failoverA', 'failoverByField', 'homedByField', 'strict'] });
    expect(e?.message).toContain('failoverByField (rows homed in a, b, c)');
    expect(e?.message).toContain('with a, b drained already');
    expect(e?.message).toContain('"force": true');
    expect(errorRegistry.DRAIN_UNSAFE).toMatchObject({ status: 409, retryable: false });
    const soon = drainTooSoon('b', 300.4, leaseMs);
    expect(soon).toMatchObject({ code: 'TOO_SOON' });
    expect(soon.message).toContain('retry in 1200 ms');
    expect(errorRegistry.TOO_SOON).toMatchObject({ status: 429, retryable: true });
  });
});

describe('drain in a region core', () => {
  it('draining every region: the last is refused 409 naming the tables, and it keeps taking guarded writes; force: true drains it', () => {
    const c = ready();
    expect(drain(c, 'a', 'a')).toMatchObject({ ok: true, kind: 'drain', region: 'a', changed: true });
    expect(drain(c, 'c', 'b')).toMatchObject({ ok: true, region: 'b', changed: true });
    c.until(() => c.core('c').stage.stage === 'write-ready' && c.lease('c', 'a')?.holder === 'c' && c.lease('c', 'b')?.holder === 'c', 3000, 'c takes a’s and b’s rows');
    const before = requested(c);
    for (const at of regions) {
      const e = errorOf(drain(c, at, 'c'));
      expect(e, at).toMatchObject({ code: 'DRAIN_UNSAFE', tables: guarded });
      expect(e?.message).toContain('force');
    }
    c.run(200);
    expect(requested(c)).toBe(before); // refused before proposing: nothing in the log
    expect(drainedFlags(c, 'a')).toEqual([true, true, false]);
    // c is still write-ready, and takes the guarded writes: its own, and those of the homes it took over.
    expect(c.core('c').stage.stage).toBe('write-ready');
    expect(strictWrite(c, 'c', 's1')).toMatchObject({ ok: true });
    expect(c.write('c', 'failover', 'fa', { home: 'a', x: 1 })).toMatchObject({ ok: true });

    expect(drain(c, 'a', 'c', true)).toMatchObject({ ok: true, region: 'c', changed: true });
    c.until(() => c.core('c').stage.reason === 'drain', 1000, 'c drained');
    expect(errorOf(strictWrite(c, 'c', 's2'))).toMatchObject({ code: 'FENCED', reason: 'drain' });
    expect(drainedFlags(c, 'b')).toEqual([true, true, true]);
  });

  it('a drain of a drained region and an undrain of an undrained one answer changed: false; at the leader without a log entry, elsewhere through the log', () => {
    const c = ready();
    expect(drain(c, 'a', 'b')).toMatchObject({ ok: true, changed: true });
    c.run(200);
    const before = requested(c);
    // At the strong group's leader (a): at once, from its applied state, nothing written.
    expect(drain(c, 'a', 'b')).toMatchObject({ ok: true, kind: 'drain', region: 'b', changed: false });
    expect(drain(c, 'a', 'b', true)).toMatchObject({ ok: true, changed: false });
    expect(c.admin('a', 'undrain', 'a')).toMatchObject({ ok: true, kind: 'undrain', region: 'a', changed: false });
    // The answer's index is the applied position it was judged at.
    expect(c.admin('a', 'undrain', 'c')).toMatchObject({ ok: true, changed: false, index: c.core('a').status().raft.appliedIndex });
    c.run(200);
    expect(requested(c)).toBe(before);
    // Elsewhere the region may not have applied a change just made through another: the log answers.
    for (const at of ['b', 'c']) {
      expect(drain(c, at, 'b'), at).toMatchObject({ ok: true, kind: 'drain', changed: false });
      expect(c.admin(at, 'undrain', 'a'), at).toMatchObject({ ok: true, kind: 'undrain', changed: false });
    }
    c.run(200);
    expect(requested(c) - before).toBe(4);
    for (const r of regions) expect(drainedFlags(c, r), r).toEqual([false, true, false]);
  });

  it('an undrain sent to another region right after a drain is not taken for a repeat there, though that region has not applied the drain yet', () => {
    const c = ready();
    expect(drain(c, 'a', 'b')).toMatchObject({ ok: true, changed: true });
    expect(c.lease('c', 'b')?.drained).toBe(false); // c has not heard yet
    expect(c.admin('c', 'undrain', 'b')).toMatchObject({ ok: true, kind: 'undrain', changed: true });
    c.run(200);
    for (const r of regions) expect(drainedFlags(c, r), r).toEqual([false, false, false]);
  });

  it('20 drains of one region submitted in the same turn to one node write one log entry and all get its answer', () => {
    const c = ready();
    const before = requested(c);
    const ids = c.submitAll('a', Array.from({ length: 20 }, () => ({ api: 'admin' as const, request: drainReq('b') })));
    // And more while it is in flight, a turn at a time.
    ids.push(c.submit('a', { api: 'admin', request: drainReq('b') }), c.submit('a', { api: 'admin', request: drainReq('b') }));
    const replies = ids.map((id) => c.await(id));
    const index = (replies[0] as Extract<AdminReply, { ok: true }>).index;
    for (const r of replies) expect(r).toMatchObject({ ok: true, kind: 'drain', region: 'b', changed: true, index });
    c.run(300);
    expect(requested(c) - before).toBe(1);
    // At a follower too; and a different request for the region waits for the one in flight, then is judged afresh.
    const ids2 = c.submitAll('b', [{ api: 'admin', request: { kind: 'undrain', region: 'b' } }, { api: 'admin', request: { kind: 'undrain', region: 'b' } }, { api: 'admin', request: drainReq('b') }]);
    const [u1, u2, d] = ids2.map((id) => c.await(id));
    expect(u1).toMatchObject({ ok: true, kind: 'undrain', changed: true });
    expect(u2).toEqual(u1);
    // The drain waited for the undrain in flight, then was judged afresh: b changed just now.
    expect(errorOf(d)).toMatchObject({ code: 'TOO_SOON' });
    c.run(300);
    expect(requested(c) - before).toBe(2);
  });

  it('a drain waiting on this node\'s own undrain of the region is judged against that undrain (TOO_SOON), even when the last drain was long ago', () => {
    const c = ready();
    expect(drain(c, 'a', 'b')).toMatchObject({ ok: true, changed: true });
    c.run(leaseMs + 500);
    const [u, d] = c.submitAll('a', [{ api: 'admin', request: { kind: 'undrain', region: 'b' } }, { api: 'admin', request: drainReq('b') }]).map((id) => c.await(id));
    expect(u).toMatchObject({ ok: true, kind: 'undrain', changed: true });
    expect(errorOf(d)).toMatchObject({ code: 'TOO_SOON' });
  });

  it('a drain right after an undrain is refused TOO_SOON (retry in less than leaseMs), and taken once leaseMs has passed; an undrain is never too soon', () => {
    const c = ready();
    expect(drain(c, 'a', 'b')).toMatchObject({ ok: true, changed: true });
    // The way back is always open, however soon.
    expect(c.admin('c', 'undrain', 'b')).toMatchObject({ ok: true, kind: 'undrain', changed: true });
    c.run(50);
    const before = requested(c);
    for (const at of regions) {
      const e = errorOf(drain(c, at, 'b'));
      expect(e, at).toMatchObject({ code: 'TOO_SOON' });
      const wait = Number(/retry in (\d+) ms/.exec(e?.message ?? '')?.[1]);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(leaseMs);
    }
    // Even forced: the bound is on how fast the slot moves, not on safety.
    expect(errorOf(drain(c, 'a', 'b', true))).toMatchObject({ code: 'TOO_SOON' });
    c.run(200);
    expect(requested(c)).toBe(before);
    c.run(leaseMs);
    expect(drain(c, 'b', 'b')).toMatchObject({ ok: true, changed: true });
  });

  it('drains and undrains sent as fast as possible move a slot’s epoch at most about twice per leaseMs', () => {
    const c = ready();
    c.write('b', 'failover', 'fb', { home: 'b' });
    c.run(300);
    const epoch0 = c.core('a').strong.state.leases.slot('b').epoch;
    const start = c.nowMs;
    let accepted = 0;
    for (let i = 0; c.nowMs - start < 6 * leaseMs; i++) {
      const at = regions[i % 3] as string;
      const r = i % 2 === 0 ? drain(c, at, 'b') : c.admin(at, 'undrain', 'b');
      if (r?.ok === true && r.kind === 'drain' && r.changed) accepted++;
      c.run(20);
    }
    c.run(1000);
    const elapsed = c.nowMs - start;
    const moved = c.core('a').strong.state.leases.slot('b').epoch - epoch0;
    expect(accepted).toBeGreaterThan(1);
    expect(accepted).toBeLessThanOrEqual(Math.ceil(elapsed / leaseMs));
    expect(moved).toBeLessThanOrEqual(2 * Math.ceil(elapsed / leaseMs));
  });

  it('two concurrent drains of the last two undrained regions, at two nodes: exactly one succeeds (checked again when applied)', () => {
    const c = ready();
    expect(drain(c, 'a', 'a')).toMatchObject({ ok: true, changed: true });
    c.run(200);
    const before = requested(c);
    // Both submitted before either node has applied the other's: each passes its node's check.
    const atB = c.submit('b', { api: 'admin', request: drainReq('b') });
    const atC = c.submit('c', { api: 'admin', request: drainReq('c') });
    const replies = [c.await(atB), c.await(atC)];
    const won = replies.filter((r) => r?.ok === true);
    const lost = replies.map(errorOf).filter((e) => e !== undefined);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ code: 'DRAIN_UNSAFE', tables: guarded });
    c.run(300);
    // Both reached the log (the refusal was the state machine's), and every region agrees on the result.
    expect(requested(c) - before).toBe(2);
    for (const r of regions) expect(drainedFlags(c, r).filter((d) => d === true), r).toHaveLength(2);
    const left = regions.find((r) => c.lease('a', r)?.drained === false) as string;
    c.until(() => c.core(left).stage.stage === 'write-ready', 3000, 'the one left is write-ready');
    expect(strictWrite(c, left, 'k')).toMatchObject({ ok: true });
  });

  it('force must be a boolean: BAD_REQUEST naming force, and nothing changes', () => {
    const c = ready();
    for (const force of ['yes', 1, null]) {
      const r = c.await(c.submit('a', { api: 'admin', request: { kind: 'drain', region: 'b', force } }));
      expect(errorOf(r), String(force)).toMatchObject({ code: 'BAD_REQUEST', field: 'force' });
    }
    expect(drainedFlags(c, 'a')).toEqual([false, false, false]);
  });
});

describe('drain over HTTP', () => {
  /** The API in front of region a's core of a deterministic cluster (only the admin routes are used). */
  function api(c: RegionCluster) {
    const unused = () => Promise.reject(new Error('not used here'));
    const node: ApiNode = {
      cluster: 'test',
      region: 'a',
      nodeId: 'a-1',
      // The node's one door: every call goes to the core's front door, as RegionNode sends it.
      submit: async (call) => c.answer(c.call('a', call)) as CallReply<NodeStatus>,
      authenticate: async () => ({ ok: true, value: undefined }),
      isNode: () => false,
      knownUser: () => null,
      authRequired: false,
      readiness: () => c.core('a').status() as unknown as NodeStatus,
      backup: unused,
      snapshots: null,
      tables: () => c.core('a').tables(),
      regions,
      mergeFunctions: [],
      metrics: { observeRequest: () => undefined } as unknown as NodeMetrics,
    };
    const app = buildApi(node);
    return async (path: string, payload: unknown) => {
      const r = await app.inject({ method: 'POST', url: path, payload: payload as Record<string, unknown> });
      return { status: r.statusCode, body: r.json(), retryAfter: r.headers['retry-after'] };
    };
  }

  it('force is accepted (a boolean, else 400 naming force); DRAIN_UNSAFE is 409 with the tables, TOO_SOON 429; a repeat says changed: false', async () => {
    const c = ready();
    const post = api(c);
    expect(await post('/v1/admin/drain', { region: 'b', force: 'yes' })).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST', field: 'force', retryable: false } } });
    expect(await post('/v1/admin/drain', { region: 'b' })).toMatchObject({ status: 200, body: { region: 'b', drained: true, changed: true } });
    expect(await post('/v1/admin/drain', { region: 'b', force: false })).toMatchObject({ status: 200, body: { region: 'b', drained: true, changed: false } });
    expect(await post('/v1/admin/drain', { region: 'a' })).toMatchObject({ status: 200, body: { changed: true } });
    const unsafe = await post('/v1/admin/drain', { region: 'c' });
    expect(unsafe).toMatchObject({ status: 409, body: { error: { code: 'DRAIN_UNSAFE', retryable: false, tables: guarded } } });
    expect(unsafe.body.error.message).toContain('force');
    expect(await post('/v1/admin/undrain', { region: 'b' })).toMatchObject({ status: 200, body: { region: 'b', undrained: true, changed: true } });
    const soon = await post('/v1/admin/drain', { region: 'b' });
    expect(soon).toMatchObject({ status: 429, body: { error: { code: 'TOO_SOON', retryable: true } } });
    expect(soon.body.error.message).toMatch(/retry in \d+ ms/);
    expect(Number(soon.retryAfter)).toBeGreaterThanOrEqual(1); // whole seconds, rounded up
    expect(await post('/v1/admin/drain', { region: 'c', force: true })).toMatchObject({ status: 200, body: { region: 'c', drained: true, changed: true } });
  });
});
