import { expect, it } from 'vitest';
import { MemoryStorage, SimulatedCrash } from '../../src/storage/memory-storage.js';
import type { Storage } from '../../src/core/storage/storage.js';
import { describeStorageContract } from './contract.js';

describeStorageContract('memory', {
  make: () => new MemoryStorage({ freezeValues: true }),
  reopen: (s: Storage) => {
    (s as MemoryStorage).crash();
    return s;
  },
});

it('a crash armed for the next commit loses that whole transaction', () => {
  const s = new MemoryStorage();
  s.transaction(() => s.putMeta('kept', 1));
  s.crash(true);
  expect(() => s.transaction(() => s.putMeta('lost', 1))).toThrow(SimulatedCrash);
  expect(s.getMeta('kept')).toBe(1);
  expect(s.getMeta('lost')).toBeUndefined();
});

it('frozen values make a caller that mutates stored data throw instead of corrupting it', () => {
  const s = new MemoryStorage({ freezeValues: true });
  const value = { a: [1] };
  s.transaction(() => s.putMeta('m', value));
  expect(() => (value.a as number[]).push(2)).toThrow(TypeError);
});
