/**
 * The claim-then-write gate for strong unique fields of async tables. The strong group is the
 * real state machine (claims and fenced releases), applied in submission order; the replica is a
 * fake holding one row per key; time and freshness are set by the test.
 */
import { describe, expect, it } from 'vitest';
import type { ClientReply, ClientRequest } from '../../src/core/replica/messages.js';
import { validatePolicy } from '../../src/core/schema/policy.js';
import type { StrongReply, StrongRequest } from '../../src/core/strong/messages.js';
import { StrongState } from '../../src/core/strong/state-machine.js';
import type { JsonValue } from '../../src/core/util/json.js';
import { StrongUniqueGate } from '../../src/server/strong-unique.js';

function policy(input: unknown) {
  const p = validatePolicy(input, { regions: ['a', 'b'] });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

const users = policy({ mode: 'async', fields: { email: 'lww', handle: 'lww' }, unique: [{ field: 'email', enforce: 'strong' }, { field: 'handle', enforce: 'strong' }] });
const loose = policy({ mode: 'async', fields: { email: 'lww' }, unique: [{ field: 'email', enforce: 'strong' }], onDeleteUpdate: 'update-wins' });

function world() {
  const state = new StrongState({}, 60_000);
  let index = 0;
  const rows = new Map<string, Record<string, JsonValue>>();
  const w = {
    state,
    rows,
    calls: [] as string[],
    now: 10_000,
    mono: 0,
    fresh: 0 as number | null,
    strongDown: false,
    claimDelayMs: 0,
  };
  const gate = new StrongUniqueGate({
    tables: () => ({ users, loose }),
    async submitAsync(req: ClientRequest): Promise<ClientReply> {
      const table = (req as { table?: string }).table ?? '';
      const id = `${table}/${(req as { key?: string }).key ?? ''}`;
      if (req.kind === 'read') return { ok: true, kind: 'read', row: rows.has(id) ? { key: req.key, fields: rows.get(id) as Record<string, JsonValue>, version: '1' } : null, vector: {}, token: 't' };
      w.calls.push(`${req.kind} ${id}`);
      if (req.kind === 'delete') rows.delete(id);
      if (req.kind === 'write') rows.set(id, { ...(rows.get(id) ?? {}), ...((req.body as { set: Record<string, JsonValue> }).set ?? {}) });
      return { ok: true, kind: 'write', result: { dot: { origin: 'a', seq: 1 }, row: null }, replayed: false, token: 't' };
    },
    async submitStrong(req: StrongRequest): Promise<StrongReply> {
      if (req.kind !== 'claim' && req.kind !== 'release') throw new Error('unexpected');
      w.calls.push(req.kind === 'claim' ? `claim ${req.field}=${String(req.value)} for ${req.key}` : `release ${req.field} of ${req.key} keep ${String(req.keep)} upTo ${req.upTo}`);
      w.mono += w.claimDelayMs;
      if (w.strongDown) return { ok: false, error: { code: 'QUORUM_TIMEOUT', message: 'no quorum', mayHaveCommitted: true } };
      const command = req.kind === 'claim' ? { t: 'claim' as const, table: req.table, field: req.field, value: req.value as JsonValue, key: req.key, wallMs: 1 } : { t: 'release' as const, table: req.table, field: req.field, key: req.key, keep: req.keep as JsonValue | null, upTo: req.upTo, wallMs: 1 };
      const r = state.apply(++index, command);
      if (r === null || !r.ok) throw new Error('refused');
      if (r.kind === 'claim') return { ok: true, kind: 'claim', granted: r.granted, holder: r.holder, index };
      if (r.kind === 'release') return { ok: true, kind: 'release', released: r.released, index };
      throw new Error('unexpected');
    },
    strongAppliedIndex: () => index,
    nowMs: () => w.now,
    monoMs: () => w.mono,
    freshAsOfMs: () => w.fresh,
    maxClockOffsetMs: 100,
    claimValidityMs: 2000,
    warn: () => {},
  });
  const put = (key: string, set: Record<string, JsonValue>, table = 'users') => gate.submit({ kind: 'write', table, key, body: { set } });
  /** Lets every region catch up to now, and runs the due releases. */
  const settle = async () => {
    w.fresh = w.now + 10_000;
    gate.tick();
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return { w, gate, put, settle, holder: (v: string, field = 'email', table = 'users') => state.claimHolder(table, field, v) };
}

describe('strong unique gate', () => {
  it('claims every value it sets before writing, even one the row already holds', async () => {
    const { w, put } = world();
    expect((await put('k1', { email: 'x' })).ok).toBe(true);
    expect((await put('k1', { email: 'x', name: 'N' })).ok).toBe(true);
    expect(w.calls).toEqual(['claim email=x for k1', 'write users/k1', 'claim email=x for k1', 'write users/k1']);
  });

  it('schedules a release only after writes that touch a unique field, and deletes', async () => {
    const { gate, put } = world();
    await put('k1', { name: 'N' });
    expect(gate.pendingReleases).toBe(0);
    await put('k1', { email: 'x' });
    expect(gate.pendingReleases).toBe(1);
    await gate.submit({ kind: 'delete', table: 'users', key: 'k1' });
    expect(gate.pendingReleases).toBe(2);
  });

  it('refuses a value another key holds with UNIQUE_VIOLATION, and writes nothing', async () => {
    const { w, put } = world();
    await put('k1', { email: 'x' });
    const r = await put('k2', { email: 'x' });
    expect(r).toMatchObject({ ok: false, error: { code: 'UNIQUE_VIOLATION', field: 'email' } });
    expect(w.rows.has('users/k2')).toBe(false);
  });

  it('without a quorum, or with a claim that came back too late, the write is refused and says it was not made', async () => {
    const a = world();
    a.w.strongDown = true;
    expect(await a.put('k1', { email: 'x' })).toMatchObject({ ok: false, error: { code: 'QUORUM_TIMEOUT', field: 'email', mayHaveCommitted: false } });
    const b = world();
    b.w.claimDelayMs = 2500;
    expect(await b.put('k1', { email: 'x' })).toMatchObject({ ok: false, error: { code: 'QUORUM_TIMEOUT', field: 'email' } });
    expect(a.w.rows.size + b.w.rows.size).toBe(0);
  });

  it('releases the value a row gave up only once every region has heard of the writes that could still give it back', async () => {
    const { w, gate, put, settle, holder } = world();
    await put('k1', { email: 'x' });
    await put('k1', { email: 'y' });
    w.fresh = w.now; // the others have not heard of anything made since the change
    gate.tick();
    await Promise.resolve();
    expect(holder('x')).toBe('k1');
    await settle();
    expect(holder('x')).toBeUndefined();
    expect(holder('y')).toBe('k1');
    expect(gate.pendingReleases).toBe(0);
  });

  it('a re-save of the old value racing with a change keeps it claimed: the later claim is above the change’s fence', async () => {
    // Found in review: C re-saves x while A changes x → y; C's write lands last and wins. A's
    // release must not free x, or another key could take it while k1 shows it.
    const { w, put, settle, holder } = world();
    await put('k1', { email: 'x' });
    const a = put('k1', { email: 'y' }); // fence read, claims y...
    const c = put('k1', { email: 'x' }); // ...while C claims x again, above A's fence
    await Promise.all([a, c]);
    // Whatever the row shows when A's release runs (here: C's write not seen yet), C's claim is
    // above A's fence, so x stays with k1 for C's write to keep.
    w.rows.set('users/k1', { email: 'y' });
    await settle();
    expect(w.calls).toContain('release email of k1 keep y upTo 1');
    expect(holder('x')).toBe('k1');
    expect((await put('k2', { email: 'x' })).ok).toBe(false);
  });

  it('a delete releases the row’s values; an update-wins table never releases (a value stays with its key)', async () => {
    const { gate, put, settle, holder } = world();
    await put('k1', { email: 'x', handle: 'h' });
    await gate.submit({ kind: 'delete', table: 'users', key: 'k1' });
    await settle();
    expect(holder('x')).toBeUndefined();
    expect(holder('h', 'handle')).toBeUndefined();
    await put('k2', { email: 'x' }, 'loose');
    await gate.submit({ kind: 'delete', table: 'loose', key: 'k2' });
    await settle();
    expect(holder('x', 'email', 'loose')).toBe('k2');
  });
});
