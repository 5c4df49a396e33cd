/**
 * Bad input to the core gets a typed error naming the field, and changes nothing (docs/api.md,
 * "Overview").
 */
import { parseWriteBody } from '../../src/core/model/write-body.js';
import type { TablePolicy } from '../../src/core/schema/policy.js';
import { describe, expect, it } from 'vitest';
import { exportState } from '../../src/core/replica/export.js';
import type { ClientRequest } from '../../src/core/replica/messages.js';
import { configProblem } from '../../src/core/replica/config.js';
import { replicaDefaults } from '../../src/core/replica/config.js';
import { validatePolicy } from '../../src/core/schema/policy.js';
import { Cluster, US } from './cluster.js';

function fresh(): Cluster {
  const c = new Cluster({
    tables: {
      t: { fields: { n: 'counter', s: 'set', name: 'lww' } },
      ledger: { mode: 'strong' },
    },
  });
  c.ok(US, { kind: 'write', table: 't', key: 'big', body: { incr: { n: Number.MAX_SAFE_INTEGER - 1 } } });
  c.deliverAll();
  return c;
}

const w = (body: unknown, extra: Partial<Extract<ClientRequest, { kind: 'write' }>> = {}): ClientRequest => ({ kind: 'write', table: 't', key: 'k', body, ...extra });

const cases: Array<[string, ClientRequest, string, string | undefined]> = [
  ['unknown table', { kind: 'write', table: 'nope', key: 'k', body: { set: { a: 1 } } }, 'NO_SUCH_TABLE', undefined],
  ['a strong table sent to the async replica (the shell routes it to the strong group)', { kind: 'write', table: 'ledger', key: 'k', body: { set: { a: 1 } } }, 'UNSUPPORTED', undefined],
  ['empty key', { kind: 'write', table: 't', key: '', body: { set: { a: 1 } } }, 'BAD_REQUEST', 'key'],
  ['oversized key', { kind: 'write', table: 't', key: 'k'.repeat(1025), body: { set: { a: 1 } } }, 'TOO_LARGE', 'key'],
  ['body not an object', w([1, 2]), 'BAD_REQUEST', 'body'],
  ['unknown body key', w({ put: { a: 1 } }), 'BAD_REQUEST', 'put'],
  ['no change at all', w({}), 'BAD_REQUEST', 'body'],
  ['non-integer increment', w({ incr: { n: 1.5 } }), 'BAD_REQUEST', 'incr.n'],
  ['string increment', w({ incr: { n: '1' } }), 'BAD_REQUEST', 'incr.n'],
  ['increment of an lww field', w({ incr: { name: 1 } }), 'BAD_REQUEST', 'incr.name'],
  ['counter overflow past the safe-integer range', { kind: 'write', table: 't', key: 'big', body: { incr: { n: 5 } } }, 'BAD_REQUEST', 'incr.n'],
  ['counter set to a non-integer', w({ set: { n: 2.5 } }), 'BAD_REQUEST', 'set.n'],
  ['add to a counter field', w({ add: { n: [1] } }), 'BAD_REQUEST', 'add.n'],
  ['a set element that is not a scalar', w({ add: { s: [{ a: 1 }] } }), 'BAD_REQUEST', 'add.s[0]'],
  ['a bad field name', w({ set: { 'bad name': 1 } }), 'BAD_REQUEST', 'set.bad name'],
  ['one field changed twice', w({ set: { name: 'a' }, unset: ['name'] }), 'BAD_REQUEST', 'unset[0]'],
  ['a non-JSON number', w({ set: { name: Number.NaN } }), 'BAD_REQUEST', 'set.name'],
  ['an oversized value', w({ set: { name: 'x'.repeat(1024 * 1024 + 1) } }), 'TOO_LARGE', 'body'],
  ['a malformed session token', w({ set: { name: 'a' } }, { session: 'not-a-token' }), 'BAD_REQUEST', 'session'],
  ['a field the table does not declare (a typo)', w({ set: { nmae: 'a' } }), 'BAD_REQUEST', 'set.nmae'],
  ['unset of a field the table does not declare', w({ unset: ['nmae'] }), 'BAD_REQUEST', 'unset[0]'],
  ['a token naming a write of this region it never made', w({ set: { name: 'a' } }, { session: 't1.us-east~1e400' }), 'BAD_REQUEST', 'session'],
  ['a token naming a region outside the cluster', w({ set: { name: 'a' } }, { session: 't1.mars~1' }), 'BAD_REQUEST', 'session'],
  ['an oversized idempotency key', w({ set: { name: 'a' } }, { idempotencyKey: 'k'.repeat(257) }), 'BAD_REQUEST', 'idempotencyKey'],
  ['an unknown consistency level', { kind: 'read', table: 't', key: 'k', consistency: 'linearizable' }, 'BAD_REQUEST', 'consistency'],
  ['a bounded read without a bound', { kind: 'read', table: 't', key: 'k', consistency: 'bounded' }, 'BAD_REQUEST', 'maxStalenessMs'],
  ['a strong read of an async table', { kind: 'read', table: 't', key: 'k', consistency: 'strong' }, 'BAD_REQUEST', 'consistency'],
  ['a scan limit out of range', { kind: 'scan', table: 't', limit: 0 }, 'BAD_REQUEST', 'limit'],
  ['a negative feed position', { kind: 'conflicts', after: -1 }, 'BAD_REQUEST', 'after'],
];

