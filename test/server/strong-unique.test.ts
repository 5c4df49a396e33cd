/** The claim-then-write gate for strong unique fields of async tables, with the two cores faked. */
import { describe, expect, it } from 'vitest';
import type { ClientReply, ClientRequest } from '../../src/core/replica/messages.js';
import { validatePolicy } from '../../src/core/schema/policy.js';
import type { StrongReply, StrongRequest } from '../../src/core/strong/messages.js';
import { submitWithStrongUnique, type StrongUniqueDeps } from '../../src/server/strong-unique.js';

function policy(input: unknown) {
  const p = validatePolicy(input, { regions: ['a', 'b'] });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

const users = policy({ mode: 'async', fields: { email: 'lww', handle: 'lww' }, unique: [{ field: 'email', enforce: 'strong' }, { field: 'handle', enforce: 'strong' }] });

/** Fakes: a claims map for the strong group, one row for the replica, and a log of calls. */
function fakes(options: { row?: Record<string, unknown>; refuseWrite?: boolean; strongDown?: boolean; held?: Record<string, string> } = {}) {
  const claims = new Map<string, string>(Object.entries(options.held ?? {}));
  const calls: string[] = [];
  const deps: StrongUniqueDeps = {
    tables: () => ({ users }),
    async submitAsync(req: ClientRequest): Promise<ClientReply> {
      calls.push(`async ${req.kind}`);
      if (req.kind === 'read') return { ok: true, kind: 'read', row: options.row === undefined ? null : { key: req.key, fields: options.row, version: '1' }, vector: {}, token: 't' } as ClientReply;
      if (options.refuseWrite === true) return { ok: false, error: { code: 'BAD_REQUEST', message: 'no' } };
      return { ok: true, kind: 'write', result: { row: null }, replayed: false, token: 't' } as unknown as ClientReply;
    },
    async submitStrong(req: StrongRequest): Promise<StrongReply> {
      if (req.kind !== 'claim' && req.kind !== 'release') throw new Error('unexpected');
      calls.push(`${req.kind} ${req.field}=${String(req.value)}`);
      if (options.strongDown === true) return { ok: false, error: { code: 'QUORUM_TIMEOUT', message: 'no quorum', mayHaveCommitted: true } };
      const id = `${req.field}=${String(req.value)}`;
      if (req.kind === 'release') {
        if (claims.get(id) === req.key) claims.delete(id);
        return { ok: true, kind: 'release', index: 1 };
      }
      const holder = claims.get(id);
      if (holder !== undefined && holder !== req.key) return { ok: true, kind: 'claim', granted: false, holder, index: 1 };
      claims.set(id, req.key);
      return { ok: true, kind: 'claim', granted: true, holder: req.key, index: 1 };
    },
    onReleaseFailed: () => {},
  };
  return { deps, claims, calls };
}

const write = (body: unknown, method: 'PATCH' | 'PUT' = 'PATCH'): ClientRequest => ({ kind: 'write', table: 'users', key: 'k1', body, method });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('strong unique gate', () => {
  it('claims new values before the write and releases the values the row gave up after it', async () => {
    const f = fakes({ row: { email: 'old@x', handle: 'h' } });
    const r = await submitWithStrongUnique(f.deps, write({ set: { email: 'new@x' } }));
    await settle();
    expect(r.ok).toBe(true);
    expect(f.calls).toEqual(['async read', 'claim email=new@x', 'async write', 'release email=old@x']);
  });

  it('refuses a value held by another key with UNIQUE_VIOLATION, writes nothing, and gives back what it claimed', async () => {
    const f = fakes({ held: { 'handle=taken': 'k2' } });
    const r = await submitWithStrongUnique(f.deps, write({ set: { email: 'e@x', handle: 'taken' } }));
    await settle();
    expect(r).toMatchObject({ ok: false, error: { code: 'UNIQUE_VIOLATION', field: 'handle' } });
    expect(f.calls).not.toContain('async write');
    expect(f.calls).toContain('release email=e@x');
    expect(f.claims.has('email=e@x')).toBe(false);
  });

  it('without a quorum the write is refused and says it was not made', async () => {
    const f = fakes({ strongDown: true });
    const r = await submitWithStrongUnique(f.deps, write({ set: { email: 'e@x' } }));
    expect(r).toMatchObject({ ok: false, error: { code: 'QUORUM_TIMEOUT', field: 'email', mayHaveCommitted: false } });
    expect(f.calls).not.toContain('async write');
  });

  it('a write the replica refuses releases its new claims', async () => {
    const f = fakes({ refuseWrite: true });
    const r = await submitWithStrongUnique(f.deps, write({ set: { email: 'e@x' } }));
    await settle();
    expect(r.ok).toBe(false);
    expect(f.claims.size).toBe(0);
  });

  it('writing the value the row already holds, or other fields, claims nothing; a delete releases the row’s values', async () => {
    const f = fakes({ row: { email: 'e@x' } });
    await submitWithStrongUnique(f.deps, write({ fields: { email: 'e@x' } }, 'PUT'));
    await submitWithStrongUnique(f.deps, write({ set: { name: 'N' } }));
    expect(f.calls.filter((c) => c.startsWith('claim'))).toEqual([]);
    await submitWithStrongUnique(f.deps, { kind: 'delete', table: 'users', key: 'k1' });
    await settle();
    expect(f.calls.at(-1)).toBe('release email=e@x');
  });

  it('unsets release; tables without strong unique fields pass straight through', async () => {
    const f = fakes({ row: { email: 'e@x' } });
    await submitWithStrongUnique(f.deps, write({ unset: ['email'] }));
    await settle();
    expect(f.calls).toEqual(['async read', 'async write', 'release email=e@x']);
    const g = fakes();
    await submitWithStrongUnique({ ...g.deps, tables: () => ({ users: policy({ mode: 'async' }) }) }, write({ set: { email: 'e' } }));
    expect(g.calls).toEqual(['async write']);
  });
});
