/**
 * The claim-then-write gate for strong unique fields of async tables (unique-gate.ts), which
 * replaces the shell's gate (src/server/strong-unique.ts; its tests, test/server/strong-unique.test.ts,
 * are ported here one for one, then extended).
 *
 * First through the gate's ports: the strong group is the real state machine (claims and fenced
 * releases) applied in the order asked, answered at once or when the test delivers; the replica is
 * a fake holding one row per key; time and freshness are set by the test. Then end to end through
 * three region cores, where the claims cross regions and a quorum.
 */
import { describe, expect, it } from 'vitest';
import { UniqueGate } from '../../../src/core/node/unique-gate.js';
import type { ClientReply, ClientRequest } from '../../../src/core/replica/messages.js';
import type { StrongReply, StrongRequest } from '../../../src/core/strong/messages.js';
import { StrongState } from '../../../src/core/strong/state-machine.js';
import type { JsonValue } from '../../../src/core/util/json.js';
import { policy, RegionCluster, regions } from './cluster.js';

const users = policy({ mode: 'async', fields: { email: 'lww', handle: 'lww', name: 'lww' }, unique: [{ field: 'email', enforce: 'strong' }, { field: 'handle', enforce: 'strong' }] });
const loose = policy({ mode: 'async', fields: { email: 'lww' }, unique: [{ field: 'email', enforce: 'strong' }], onDeleteUpdate: 'update-wins' });
const plain = policy({ mode: 'async', fields: { email: 'lww' } });

interface World {
  readonly state: StrongState;
  readonly rows: Map<string, Record<string, JsonValue>>;
  readonly calls: string[];
  readonly warnings: Array<{ message: string; details: Readonly<Record<string, unknown>> }>;
  now: { wallMs: number; monoMs: number };
  fresh: number | null;
  /** The strong group has no quorum: every request fails, saying it may have committed. */
  strongDown: boolean;
  /** Releases (only) fail. */
  releasesDown: boolean;
  /** How long each strong answer takes to come back (monotonic ms). */
  claimDelayMs: number;
  /** Strong answers wait for deliver() instead of coming back at once. */
  deferStrong: boolean;
  /** The replica refuses writes. */
  replicaRefuses: boolean;
}

function world() {
  const state = new StrongState({}, 60_000);
  let index = 0;
  const w: World = { state, rows: new Map(), calls: [], warnings: [], now: { wallMs: 10_000, monoMs: 0 }, fresh: 0, strongDown: false, releasesDown: false, claimDelayMs: 0, deferStrong: false, replicaRefuses: false };
  const waiting: Array<() => void> = [];
  const answer = (req: StrongRequest, done: (reply: StrongReply) => void): void => {
    w.now = { ...w.now, monoMs: w.now.monoMs + w.claimDelayMs };
    gate.setTime(w.now);
    if (w.strongDown || (w.releasesDown && req.kind === 'release')) return done({ ok: false, error: { code: 'QUORUM_TIMEOUT', message: 'no quorum', mayHaveCommitted: true } });
    if (req.kind !== 'claim' && req.kind !== 'release') throw new Error('unexpected');
    const command = req.kind === 'claim' ? { t: 'claim' as const, table: req.table, field: req.field, value: req.value as JsonValue, key: req.key, wallMs: 1 } : { t: 'release' as const, table: req.table, field: req.field, key: req.key, keep: req.keep as JsonValue | null, upTo: req.upTo, wallMs: 1 };
    const r = state.apply(++index, command);
    if (r === null || !r.ok) throw new Error('refused');
    if (r.kind === 'claim') return done({ ok: true, kind: 'claim', granted: r.granted, holder: r.holder, index });
    if (r.kind === 'release') return done({ ok: true, kind: 'release', released: r.released, index });
    throw new Error('unexpected');
  };
  const gate: UniqueGate = new UniqueGate({
    tables: () => ({ users, loose, plain }),
    strongIndex: () => index,
    freshAsOfMs: () => w.fresh,
    row: (table, key) => {
      const fields = w.rows.get(`${table}/${key}`);
      return fields === undefined ? null : { key, fields, version: '1' };
    },
    askStrong(req, done) {
      if (req.kind !== 'claim' && req.kind !== 'release') throw new Error('unexpected');
      w.calls.push(req.kind === 'claim' ? `claim ${req.field}=${String(req.value)} for ${req.key}` : `release ${req.field} of ${req.key} keep ${String(req.keep)} upTo ${req.upTo}`);
      if (w.deferStrong) waiting.push(() => answer(req, done));
      else answer(req, done);
    },
    write(req: ClientRequest, done: (reply: ClientReply) => void) {
      const table = (req as { table?: string }).table ?? '';
      const id = `${table}/${(req as { key?: string }).key ?? ''}`;
      w.calls.push(`${req.kind} ${id}`);
      if (w.replicaRefuses) return done({ ok: false, error: { code: 'FENCED', message: 'fenced' } });
      if (req.kind === 'delete') w.rows.delete(id);
      if (req.kind === 'write') w.rows.set(id, { ...(w.rows.get(id) ?? {}), ...((req.body as { set: Record<string, JsonValue> }).set ?? {}) });
      done({ ok: true, kind: 'write', result: { dot: { origin: 'a', seq: 1 }, row: null }, replayed: false, token: 't' });
    },
    warn: (message, details) => void w.warnings.push({ message, details }),
    maxClockOffsetMs: 100,
    claimValidityMs: 2000,
  });
  gate.setTime(w.now);

  /** Submits through the gate; the reply, once there is one. */
  const submit = (request: ClientRequest): (() => ClientReply | undefined) => {
    let reply: ClientReply | undefined;
    const taken = gate.submit(request, (r) => (reply = r));
    if (!taken) throw new Error(`the gate did not take ${request.kind}`);
    return () => reply;
  };
  /** A write answered at once (strong answers not deferred). */
  const put = (key: string, set: Record<string, JsonValue | null>, table = 'users'): ClientReply => {
    const reply = submit({ kind: 'write', table, key, body: { set } })();
    if (reply === undefined) throw new Error('not answered');
    return reply;
  };
  const del = (key: string, table = 'users'): ClientReply | undefined => submit({ kind: 'delete', table, key })();
  /** Delivers the deferred strong answers, in the order asked (and any they lead to). */
  const deliver = (): void => {
    while (waiting.length > 0) (waiting.shift() as () => void)();
  };
  /** Lets every region catch up to now, and runs the due releases. */
  const settle = (): void => {
    w.fresh = w.now.wallMs + 10_000;
    gate.tick();
    deliver();
  };
  return { w, gate, submit, put, del, deliver, settle, holder: (v: string, field = 'email', table = 'users') => state.claimHolder(table, field, v) };
}

