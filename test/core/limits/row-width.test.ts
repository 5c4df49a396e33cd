/**
 * A row's width (limits.fieldsPerRowMax) and a set's size (limits.setElementsMax), on both write
 * paths: the replica's for async tables, the state machine's for strong ones. A local write that
 * would pass a limit is refused 413 TOO_LARGE naming the limit and the field at fault, and leaves
 * the row as it was; exactly at the limit is taken. Remote ops are never refused: concurrent writes
 * in two regions may take a row past the limit, and the replicas still converge.
 */
import { describe, expect, it } from 'vitest';
import { limits } from '../../../src/core/limits.js';
import type { ClientReply } from '../../../src/core/replica/messages.js';
import { proposalFor } from '../../../src/core/strong/commands.js';
import type { StrongConfig } from '../../../src/core/strong/config.js';
import { StrongState } from '../../../src/core/strong/state-machine.js';
import type { ApplyResult } from '../../../src/core/strong/types.js';
import { validatePolicy, type TablePolicy } from '../../../src/core/schema/policy.js';
import { Cluster, EU, US } from '../cluster.js';

const { fieldsPerRowMax, fieldsPerWriteMax, setElementsMax, setElementsPerOpMax } = limits;

/** `count` fields f<from>... f<from+count-1>, each set to its index. */
function fields(from: number, count: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = from; i < from + count; i++) out[`f${i}`] = i;
  return out;
}

/** `count` distinct set elements starting at `from`. */
const elems = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

function fieldCount(reply: ClientReply | undefined): number {
  return reply !== undefined && reply.ok && reply.kind === 'read' ? Object.keys(reply.row?.fields ?? {}).length : -1;
}

describe('async rows: limits.fieldsPerRowMax and limits.setElementsMax (replica/writes.ts, the set kind)', () => {
  const tables = { t: { mode: 'async' }, s: { mode: 'async', fields: { tags: 'set', other: 'set' } } };
  const patch = (table: string, key: string, body: unknown, method: 'PATCH' | 'PUT' = 'PATCH') => ({ kind: 'write' as const, table, key, body, method });
  const read = (table: string, key: string) => ({ kind: 'read' as const, table, key });

  /** Fills row `key` of table t to exactly fieldsPerRowMax fields, a full write at a time. */
  function fillRow(c: Cluster, key: string, region = US): void {
    for (let from = 0; from < fieldsPerRowMax; from += fieldsPerWriteMax) c.ok(region, patch('t', key, { set: fields(from, Math.min(fieldsPerWriteMax, fieldsPerRowMax - from)) }));
  }

  it('takes a row of exactly fieldsPerRowMax fields; one more field is TOO_LARGE naming it, and nothing is written', () => {
    const c = new Cluster({ tables });
    fillRow(c, 'k');
    expect(fieldCount(c.request(US, read('t', 'k')))).toBe(fieldsPerRowMax);
    const before = c.request(US, read('t', 'k'));
    const created = c.replica(US).status().vector;

    const over = c.request(US, patch('t', 'k', { set: { f0: 'changed', extra: 1 } }));
    expect(over).toMatchObject({ ok: false, error: { code: 'TOO_LARGE', field: 'set.extra' } });
    if (over?.ok === false) expect(over.error.message).toContain(`fieldsPerRowMax (${fieldsPerRowMax})`);
    const put = c.request(US, patch('t', 'k', { fields: { zzz: 1 } }, 'PUT'));
    expect(put).toMatchObject({ ok: false, error: { code: 'TOO_LARGE', field: 'fields.zzz' } });
    // Nothing written: the same row, and no op made.
    expect(c.request(US, read('t', 'k'))).toEqual(before);
    expect(c.replica(US).status().vector).toEqual(created);

    // Writes that do not widen the row go on: change a field, or add one while unsetting another.
    c.ok(US, patch('t', 'k', { set: { f0: 'changed' } }));
    c.ok(US, patch('t', 'k', { set: { extra: 1 }, unset: ['f1'] }));
    expect(fieldCount(c.request(US, read('t', 'k')))).toBe(fieldsPerRowMax);
  });

  it('never refuses a peer’s op: concurrent writes in two regions take a row past the limit, every replica converges, and the row can still be shrunk', () => {
    const c = new Cluster({ tables });
    fillRow(c, 'k');
    c.deliverAll();
    c.cutLink(US, EU);
    // Each region trades the same field for a new one of its own: each stays at the limit.
    c.ok(US, patch('t', 'k', { set: { us: 1 }, unset: ['f1'] }));
    c.ok(EU, patch('t', 'k', { set: { eu: 1 }, unset: ['f1'] }));
    c.heal();
    c.settle();
    // Merged: both new fields, one field fewer.
    const widths = c.regions.map((r) => fieldCount(c.request(r, read('t', 'k'))));
    expect(widths).toEqual(c.regions.map(() => fieldsPerRowMax + 1));
    // Past the limit: a write adding a field is refused, one that changes or removes is taken.
    expect(c.request(US, patch('t', 'k', { set: { another: 1 } }))).toMatchObject({ ok: false, error: { code: 'TOO_LARGE', field: 'set.another' } });
    c.ok(US, patch('t', 'k', { set: { us: 2 } }));
    c.ok(US, patch('t', 'k', { unset: ['us', 'eu'] }));
    expect(fieldCount(c.request(US, read('t', 'k')))).toBe(fieldsPerRowMax - 1);
  });

  it('takes a set of exactly setElementsMax elements; an add past it is TOO_LARGE naming the field, and nothing is written', () => {
    const c = new Cluster({ tables });
    for (let from = 0; from < setElementsMax; from += setElementsPerOpMax) c.ok(US, patch('s', 'k', { add: { tags: elems(from, Math.min(setElementsPerOpMax, setElementsMax - from)) } }));
    const before = c.request(US, read('s', 'k'));
    expect(before?.ok === true && before.kind === 'read' && (before.row?.fields['tags'] as unknown[]).length).toBe(setElementsMax);

    const over = c.request(US, patch('s', 'k', { add: { tags: [0, 1, -1] } })); // two already there, one new
    expect(over).toMatchObject({ ok: false, error: { code: 'TOO_LARGE', field: 'add.tags' } });
    if (over?.ok === false) expect(over.error.message).toContain(`setElementsMax (${setElementsMax})`);
    expect(c.request(US, read('s', 'k'))).toEqual(before);

    // Adding what is there already, removing, or adding after removing stays within the limit.
    c.ok(US, patch('s', 'k', { add: { tags: [0, 1, 2] } }));
    c.ok(US, patch('s', 'k', { remove: { tags: [0] } }));
    c.ok(US, patch('s', 'k', { add: { tags: [-1] } }));
    // Another set field of the row has its own count.
    c.ok(US, patch('s', 'k', { add: { other: [1] } }));
  });

  it('never refuses a peer’s adds: concurrent adds in two regions take a set past the limit, and the replicas converge', () => {
    const c = new Cluster({ tables });
    for (let from = 0; from < setElementsMax - 1; from += setElementsPerOpMax) c.ok(US, patch('s', 'k', { add: { tags: elems(from, Math.min(setElementsPerOpMax, setElementsMax - 1 - from)) } }));
    c.deliverAll();
    c.cutLink(US, EU);
    c.ok(US, patch('s', 'k', { add: { tags: ['us'] } }));
    c.ok(EU, patch('s', 'k', { add: { tags: ['eu'] } }));
    c.heal();
    c.settle();
    for (const r of c.regions) {
      const got = c.request(r, read('s', 'k'));
      expect(got?.ok === true && got.kind === 'read' && (got.row?.fields['tags'] as unknown[]).length, r).toBe(setElementsMax + 1);
    }
    expect(c.request(EU, patch('s', 'k', { add: { tags: ['more'] } }))).toMatchObject({ ok: false, error: { code: 'TOO_LARGE', field: 'add.tags' } });
  });
});

