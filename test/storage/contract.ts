/**
 * The Storage contract (src/core/storage/storage.ts), as tests any implementation must pass.
 * `make` opens a fresh store; `reopen` simulates kill -9 and opens the same store again.
 */
import { describe, expect, it } from 'vitest';
import type { IdemRecord, RowRecord, Storage } from '../../src/core/storage/storage.js';
import type { Op } from '../../src/core/model/op.js';

export interface StorageHarness {
  make(): Storage;
  /** Kill the process (dropping anything uncommitted) and open the same data again. */
  reopen(s: Storage): Storage;
}

const row = (n: number): RowRecord => ({ state: { fields: {}, alive: [{ dot: { origin: 'a', seq: n }, hlc: { wall: n, logical: 0, node: 'a' } }], tombs: [] }, window: [] });
const op = (origin: string, seq: number): Op => ({ dot: { origin, seq }, hlc: { wall: seq, logical: 0, node: origin }, deps: {}, table: 't', key: `k${seq}`, kind: 'write', changes: {} });
const idem = (key: string, createdMs: number): IdemRecord => ({ key, digest: 'd', result: { dot: { origin: 'a', seq: 1 }, row: null }, dot: { origin: 'a', seq: 1 }, hlc: { wall: 1, logical: 0, node: 'a' }, table: 't', rowKey: 'k', createdMs });

export function describeStorageContract(name: string, h: StorageHarness): void {
  describe(`storage contract: ${name}`, () => {
    it('a transaction that throws leaves nothing behind', () => {
      const s = h.make();
      expect(() =>
        s.transaction(() => {
          s.putRow('t', 'k', row(1));
          s.appendOp(op('a', 1));
          s.putMeta('m', 1);
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(s.getRow('t', 'k')).toBeUndefined();
      expect(s.readOps('a', 0, 10)).toEqual([]);
      expect(s.getMeta('m')).toBeUndefined();
    });

    it('reads inside a transaction see its own writes, deletes included', () => {
      const s = h.make();
      s.transaction(() => s.putRow('t', 'k', row(1)));
      s.transaction(() => {
        s.putRow('t', 'k', undefined);
        s.putRow('t', 'j', row(2));
        expect(s.getRow('t', 'k')).toBeUndefined();
        expect(s.scanRows('t', { limit: 10 }).map(([k]) => k)).toEqual(['j']);
      });
    });

    it('durable() resolves for what was committed before it, waits may overlap, and the data survives a crash', async () => {
      let s = h.make();
      await s.durable(); // nothing committed yet: at once
      s.transaction(() => s.putRow('t', 'k', row(1)));
      const first = s.durable();
      s.transaction(() => s.putRow('t', 'j', row(2)));
      const second = s.durable();
      await Promise.all([first, second]);
      await s.durable();
      s = h.reopen(s);
      expect(s.getRow('t', 'k')).toEqual(row(1));
      expect(s.getRow('t', 'j')).toEqual(row(2));
    });

    it('committed data survives a crash; the open transaction does not', () => {
      let s = h.make();
      s.transaction(() => {
        s.putRow('t', 'k', row(1));
        s.appendOp(op('a', 1));
        s.putIdem('key', idem('key', 5));
      });
      s = h.reopen(s);
      expect(s.getRow('t', 'k')).toEqual(row(1));
      expect(s.readOps('a', 0, 10)).toEqual([op('a', 1)]);
      expect(s.getIdem('key')).toEqual(idem('key', 5));
    });

    it('scans return keys in order, after a key, under a prefix, up to a limit', () => {
      const s = h.make();
      s.transaction(() => {
        for (const k of ['b2', 'a1', 'b1', 'c1', 'b3']) s.putRow('t', k, row(1));
        s.putRow('other', 'b0', row(1));
      });
      expect(s.scanRows('t', { limit: 10 }).map(([k]) => k)).toEqual(['a1', 'b1', 'b2', 'b3', 'c1']);
      expect(s.scanRows('t', { prefix: 'b', after: 'b1', limit: 1 }).map(([k]) => k)).toEqual(['b2']);
    });

    it('logs append in order, read from a position, and trim', () => {
      const s = h.make();
      s.transaction(() => {
        for (let i = 1; i <= 5; i++) s.appendOp(op('a', i));
        s.appendOp(op('b', 1));
      });
      expect(s.readOps('a', 2, 2).map((o) => o.dot.seq)).toEqual([3, 4]);
      s.transaction(() => s.trimOps('a', 3));
      expect(s.trimmedThrough('a')).toBe(3);
      expect(s.readOps('a', 0, 10).map((o) => o.dot.seq)).toEqual([4, 5]);
      expect(s.readOps('b', 0, 10)).toHaveLength(1);
      expect(() => s.transaction(() => s.appendOp(op('a', 9)))).toThrow();
    });

    it('idempotency records are found by age, oldest first', () => {
      const s = h.make();
      s.transaction(() => {
        s.putIdem('x', idem('x', 30));
        s.putIdem('y', idem('y', 10));
        s.putIdem('z', idem('z', 20));
      });
      expect(s.idemCreatedBefore(25, 10).map((r) => r.key)).toEqual(['y', 'z']);
      s.transaction(() => s.putIdem('y', undefined));
      expect(s.idemCreatedBefore(25, 10).map((r) => r.key)).toEqual(['z']);
    });

    it('the conflict feed lists entries by their latest position, and replaces by id', () => {
      const s = h.make();
      const entry = (id: string, table = 't') => ({ id, table, key: 'k', field: null, kind: 'delete-update' as const, rule: 'delete-wins', winner: { region: 'a', seq: 1, hlc: '1.0.a' }, losers: [], loserCount: 0, regions: ['a'] });
      s.transaction(() => {
        s.putConflict({ entry: entry('x'), seq: 1 });
        s.putConflict({ entry: entry('y', 'u'), seq: 2 });
        s.putConflict({ entry: entry('x'), seq: 3 });
      });
      expect(s.conflictsAfter(0, 10).map((r) => [r.entry.id, r.seq])).toEqual([['y', 2], ['x', 3]]);
      expect(s.conflictsAfter(2, 10, 't').map((r) => r.entry.id)).toEqual(['x']);
      expect(s.getConflict('x')?.seq).toBe(3);
      s.transaction(() => {
        s.removeConflict('y');
        expect(s.getConflict('y')).toBeUndefined();
        expect(s.conflictsAfter(0, 10).map((r) => r.entry.id)).toEqual(['x']);
      });
      expect(s.getConflict('y')).toBeUndefined();
      expect(s.conflictsAfter(0, 10).map((r) => r.entry.id)).toEqual(['x']);
      expect(() => s.transaction(() => { s.removeConflict('x'); throw new Error('crash'); })).toThrow('crash');
      expect(s.getConflict('x')?.seq).toBe(3);
    });

    it('auxiliary entries scan in key order within their namespace', () => {
      const s = h.make();
      s.transaction(() => {
        s.putAux('n', 'b', 2);
        s.putAux('n', 'a', 1);
        s.putAux('m', 'a', 9);
      });
      expect(s.scanAux('n', '', 10)).toEqual([['a', 1], ['b', 2]]);
      s.transaction(() => s.putAux('n', 'a', undefined));
      expect(s.scanAux('n', '', 10)).toEqual([['b', 2]]);
      expect(s.getAux('m', 'a')).toBe(9);
    });

    it('writes outside a transaction are refused', () => {
      const s = h.make();
      expect(() => s.putMeta('m', 1)).toThrow();
    });
  });
}
