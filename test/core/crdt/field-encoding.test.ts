/**
 * The stored encoding of field states is pinned: storage packs row states as they are (msgpack,
 * src/storage/sqlite-storage.ts), so a change to a kind's state shape or key order is a format
 * change that stored rows and peers of the previous version would not survive. The digests below
 * (sha256 of the states' msgpack bytes, in hex, one state a line) were taken before field kinds
 * moved behind one interface (issue 20).
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { applyOp, compactRow, type RowState } from '../../../src/core/crdt/row.js';
import { validatePolicy, type TablePolicy } from '../../../src/core/schema/policy.js';
import type { FieldChange, Op } from '../../../src/core/model/op.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

const golden: Record<string, string> = {
  'delete-wins': '9e43585f2f43d9863f4c7c11f5857978f1a02a205137b7e6a15f5d33e3abdefb',
  'update-wins': '005c3f6abff8ff26229656a9003cf87c565dd330a3ad11358e0b4462fc1bd55e',
};

function policy(onDeleteUpdate: 'delete-wins' | 'update-wins'): TablePolicy {
  const p = validatePolicy({ fields: { name: 'lww', n: 'counter', s: 'set', m: 'merge:concat' }, onDeleteUpdate }, { regions: ['us-east', 'eu-west'], mergeFunctions: ['concat'] });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

function op(origin: string, seq: number, deps: Op['deps'], kind: Op['kind'], changes: Record<string, FieldChange> = {}, idem?: string): Op {
  return {
    dot: { origin, seq }, hlc: { wall: 10 + seq, logical: 0, node: origin }, deps, table: 't', key: 'k', kind, changes,
    ...(idem !== undefined ? { idem: { key: idem, digest: 'd', result: { dot: { origin, seq }, row: null } } } : {}),
  };
}

/** Two regions write every kind concurrently, one of them twice under one idempotency key, then one deletes. */
function history(p: TablePolicy): RowState[] {
  const ops = [
    op('us-east', 1, {}, 'write', { name: { k: 'set', value: 'x' }, n: { k: 'incr', delta: 2 }, s: { k: 'add', elems: ['a', 1] }, m: { k: 'set', value: 'p' } }, 'i1'),
    op('eu-west', 1, {}, 'write', { name: { k: 'set', value: { deep: [1, null] } }, n: { k: 'set', value: 5 }, s: { k: 'set', value: ['b'] }, m: { k: 'set', value: 'q' } }),
    op('eu-west', 2, { 'eu-west': 1 }, 'write', { name: { k: 'set', value: 'x' }, n: { k: 'incr', delta: 2 } }, 'i1'),
    op('us-east', 2, { 'us-east': 1, 'eu-west': 1 }, 'write', { name: { k: 'unset' }, s: { k: 'remove', elems: ['b'] }, n: { k: 'incr', delta: -1 } }),
    op('eu-west', 3, { 'eu-west': 2, 'us-east': 1 }, 'delete'),
  ];
  const states: RowState[] = [];
  let row: RowState | undefined;
  for (const o of ops) {
    row = applyOp(row, o, p);
    states.push(row);
  }
  states.push(compactRow(row as RowState, { 'us-east': 1, 'eu-west': 2 }, p, 0));
  return states;
}

describe('stored encoding of field states', () => {
  for (const mode of ['delete-wins', 'update-wins'] as const) {
    it(`is unchanged (${mode})`, () => {
      const hex = history(policy(mode)).map((s) => packr.pack(s).toString('hex'));
      expect(createHash('sha256').update(hex.join('\n')).digest('hex')).toBe(golden[mode]);
    });
  }
});