describe('strong rows: limits.fieldsPerRowMax and limits.setElementsMax (the state machine)', () => {
  function policy(input: unknown): TablePolicy {
    const p = validatePolicy(input, { regions: ['a'] });
    if (!p.ok) throw new Error(p.error.message);
    return p.value;
  }
  const tables = { accounts: policy({ mode: 'strong', fields: { tags: 'set' }, undeclaredFields: 'lww' }) };
  const config = { region: 'a', regions: ['a'], tables, mergeFunctions: [] } as unknown as StrongConfig;

  class Machine {
    readonly state = new StrongState(tables, 60_000);
    index = 0;

    /** A single-row write as a node proposes it, applied at the next log position. */
    write(key: string, body: unknown, method: 'PATCH' | 'PUT' = 'PATCH'): ApplyResult | null {
      const p = proposalFor(config, this.state, { kind: 'write', table: 'accounts', key, body, method }, 1000);
      if ('code' in p) throw new Error(p.message);
      return this.state.apply(++this.index, p.command);
    }
  }

  it('takes a row of exactly fieldsPerRowMax fields; one more is TOO_LARGE naming it, and the row is unchanged', () => {
    const m = new Machine();
    for (let from = 0; from < fieldsPerRowMax; from += fieldsPerWriteMax) expect(m.write('k', { set: fields(from, fieldsPerWriteMax) })).toMatchObject({ ok: true });
    const before = m.state.get('accounts', 'k');
    expect(Object.keys(before?.fields ?? {})).toHaveLength(fieldsPerRowMax);

    const over = m.write('k', { set: { f0: 'changed', extra: 1 } });
    expect(over).toMatchObject({ ok: false, error: { code: 'TOO_LARGE', field: 'success[0].set.extra' } });
    if (over?.ok === false) expect(over.error.message).toContain(`fieldsPerRowMax (${fieldsPerRowMax})`);
    expect(m.write('k', { fields: { zzz: 1 } }, 'PUT')).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    expect(m.state.get('accounts', 'k')).toEqual(before);

    expect(m.write('k', { set: { f0: 'changed' } })).toMatchObject({ ok: true });
    expect(m.write('k', { set: { extra: 1 }, unset: ['f1'] })).toMatchObject({ ok: true });
    expect(Object.keys(m.state.get('accounts', 'k')?.fields ?? {})).toHaveLength(fieldsPerRowMax);
  });

  it('takes a set of exactly setElementsMax elements; an add past it is TOO_LARGE naming the field, and the row is unchanged', () => {
    const m = new Machine();
    for (let from = 0; from < setElementsMax; from += setElementsPerOpMax) expect(m.write('k', { add: { tags: elems(from, setElementsPerOpMax) } })).toMatchObject({ ok: true });
    const before = m.state.get('accounts', 'k');
    expect(before?.fields['tags']).toHaveLength(setElementsMax);

    const over = m.write('k', { add: { tags: [0, -1] } });
    expect(over).toMatchObject({ ok: false, error: { code: 'TOO_LARGE', field: 'success[0].add.tags' } });
    if (over?.ok === false) expect(over.error.message).toContain(`setElementsMax (${setElementsMax})`);
    expect(m.state.get('accounts', 'k')).toEqual(before);

    expect(m.write('k', { add: { tags: [0, 1] } })).toMatchObject({ ok: true });
    expect(m.write('k', { remove: { tags: [0] } })).toMatchObject({ ok: true });
    expect(m.write('k', { add: { tags: [-1] } })).toMatchObject({ ok: true });
  });
});