describe('bad input to the replica', () => {
  it.each(cases.map(([name, request, code, field]) => ({ name, request, code, field })))('$name → $code, and nothing changes', ({ request, code, field }) => {
    const c = fresh();
    const storage = c.storages.get(US);
    if (storage === undefined) throw new Error('no storage');
    const digest = () => exportState({ ...replicaDefaults, region: US, regions: c.regions, tables: c.tables, mergeFunctions: {} }, storage).digest;
    const before = digest();
    const vector = c.replica(US).vector;
    const reply = c.request(US, request);
    expect(reply).toMatchObject({ ok: false, error: { code } });
    if (field !== undefined) expect(reply).toMatchObject({ error: { field } });
    expect(c.replica(US).vector).toEqual(vector);
    expect(c.inFlight.filter((m) => m.message.t === 'ops')).toHaveLength(0);
    expect(digest()).toBe(before);
  });
});

describe('messages name what they got', () => {
  it('an increment that is not a safe integer says what it was', () => {
    const policy = { mode: 'async', fields: { n: 'counter' }, ownership: 'multi-writer', home: null, onDeleteUpdate: 'delete-wins', unique: [], tombstoneRetentionMs: 0, residency: null, whenIsolated: 'accept' } as unknown as TablePolicy;
    for (const [value, shown] of [['one', '"one"'], [1.5, '1.5'], [null, 'null']] as const) {
      const r = parseWriteBody({ incr: { n: value } }, 'PATCH', policy);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: 'BAD_REQUEST', field: 'incr.n', message: expect.stringContaining(`not ${shown}`) });
    }
  });
});

describe('bad policies and configurations', () => {
  const ctx = { regions: ['us-east', 'eu-west'], mergeFunctions: ['concat'] };
  it.each([
    [{ fields: { a: 'blob' } }, 'tables.x.fields.a'],
    [{ fields: { a: 'merge:missing' } }, 'tables.x.fields.a'],
    [{ mode: 'eventual' }, 'tables.x.mode'],
    [{ onDeleteUpdate: 'newest-wins' }, 'tables.x.onDeleteUpdate'],
    [{ unique: [{ field: 'n' }], fields: { n: 'counter' } }, 'tables.x.unique[0].field'],
    [{ ownership: 'home' }, 'tables.x.home'],
    [{ residency: ['mars'] }, 'tables.x.residency[0]'],
    [{ tombstoneRetentionMs: -1 }, 'tables.x.tombstoneRetentionMs'],
    [{ colour: 'blue' }, 'tables.x.colour'],
  ])('policy %# is refused naming %s', (spec, field) => {
    const r = validatePolicy(spec, ctx, 'tables.x');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'BAD_REQUEST', field });
  });

  it('a configuration with a bad table name is refused, naming it', () => {
    const p = validatePolicy({}, ctx);
    if (!p.ok) throw new Error(p.error.message);
    const problem = configProblem({ ...replicaDefaults, region: 'us-east', regions: ctx.regions, tables: { 'no spaces': p.value }, mergeFunctions: {} });
    expect(problem).toMatchObject({ code: 'BAD_REQUEST', field: 'tables.no spaces' });
  });

  it('a configuration with a policy this build cannot honour is refused, naming the field', () => {
    const p = validatePolicy({ residency: ['us-east'] }, ctx);
    if (!p.ok) throw new Error(p.error.message);
    const problem = configProblem({ ...replicaDefaults, region: 'us-east', regions: ctx.regions, tables: { x: p.value }, mergeFunctions: {} });
    expect(problem).toMatchObject({ code: 'BAD_REQUEST', field: 'tables.x.residency' });
  });
});

describe('undeclared fields', () => {
  const base = { mode: 'async', fields: { name: 'lww' } };
  const parsed = (policy: unknown) => {
    const p = validatePolicy(policy, { regions: ['us-east'] });
    if (!p.ok) throw new Error(p.error.message);
    return p.value;
  };

  it('a table with declared fields refuses others, naming the field and what is declared', () => {
    const r = parseWriteBody({ set: { nickname: 'a' } }, 'PATCH', parsed(base));
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', field: 'set.nickname', message: expect.stringContaining('declared: name') } });
  });

  it('undeclaredFields: lww allows them; a table that declares nothing allows any', () => {
    expect(parseWriteBody({ set: { nickname: 'a' } }, 'PATCH', parsed({ ...base, undeclaredFields: 'lww' })).ok).toBe(true);
    expect(parseWriteBody({ set: { nickname: 'a' } }, 'PUT', parsed({ mode: 'async' })).ok).toBe(false); // PUT bodies are {fields}
    expect(parseWriteBody({ fields: { nickname: 'a' } }, 'PUT', parsed({ mode: 'async' })).ok).toBe(true);
  });

  it('the home field and unique fields count as declared', () => {
    const p = parsed({ mode: 'async', fields: { name: 'lww' }, ownership: 'home', home: { field: 'region' }, unique: ['email'] });
    expect(parseWriteBody({ set: { region: 'us-east', email: 'a@b' } }, 'PATCH', p).ok).toBe(true);
  });

  it('policy validation: a bad value, and reject on a table that declares nothing', () => {
    expect(validatePolicy({ ...base, undeclaredFields: 'maybe' }, { regions: ['us-east'] })).toMatchObject({ ok: false, error: { field: 'policy.undeclaredFields' } });
    expect(validatePolicy({ mode: 'async', undeclaredFields: 'reject' }, { regions: ['us-east'] })).toMatchObject({ ok: false, error: { field: 'policy.undeclaredFields' } });
  });
});
