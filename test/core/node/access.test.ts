/**
 * Users and roles through the front door of three region cores with authentication required:
 * deny by default, grants per table, cluster admin for users, roles, drains and new tables, and a
 * deleted user refused in every region once it has applied the deletion. Nothing is written on
 * a refusal.
 */
import { describe, expect, it } from 'vitest';
import type { Caller, ClientCall } from '../../../src/core/node/client-call.js';
import type { CallAnswer } from '../../../src/core/node/messages.js';
import { RegionCluster } from './cluster.js';

const credential = { salt: 'c2FsdHNhbHRzYWx0c2FsdA', hash: 'aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g' };
const root: Caller = { user: 'root' };

function secure(): RegionCluster {
  const c = new RegionCluster({ auth: { required: true, rootUser: 'root' } });
  c.until(() => c.allWriteReady(), 10_000, 'every region write-ready');
  return c;
}

const call = (c: RegionCluster, region: string, x: ClientCall): CallAnswer['reply'] => {
  const r = c.answer(c.call(region, x));
  if (r === undefined) throw new Error(`no answer to ${JSON.stringify(x)} in ${region}`);
  return r;
};
const as = (caller: Caller | undefined, x: ClientCall): ClientCall => (caller === undefined ? x : { ...x, caller });
const code = (r: CallAnswer['reply']) => (r.ok ? 'ok' : r.error.code);

/** Roles writer (write on free) and reader (read on every table); users alice (writer) and bob (reader). */
function people(c: RegionCluster): number {
  expect(code(call(c, 'a', as(root, { kind: 'put-role', name: 'writer', body: { grants: { free: ['write'] } } })))).toBe('ok');
  expect(code(call(c, 'a', as(root, { kind: 'put-role', name: 'reader', body: { grants: { '*': ['read'] } } })))).toBe('ok');
  expect(code(call(c, 'a', as(root, { kind: 'put-user', name: 'alice', roles: ['writer'], credential })))).toBe('ok');
  const bob = call(c, 'a', as(root, { kind: 'put-user', name: 'bob', roles: ['reader'], credential }));
  expect(bob).toMatchObject({ ok: true, result: { kind: 'user', name: 'bob', changed: true } });
  const index = bob.ok && bob.result.kind === 'user' ? bob.result.index : Infinity;
  // Every region knows them once it has applied their creation (a user is a change of the strong log).
  for (const r of ['a', 'b', 'c']) c.until(() => c.core(r).strong.state.index >= index, 5000, `${r} applied the users`);
  return index;
}

