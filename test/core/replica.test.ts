/**
 * Scripted interaction tests of the replica engine: a few regions, a network the test drives by
 * hand, and the exact answers expected at each step.
 */
import { describe, expect, it } from 'vitest';
import { encodeSessionToken } from '../../src/core/clock/version-vector.js';
import { AP, Cluster, EU, US } from './cluster.js';

const patch = (key: string, body: unknown, extra: Record<string, unknown> = {}) => ({ kind: 'write' as const, table: 't', key, body, ...extra });
const read = (key: string, extra: Record<string, unknown> = {}) => ({ kind: 'read' as const, table: 't', key, ...extra });

describe('replication', () => {
  it('a write in one region is pushed to the others and applied there', () => {
    const c = new Cluster();
    const w = c.ok(US, patch('k', { set: { name: 'ann' }, incr: { n: 2 } }));
    expect(w.kind === 'write' && w.result.row?.fields).toEqual({ n: 2, name: 'ann' });
    c.deliverAll();
    for (const r of [EU, AP]) {
      const got = c.ok(r, read('k'));
      expect(got.kind === 'read' && got.row?.fields).toEqual({ n: 2, name: 'ann' });
    }
  });

  it('a bridge partition (us-east and ap-south cut, eu-west between) converges through relay', () => {
    const c = new Cluster();
    c.cutLink(US, AP);
    c.ok(US, patch('k', { add: { s: ['from-us'] } }));
    c.ok(AP, patch('k', { add: { s: ['from-ap'] } }));
    c.deliverAll();
    c.settle();
    for (const r of [US, EU, AP]) {
      const got = c.ok(r, read('k'));
      expect(got.kind === 'read' && got.row?.fields['s']).toEqual(['from-ap', 'from-us']);
    }
  });

  it('with relay disabled (a deliberately broken engine) the bridge never converges', () => {
    const c = new Cluster({ knobs: { disableRelay: true } });
    c.cutLink(US, AP);
    c.ok(US, patch('k', { add: { s: ['from-us'] } }));
    c.deliverAll();
    c.settle(10);
    const got = c.ok(AP, read('k'));
    expect(got.kind === 'read' && got.row).toBeNull();
  });

  it('concurrent increments in every region all count, and a duplicate delivery counts once', () => {
    const c = new Cluster();
    for (const r of [US, EU, AP]) c.ok(r, patch('k', { incr: { n: 5 } }));
    const dup = [...c.inFlight];
    c.deliverAll();
    c.inFlight.push(...dup);
    c.deliverAll();
    for (const r of [US, EU, AP]) {
      const got = c.ok(r, read('k'));
      expect(got.kind === 'read' && got.row?.fields['n']).toBe(15);
    }
  });

  it('an op from a clock further ahead than the max offset is refused and counted, and applied once the clock catches up', () => {
    const c = new Cluster({ config: { maxClockOffsetMs: 100 } });
    const ahead = c.nowMs;
    c.nowMs = ahead + 1000; // us-east's clock is 1 s ahead for this write
    c.ok(US, patch('k', { incr: { n: 1 } }));
    c.nowMs = ahead;
    c.deliverAll();
    expect(c.replica(EU).metrics.hlcRefused).toBeGreaterThan(0);
    expect(c.replica(EU).vector[US] ?? 0).toBe(0);
    c.tick(600, 5); // time passes; syncs resend the op
    expect(c.replica(EU).vector[US]).toBe(1);
  });

  it('a lost push is resent even while its origin keeps writing', () => {
    const c = new Cluster({ regions: [US, EU] });
    c.ok(US, patch('k', { incr: { n: 1 } }));
    c.inFlight = []; // the first push is lost
    for (let i = 0; i < 40; i++) {
      c.ok(US, patch('k', { incr: { n: 1 } }));
      c.tick(100);
    }
    // Resent within resendAfterMs of the loss, not after the writes stop.
    expect(c.replica(EU).vector[US]).toBeGreaterThanOrEqual(30);
  });

  it('a forward clock glitch does not silence a region: syncs and collection carry on', () => {
    const c = new Cluster();
    c.settle();
    const before = c.replica(US).metrics.syncsSent;
    const t = c.nowMs;
    c.nowMs = t + 60_000; // us-east's clock jumps a minute ahead for one tick
    c.step(US, [{ kind: 'tick' }]);
    c.nowMs = t;
    c.tick(100, 5);
    expect(c.replica(US).metrics.syncsSent - before).toBeGreaterThanOrEqual(2 * 5);
    c.ok(EU, patch('k', { incr: { n: 1 } }));
    c.settle();
    expect(c.replica(US).status().stable).toEqual(c.replica(US).vector);
  });

  it('an acknowledged write survives a crash; an uncommitted step is lost whole', () => {
    const c = new Cluster();
    c.ok(US, patch('k', { incr: { n: 1 } }));
    c.storages.get(US)?.crash(true); // the next commit fails like power loss
    expect(() => c.request(US, patch('k', { incr: { n: 10 } }))).toThrow(/simulated crash/);
    c.restart(US);
    const got = c.ok(US, read('k'));
    expect(got.kind === 'read' && got.row?.fields['n']).toBe(1);
    expect(c.replica(US).vector[US]).toBe(1);
  });
});