describe('unique gate (ported from the shell gate’s tests)', () => {
  it('claims every value it sets before writing, even one the row already holds', () => {
    const { w, put } = world();
    expect(put('k1', { email: 'x' }).ok).toBe(true);
    expect(put('k1', { email: 'x', name: 'N' }).ok).toBe(true);
    expect(w.calls).toEqual(['claim email=x for k1', 'write users/k1', 'claim email=x for k1', 'write users/k1']);
  });

  it('schedules a release only after writes that touch a unique field, and deletes', () => {
    const { gate, put, del } = world();
    put('k1', { name: 'N' });
    expect(gate.pendingReleases).toBe(0);
    put('k1', { email: 'x' });
    expect(gate.pendingReleases).toBe(1);
    expect(del('k1')).toMatchObject({ ok: true });
    expect(gate.pendingReleases).toBe(2);
  });

  it('refuses a value another key holds with UNIQUE_VIOLATION, and writes nothing', () => {
    const { w, put } = world();
    put('k1', { email: 'x' });
    const r = put('k2', { email: 'x' });
    expect(r).toMatchObject({ ok: false, error: { code: 'UNIQUE_VIOLATION', field: 'email' } });
    expect(w.rows.has('users/k2')).toBe(false);
  });

  it('without a quorum, or with a claim that came back too late, the write is refused and says it was not made', () => {
    const a = world();
    a.w.strongDown = true;
    expect(a.put('k1', { email: 'x' })).toMatchObject({ ok: false, error: { code: 'QUORUM_TIMEOUT', field: 'email', mayHaveCommitted: false } });
    const b = world();
    b.w.claimDelayMs = 2500;
    expect(b.put('k1', { email: 'x' })).toMatchObject({ ok: false, error: { code: 'QUORUM_TIMEOUT', field: 'email' } });
    expect(a.w.rows.size + b.w.rows.size).toBe(0);
  });

  it('releases the value a row gave up only once every region has heard of the writes that could still give it back', () => {
    const { w, gate, put, settle, holder } = world();
    put('k1', { email: 'x' });
    put('k1', { email: 'y' });
    w.fresh = w.now.wallMs; // the others have not heard of anything made since the change
    gate.tick();
    expect(holder('x')).toBe('k1');
    settle();
    expect(holder('x')).toBeUndefined();
    expect(holder('y')).toBe('k1');
    expect(gate.pendingReleases).toBe(0);
  });

  it('a re-save of the old value racing with a change keeps it claimed: the later claim is above the change’s fence', () => {
    // Found in review: C re-saves x while A changes x → y; C's write lands last and wins. A's
    // release must not free x, or another key could take it while k1 shows it.
    const { w, submit, put, deliver, settle, holder } = world();
    put('k1', { email: 'x' });
    w.deferStrong = true;
    const a = submit({ kind: 'write', table: 'users', key: 'k1', body: { set: { email: 'y' } } }); // fence read, claims y...
    const c = submit({ kind: 'write', table: 'users', key: 'k1', body: { set: { email: 'x' } } }); // ...while C claims x again, above A's fence
    deliver();
    expect([a()?.ok, c()?.ok]).toEqual([true, true]);
    // Whatever the row shows when A's release runs (here: C's write not seen yet), C's claim is
    // above A's fence, so x stays with k1 for C's write to keep.
    w.rows.set('users/k1', { email: 'y' });
    settle();
    expect(w.calls).toContain('release email of k1 keep y upTo 1');
    expect(holder('x')).toBe('k1');
    w.deferStrong = false;
    expect(put('k2', { email: 'x' }).ok).toBe(false);
  });

  it('a delete releases the row’s values; an update-wins table never releases (a value stays with its key)', () => {
    const { put, del, settle, holder } = world();
    put('k1', { email: 'x', handle: 'h' });
    del('k1');
    settle();
    expect(holder('x')).toBeUndefined();
    expect(holder('h', 'handle')).toBeUndefined();
    put('k2', { email: 'x' }, 'loose');
    del('k2', 'loose');
    settle();
    expect(holder('x', 'email', 'loose')).toBe('k2');
  });
});