describe('users and roles (authentication required)', () => {
  it('refuses a call with no caller (401) and writes nothing; status and whoami need a user too', () => {
    const c = secure();
    expect(call(c, 'a', { kind: 'patch', table: 'free', key: 'k', body: { set: { v: 1 } } })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    expect(code(call(c, 'a', { kind: 'status' }))).toBe('UNAUTHENTICATED');
    expect(code(call(c, 'a', as(root, { kind: 'get', table: 'free', key: 'k' })))).toBe('NOT_FOUND');
    expect(call(c, 'b', as(root, { kind: 'whoami' }))).toMatchObject({ ok: true, result: { kind: 'whoami', user: 'root', clusterAdmin: true } });
  });

  it('grants per table: write implies read, a reader cannot write, nobody but an admin makes tables, users or drains', () => {
    const c = secure();
    people(c);
    const alice: Caller = { user: 'alice' };
    const bob: Caller = { user: 'bob' };
    expect(code(call(c, 'a', as(alice, { kind: 'patch', table: 'free', key: 'k', body: { set: { v: 1 } } })))).toBe('ok');
    expect(code(call(c, 'a', as(alice, { kind: 'get', table: 'free', key: 'k' })))).toBe('ok');
    expect(call(c, 'a', as(alice, { kind: 'patch', table: 'accounts', key: 'x', body: { incr: { balance: 1 } } }))).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: expect.stringContaining('write on table accounts') } });
    expect(code(call(c, 'a', as(alice, { kind: 'txn', body: { success: [{ table: 'accounts', key: 'x', incr: { balance: 1 } }] } })))).toBe('FORBIDDEN');
    expect(code(call(c, 'b', as(bob, { kind: 'get', table: 'accounts', key: 'x' })))).toBe('NOT_FOUND');
    expect(code(call(c, 'b', as(bob, { kind: 'patch', table: 'free', key: 'k', body: { set: { v: 2 } } })))).toBe('FORBIDDEN');
    for (const x of [{ kind: 'put-table', table: 'new', body: { mode: 'async' } }, { kind: 'drain', region: 'b' }, { kind: 'put-user', name: 'eve', roles: [], credential }, { kind: 'conflicts' }] as ClientCall[]) {
      expect(code(call(c, 'a', as(alice, x))), x.kind).toBe('FORBIDDEN');
    }
    expect(call(c, 'c', as(alice, { kind: 'whoami' }))).toMatchObject({ ok: true, result: { user: 'alice', roles: ['writer'], clusterAdmin: false } });
    // Nothing of the refused writes exists.
    expect(code(call(c, 'a', as(root, { kind: 'get', table: 'accounts', key: 'x' })))).toBe('NOT_FOUND');
    expect(call(c, 'a', as(root, { kind: 'get', table: 'free', key: 'k' }))).toMatchObject({ ok: true, result: { row: { fields: { v: 1 } } } });
    expect(c.core('a').tables()['new']).toBeUndefined();
  });

  it('a deleted user is refused in every region once it applied the deletion', () => {
    const c = secure();
    people(c);
    const alice: Caller = { user: 'alice' };
    expect(code(call(c, 'c', as(alice, { kind: 'patch', table: 'free', key: 'k', body: { set: { v: 1 } } })))).toBe('ok');
    const del = call(c, 'a', as(root, { kind: 'delete-user', name: 'alice' }));
    expect(del).toMatchObject({ ok: true, result: { kind: 'user', name: 'alice', changed: true } });
    const index = del.ok && del.result.kind === 'user' ? del.result.index : Infinity;
    for (const r of ['a', 'b', 'c']) {
      c.until(() => c.core(r).strong.state.index >= index, 5000, `${r} applied the deletion`);
      expect(call(c, r, as(alice, { kind: 'patch', table: 'free', key: 'k2', body: { set: { v: 1 } } })), r).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    }
    expect(code(call(c, 'a', as(root, { kind: 'get', table: 'free', key: 'k2' })))).toBe('NOT_FOUND');
    // Deleting again changes nothing.
    expect(call(c, 'a', as(root, { kind: 'delete-user', name: 'alice' }))).toMatchObject({ ok: true, result: { changed: false } });
  });

  it('tables named like Object.prototype members read no grant and exist only if made (the review found them crashing the node)', () => {
    const c = secure();
    expect(code(call(c, 'a', as(root, { kind: 'put-role', name: 'all-admin', body: { grants: { '*': ['admin'] } } })))).toBe('ok');
    expect(code(call(c, 'a', as(root, { kind: 'put-role', name: 'free-reader', body: { grants: { free: ['read'] } } })))).toBe('ok');
    expect(code(call(c, 'a', as(root, { kind: 'put-user', name: 'carol', roles: ['free-reader'], credential })))).toBe('ok');
    expect(code(call(c, 'a', as(root, { kind: 'put-user', name: 'dave', roles: ['all-admin'], credential })))).toBe('ok');
    const carol: Caller = { user: 'carol' };
    const dave: Caller = { user: 'dave' };
    for (const table of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(code(call(c, 'a', as(carol, { kind: 'get', table, key: 'x' }))), table).toBe('FORBIDDEN');
      expect(code(call(c, 'a', as(carol, { kind: 'txn', body: { success: [{ table, key: 'k', get: true }] } }))), table).toBe('FORBIDDEN');
      // Admin on every table is not cluster admin: a new table, even one named so, needs cluster admin.
      expect(code(call(c, 'a', as(dave, { kind: 'put-table', table, body: { mode: 'async' } }))), table).toBe('FORBIDDEN');
    }
    expect(code(call(c, 'a', as(root, { kind: 'put-role', name: 'proto', body: { grants: JSON.parse('{"__proto__": ["admin"]}') } })))).toBe('BAD_REQUEST');
    expect(code(call(c, 'a', as(carol, { kind: 'get', table: 'free', key: 'x' })))).toBe('NOT_FOUND');
  });

  it('a write that waited for its table is authorized again when released: a user deleted meanwhile is refused', () => {
    const c = secure();
    people(c);
    const alice: Caller = { user: 'alice' };
    expect(code(call(c, 'a', as(root, { kind: 'put-role', name: 'late-writer', body: { grants: { '*': ['write'] } } })))).toBe('ok');
    expect(code(call(c, 'a', as(root, { kind: 'put-user', name: 'alice', roles: ['late-writer'], credential })))).toBe('ok');
    c.until(() => c.core('c').strong.state.access.user('alice')?.roles.includes('late-writer') === true, 5000, 'c knows alice’s new role');
    c.isolate('c');
    // Deleted, then a table created, both while c is cut off: c knows neither yet.
    expect(code(call(c, 'a', as(root, { kind: 'delete-user', name: 'alice' })))).toBe('ok');
    const table = call(c, 'a', as(root, { kind: 'put-table', table: 'late', body: { mode: 'async' } }));
    expect(table).toMatchObject({ ok: true });
    // Alice's write at c names a session that saw the table: it waits for it, authorized by what c knows now.
    const id = c.call('c', as(alice, { kind: 'patch', table: 'late', key: 'k', body: { set: { v: 1 } }, ...(table.session !== undefined ? { session: table.session } : {}) }));
    c.run(200);
    expect(c.answers.has(id)).toBe(false);
    c.heal();
    expect(c.answer(id)).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
    c.run(500);
    expect(code(call(c, 'a', as(root, { kind: 'get', table: 'late', key: 'k' })))).toBe('NOT_FOUND');
  });

  it('malformed users and roles are refused naming the field', () => {
    const c = secure();
    const refusals: Array<[ClientCall, string]> = [
      [{ kind: 'put-user', name: 'bad name', roles: [], credential }, 'name'],
      [{ kind: 'put-user', name: 'u', roles: 'writer', credential }, 'roles'],
      [{ kind: 'put-user', name: 'u', roles: ['nope'], credential }, 'roles'],
      [{ kind: 'put-user', name: 'u', roles: [], credential: { salt: 'x', hash: 'y' } }, 'credential'],
      [{ kind: 'put-user', name: 'nobody', roles: [] }, 'name'],
      [{ kind: 'put-role', name: 'r', body: { grants: { ghost: ['read'] } } }, 'grants.ghost'],
      [{ kind: 'put-role', name: 'r', body: { grants: { free: ['own'] } } }, 'grants.free'],
      [{ kind: 'put-role', name: 'r', body: { grants: {}, clusterAdmin: 'yes' } }, 'clusterAdmin'],
      [{ kind: 'put-role', name: 'r', body: { grants: {}, extra: 1 } }, 'extra'],
    ];
    for (const [x, field] of refusals) expect(call(c, 'a', as(root, x)), JSON.stringify(x)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', field } });
    expect(c.core('a').strong.state.access.userCount).toBe(0);
  });

  it('with authentication off, calls need no caller (what every other test does)', () => {
    const c = new RegionCluster();
    c.until(() => c.allWriteReady(), 10_000, 'every region write-ready');
    expect(code(call(c, 'a', { kind: 'patch', table: 'free', key: 'k', body: { set: { v: 1 } } }))).toBe('ok');
    expect(call(c, 'a', { kind: 'whoami' })).toMatchObject({ ok: true, result: { user: null, clusterAdmin: false } });
  });
});