describe('idempotency', () => {
  it('a retry with the same key gets the original answer and has no second effect', () => {
    const c = new Cluster();
    const first = c.ok(US, patch('k', { incr: { n: 1 } }, { idempotencyKey: 'key-1' }));
    const again = c.ok(US, patch('k', { incr: { n: 1 } }, { idempotencyKey: 'key-1' }));
    expect(again.kind === 'write' && again.replayed).toBe(true);
    expect(again.kind === 'write' && again.result).toEqual(first.kind === 'write' && first.result);
    c.deliverAll();
    const elsewhere = c.ok(EU, patch('k', { incr: { n: 1 } }, { idempotencyKey: 'key-1' }));
    expect(elsewhere.kind === 'write' && elsewhere.replayed).toBe(true);
    const got = c.ok(EU, read('k'));
    expect(got.kind === 'read' && got.row?.fields['n']).toBe(1);
  });

  it('the same key with another body is IDEMPOTENCY_MISMATCH and changes nothing', () => {
    const c = new Cluster();
    c.ok(US, patch('k', { incr: { n: 1 } }, { idempotencyKey: 'key-1' }));
    const r = c.request(US, patch('k', { incr: { n: 2 } }, { idempotencyKey: 'key-1' }));
    expect(r).toMatchObject({ ok: false, error: { code: 'IDEMPOTENCY_MISMATCH' } });
    expect(c.replica(US).vector[US]).toBe(1);
  });

  it('a retry that lands in a second region before the original replicated counts once everywhere', () => {
    const c = new Cluster();
    c.cutLink(US, EU);
    c.cutLink(AP, EU);
    c.ok(US, patch('k', { incr: { n: 7 } }, { idempotencyKey: 'retry-me' }));
    c.ok(EU, patch('k', { incr: { n: 7 } }, { idempotencyKey: 'retry-me' })); // a copy
    c.deliverAll();
    c.heal();
    c.settle();
    for (const r of [US, EU, AP]) {
      const got = c.ok(r, read('k'));
      expect(got.kind === 'read' && got.row?.fields['n']).toBe(7);
    }
    expect(c.replica(US).metrics.idempotentCopies + c.replica(EU).metrics.idempotentCopies).toBeGreaterThan(0);
  });

  it('with idempotency ignored (a deliberately broken engine) the same retry counts twice', () => {
    const c = new Cluster({ knobs: { ignoreIdempotency: true } });
    c.ok(US, patch('k', { incr: { n: 7 } }, { idempotencyKey: 'retry-me' }));
    c.ok(US, patch('k', { incr: { n: 7 } }, { idempotencyKey: 'retry-me' }));
    const got = c.ok(US, read('k'));
    expect(got.kind === 'read' && got.row?.fields['n']).toBe(14);
  });

  it('a retry after the record expired in some regions but not others is one new write, the same everywhere', () => {
    const c = new Cluster({ config: { idempotencyRetentionMs: 5_000 } });
    c.ok(US, patch('k', { incr: { n: 5 } }, { idempotencyKey: 'K' }));
    c.settle();
    // us-east and eu-west pass the retention window; ap-south's clock lags and keeps the record.
    c.nowMs += 7_000;
    for (let i = 0; i < 3; i++) {
      c.nowMs += 1_100;
      for (const r of [US, EU]) c.step(r, [{ kind: 'tick' }]);
    }
    c.inFlight = [];
    expect(c.replica(EU).metrics.idempotencyExpired).toBe(1);
    const retry = c.ok(EU, patch('k', { incr: { n: 5 } }, { idempotencyKey: 'K' }));
    expect(retry.kind === 'write' && retry.replayed).toBe(false);
    c.settle();
    const values = [US, EU, AP].map((r) => {
      const got = c.ok(r, read('k'));
      return got.kind === 'read' ? got.row?.fields['n'] : undefined;
    });
    expect(values).toEqual([10, 10, 10]);
  });

  it('records expire after the retention window, once their op is stable', () => {
    const c = new Cluster({ config: { idempotencyRetentionMs: 5_000 } });
    c.ok(US, patch('k', { incr: { n: 1 } }, { idempotencyKey: 'old' }));
    c.settle();
    c.tick(2_000, 4);
    expect(c.replica(US).metrics.idempotencyExpired).toBe(1);
    const again = c.ok(US, patch('k', { incr: { n: 1 } }, { idempotencyKey: 'old' }));
    expect(again.kind === 'write' && again.replayed).toBe(false);
    const got = c.ok(US, read('k'));
    expect(got.kind === 'read' && got.row?.fields['n']).toBe(2);
  });
});