describe('unique gate (beyond the shell gate’s tests)', () => {
  it('hands everything else to the replica: reads, tables without strong unique fields, unknown tables, bodies it cannot parse', () => {
    const { w, gate } = world();
    const none = () => {
      throw new Error('answered');
    };
    expect(gate.submit({ kind: 'read', table: 'users', key: 'k' }, none)).toBe(false);
    expect(gate.submit({ kind: 'conflicts' }, none)).toBe(false);
    expect(gate.submit({ kind: 'write', table: 'plain', key: 'k', body: { set: { email: 'x' } } }, none)).toBe(false);
    expect(gate.submit({ kind: 'delete', table: 'plain', key: 'k' }, none)).toBe(false);
    expect(gate.submit({ kind: 'write', table: 'nope', key: 'k', body: { set: { email: 'x' } } }, none)).toBe(false);
    // The replica refuses it, naming the field; nothing is claimed first.
    expect(gate.submit({ kind: 'write', table: 'users', key: 'k', body: { set: 'not an object' } }, none)).toBe(false);
    expect(w.calls).toEqual([]);
  });

  it('claims each value in turn; a refusal of the second writes nothing, and the first stays with the key (a leak, never a duplicate)', () => {
    const { w, put, holder } = world();
    put('k2', { handle: 'h' });
    w.calls.length = 0;
    expect(put('k1', { email: 'x', handle: 'h' })).toMatchObject({ ok: false, error: { code: 'UNIQUE_VIOLATION', field: 'handle' } });
    expect(w.calls).toEqual(['claim email=x for k1', 'claim handle=h for k1']);
    expect(w.rows.has('users/k1')).toBe(false);
    expect(holder('x')).toBe('k1');
  });

  it('setting a unique field to null claims nothing but schedules a release; the value is freed once settled', () => {
    const { w, gate, put, settle, holder } = world();
    put('k1', { email: 'x' });
    w.calls.length = 0;
    expect(put('k1', { email: null })).toMatchObject({ ok: true });
    expect(w.calls).toEqual(['write users/k1']);
    expect(gate.pendingReleases).toBe(2);
    settle();
    expect(holder('x')).toBeUndefined();
  });

  it('the validity of claims counts from the first one’s request: two answers that each took 1.2 s are too late together', () => {
    const { w, put } = world();
    w.claimDelayMs = 1200;
    expect(put('k1', { email: 'x', handle: 'h' })).toMatchObject({ ok: false, error: { code: 'QUORUM_TIMEOUT', field: 'handle', mayHaveCommitted: false } });
    expect(w.rows.size).toBe(0);
    w.claimDelayMs = 900;
    expect(put('k2', { email: 'y', handle: 'i' })).toMatchObject({ ok: true });
  });

  it('a write the replica refuses schedules no release; releases wait while freshness is unknown', () => {
    const { w, gate, put } = world();
    w.replicaRefuses = true;
    expect(put('k1', { email: 'x' })).toMatchObject({ ok: false, error: { code: 'FENCED' } });
    expect(gate.pendingReleases).toBe(0);
    w.replicaRefuses = false;
    put('k1', { email: 'y' });
    w.fresh = null;
    gate.tick();
    expect(gate.pendingReleases).toBe(1);
  });

  it('runs one round of releases at a time: a tick while one is in flight starts nothing', () => {
    const { w, gate, put, deliver, holder } = world();
    put('k1', { email: 'x' });
    put('k1', { email: 'y' });
    w.deferStrong = true;
    w.fresh = w.now.wallMs + 10_000;
    gate.tick();
    const asked = w.calls.filter((x) => x.startsWith('release')).length;
    expect(asked).toBe(4); // two releases, of two fields each
    w.deferStrong = false;
    put('k2', { handle: 'z' }); // a third, due at once
    w.deferStrong = true;
    gate.tick();
    expect(w.calls.filter((x) => x.startsWith('release')).length).toBe(asked);
    deliver();
    expect(holder('x')).toBeUndefined();
    gate.tick();
    deliver();
    expect(w.calls.filter((x) => x.startsWith('release')).length).toBe(asked + 2);
  });

  it('a release that fails is logged and the value stays with its key', () => {
    const { w, put, settle, holder } = world();
    put('k1', { email: 'x' });
    put('k1', { email: 'y' });
    w.releasesDown = true;
    settle();
    expect(holder('x')).toBe('k1');
    expect(w.warnings.map((x) => x.details)).toContainEqual(expect.objectContaining({ table: 'users', field: 'email', key: 'k1' }));
  });
});