describe('reads', () => {
  it('a session read in another region waits for the token, then answers', () => {
    const c = new Cluster();
    const w = c.ok(US, patch('k', { set: { name: 'ann' } }));
    const token = w.kind === 'write' ? w.token : '';
    expect(c.request(EU, read('k', { consistency: 'session', session: token }))).toBeUndefined(); // parked
    const before = c.answered.length;
    c.deliverAll(); // the op arrives; the parked read is answered in the same step
    expect(c.answered.slice(before)).toMatchObject([{ region: EU, reply: { ok: true, kind: 'read', row: { fields: { name: 'ann' } } } }]);
  });

  it('a session read that cannot be satisfied in time answers SESSION_UNAVAILABLE', () => {
    const c = new Cluster({ config: { sessionWaitMs: 300 } });
    const token = encodeSessionToken({ [US]: 1 });
    expect(c.request(EU, read('k', { consistency: 'session', session: token }))).toBeUndefined();
    c.nowMs += 400;
    const replies = c.step(EU, [{ kind: 'tick' }]);
    expect(replies[0]?.reply).toMatchObject({ ok: false, error: { code: 'SESSION_UNAVAILABLE' } });
  });

  it('a bounded read answers STALE while a peer is silent, and data once heartbeats cover the bound', () => {
    const c = new Cluster({ config: { maxClockOffsetMs: 100 } });
    expect(c.request(US, read('k', { consistency: 'bounded', maxStalenessMs: 1_000 }))).toMatchObject({ ok: false, error: { code: 'STALE' } });
    c.tick(60, 3);
    expect(c.request(US, read('k', { consistency: 'bounded', maxStalenessMs: 1_000 }))).toMatchObject({ ok: true, row: null });
    c.cutLink(US, EU);
    c.cutLink(US, AP);
    c.tick(400, 3);
    expect(c.request(US, read('k', { consistency: 'bounded', maxStalenessMs: 1_000 }))).toMatchObject({ ok: false, error: { code: 'STALE' } });
  });
});

describe('conflicts', () => {
  it('concurrent writes to one field resolve identically everywhere and appear once in the feed', () => {
    const c = new Cluster();
    c.ok(US, patch('k', { set: { name: 'from-us' } }));
    c.nowMs += 1;
    c.ok(EU, patch('k', { set: { name: 'from-eu' } }));
    c.settle();
    const feeds = [US, EU, AP].map((r) => c.ok(r, { kind: 'conflicts' }));
    const values = [US, EU, AP].map((r) => {
      const got = c.ok(r, read('k'));
      return got.kind === 'read' ? got.row?.fields['name'] : undefined;
    });
    expect(new Set(values)).toEqual(new Set(['from-eu']));
    const entries = feeds.map((f) => (f.kind === 'conflicts' ? f.conflicts : []));
    expect(entries[0]).toHaveLength(1);
    expect(entries[0]?.[0]).toMatchObject({ kind: 'write-write', field: 'name', rule: 'lww', winner: { region: EU }, losers: [{ region: US }] });
    expect(entries[1]).toEqual(entries[0]);
    expect(entries[2]).toEqual(entries[0]);
  });

  it('a delete concurrent with an update is reported as delete-update under the table rule', () => {
    const c = new Cluster({ tables: { t: { fields: { n: 'counter' }, onDeleteUpdate: 'update-wins' } } });
    c.ok(US, patch('k', { incr: { n: 1 } }));
    c.settle();
    c.ok(US, { kind: 'delete', table: 't', key: 'k' });
    c.ok(EU, patch('k', { incr: { n: 1 } }));
    c.settle();
    const f = c.ok(AP, { kind: 'conflicts' });
    expect(f.kind === 'conflicts' && f.conflicts).toMatchObject([{ kind: 'delete-update', rule: 'update-wins', field: null, winner: { region: EU }, losers: [{ region: US }] }]);
    const got = c.ok(AP, read('k'));
    expect(got.kind === 'read' && got.row?.fields).toEqual({ n: 1 });
  });

  it('a unique value is refused locally when taken, and concurrent claims resolve first-writer-wins with an insert-insert entry', () => {
    const c = new Cluster({ tables: { t: { fields: { handle: 'lww' }, unique: ['handle'] } } });
    c.ok(US, patch('a', { set: { handle: 'h' } }));
    expect(c.request(US, patch('b', { set: { handle: 'h' } }))).toMatchObject({ ok: false, error: { code: 'UNIQUE_VIOLATION', field: 'handle' } });
    c.nowMs += 5;
    c.ok(EU, patch('c', { set: { handle: 'h' } })); // eu-west has not seen row a yet
    c.settle();
    for (const r of [US, EU, AP]) {
      const a = c.ok(r, read('a'));
      const cc = c.ok(r, read('c'));
      expect(a.kind === 'read' && a.row?.fields).toEqual({ handle: 'h' });
      expect(cc.kind === 'read' && cc.row?.fields).toEqual({}); // masked: row a claimed it first
    }
    const f = c.ok(AP, { kind: 'conflicts' });
    expect(f.kind === 'conflicts' && f.conflicts).toMatchObject([{ kind: 'insert-insert', key: 'a', field: 'handle', rule: 'first-writer-wins', losers: [{ key: 'c' }] }]);
  });
});