describe('unique gate in region cores', () => {
  const tables = { users };
  const email = (c: RegionCluster, region: string, key: string, value: string | null) => c.write(region, 'users', key, { email: value });

  function ready(): RegionCluster {
    const c = new RegionCluster({ tables });
    c.until(() => c.allWriteReady(), 5000, 'write-ready');
    return c;
  }

  it('a value claimed for one key in one region is refused for another key in another: UNIQUE_VIOLATION, and nothing is written anywhere', () => {
    const c = ready();
    expect(email(c, 'a', 'k1', 'x@t')).toMatchObject({ ok: true });
    expect(email(c, 'b', 'k2', 'x@t')).toMatchObject({ ok: false, error: { code: 'UNIQUE_VIOLATION', field: 'email' } });
    c.run(500);
    for (const r of regions) {
      expect(c.read(r, 'users', 'k1')).toEqual({ email: 'x@t' });
      expect(c.read(r, 'users', 'k2')).toBeNull();
    }
    expect(c.core('a').strong.state.claimHolder('users', 'email', 'x@t')).toBe('k1');
  });

  it('a value given up by a change, or a delete, goes to another key only once the release is through', () => {
    const c = ready();
    email(c, 'a', 'k1', 'x@t');
    email(c, 'a', 'k3', 'z@t');
    expect(email(c, 'a', 'k1', 'y@t')).toMatchObject({ ok: true });
    expect(c.await(c.submit('a', { api: 'async', request: { kind: 'delete', table: 'users', key: 'k3' } }))).toMatchObject({ ok: true });
    // Not at once: the release waits until every region holds what was written before it.
    expect(email(c, 'c', 'k2', 'x@t')).toMatchObject({ ok: false, error: { code: 'UNIQUE_VIOLATION' } });
    c.until(() => c.core('c').strong.state.claimHolder('users', 'email', 'x@t') === undefined, 8000, 'x released');
    expect(c.core('c').strong.state.claimHolder('users', 'email', 'y@t')).toBe('k1');
    expect(email(c, 'c', 'k2', 'x@t')).toMatchObject({ ok: true });
    c.until(() => c.core('b').strong.state.claimHolder('users', 'email', 'z@t') === undefined, 2000, 'z released');
    expect(email(c, 'b', 'k4', 'z@t')).toMatchObject({ ok: true });
  });

  it('a region cut off from the quorum refuses the write with the strong group’s error, saying it was not made, and writes nothing', () => {
    const c = ready();
    c.isolate('a');
    const r = email(c, 'a', 'k1', 'x@t');
    expect(r).toMatchObject({ ok: false, error: { code: 'QUORUM_TIMEOUT', field: 'email', mayHaveCommitted: false } });
    expect(c.read('a', 'users', 'k1')).toBeNull();
    // A write that sets no unique value needs no quorum.
    expect(c.write('a', 'users', 'k1', { name: 'N' })).toMatchObject({ ok: true });
  });
});