describe('ownership and field names', () => {
  it('a row homed by a field accepts writes, moves included, only in its current home', () => {
    const c = new Cluster({ tables: { t: { fields: { home: 'lww', v: 'lww' }, ownership: 'home', home: { field: 'home' } } } });
    c.ok(US, patch('k', { set: { home: US, v: 1 } }));
    c.deliverAll();
    expect(c.request(EU, patch('k', { set: { v: 2 } }))).toMatchObject({ ok: false, error: { code: 'WRONG_REGION', home: US } });
    expect(c.request(EU, patch('k', { set: { home: EU } }))).toMatchObject({ ok: false, error: { code: 'WRONG_REGION', home: US } });
    c.ok(US, patch('k', { set: { home: AP } })); // the current home moves it
    c.deliverAll();
    expect(c.request(US, patch('k', { set: { v: 3 } }))).toMatchObject({ ok: false, error: { code: 'WRONG_REGION', home: AP } });
    expect(c.ok(AP, patch('k', { set: { v: 3 } }))).toMatchObject({ ok: true });
  });

  it('fields named like Object.prototype members are ordinary fields; __proto__ is refused', () => {
    const c = new Cluster({ tables: { t: {} } });
    const w = c.ok(US, patch('k', { set: { constructor: 1, toString: 'x', hasOwnProperty: true } }));
    expect(w.kind === 'write' && w.result.row?.fields).toEqual({ constructor: 1, hasOwnProperty: true, toString: 'x' });
    expect(c.request(US, patch('k', { set: JSON.parse('{"__proto__": 1}') as Record<string, unknown> }))).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });
});

describe('garbage collection', () => {
  it('a delete-wins tombstone outlives a partition and kills the concurrent write that arrives after it', () => {
    const c = new Cluster({ tables: { t: { fields: { name: 'lww' } } } });
    c.ok(US, patch('k', { set: { name: 'v1' } }));
    c.settle();
    c.cutLink(AP, US);
    c.cutLink(AP, EU);
    c.ok(AP, patch('k', { set: { name: 'stale' } })); // ap-south writes while cut off
    c.ok(US, { kind: 'delete', table: 't', key: 'k' });
    c.tick(200, 20); // a long partition: us-east and eu-west cannot make the delete stable
    expect(c.replica(US).metrics.tombstonesPurged).toBe(0);
    c.heal();
    c.settle();
    for (const r of [US, EU, AP]) expect(c.ok(r, read('k'))).toMatchObject({ row: null });
    expect(c.replica(US).metrics.tombstonesPurged).toBeGreaterThan(0);
  });

  it('with tombstones collected early (a deliberately broken engine) the stale write resurrects the row', () => {
    const c = new Cluster({ tables: { t: { fields: { name: 'lww' } } }, knobs: { tombstonesCollectedEarly: true } });
    c.ok(US, patch('k', { set: { name: 'v1' } }));
    c.settle();
    c.cutLink(AP, US);
    c.cutLink(AP, EU);
    c.ok(AP, patch('k', { set: { name: 'stale' } }));
    c.ok(US, { kind: 'delete', table: 't', key: 'k' });
    c.deliverAll();
    c.heal();
    c.settle();
    expect(c.ok(US, read('k'))).toMatchObject({ row: { fields: { name: 'stale' } } });
  });
});
